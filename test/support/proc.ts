// What /proc says of a process the tests started: resident memory (VmRSS now, VmHWM the peak)
// and the processes it has running (the xz/zstd decompressors the server spawns). Reads that
// find the process gone answer "nothing" instead of throwing: the caller is often racing its exit.

import { readdirSync, readFileSync } from 'node:fs';

/** A memory field of /proc/<pid>/status in KiB; undefined once the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+([0-9]+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The direct children of every thread of `pid`. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** VmRSS summed over all descendants of `pid` (not `pid` itself), at most `limit` processes. */
export function descendantsRssKb(pid: number, limit = 256): number {
  let kb = 0;
  const todo = childPids(pid);
  for (let n = 0; todo.length > 0 && n < limit; n++) {
    const p = todo.pop()!;
    kb += statusKb(p, 'VmRSS') ?? 0;
    todo.push(...childPids(p));
  }
  return kb;
}
