// The nginx master and its workers as Linux /proc shows them: a reload is complete only when
// every worker of the old generation has exited, and nginx itself does not report that.

import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie: exited, not yet reaped) … */
  state: string;
  ppid: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone. */
export async function procStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  // The command name is in parentheses and may itself hold spaces or ')': split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

/**
 * The pid in nginx's pid file when that process is alive and is an nginx master, else undefined.
 * A stale pid file may name a recycled pid: SIGHUP to an unrelated process would end it.
 */
export async function livePid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => undefined);
  const pid = text === undefined ? NaN : Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const st = await procStat(pid);
  if (!st || st.state === 'Z') return undefined;
  // nginx rewrites its argv to "nginx: master process <command line>".
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.startsWith('nginx: master process') ? pid : undefined;
}

/** Whether `pid` is a live (not zombie) child of `parent`; a reused pid is not. */
export async function isLiveChild(pid: number, parent: number): Promise<boolean> {
  const st = await procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.ppid === parent;
}

/** Live children of `pid` (the nginx workers of a master; cache processes too, when configured). */
export async function childrenOf(pid: number): Promise<number[]> {
  const listed = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => undefined);
  let candidates: number[];
  if (listed !== undefined) {
    candidates = listed.trim().split(/\s+/).filter(Boolean).map(Number);
  } else {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process for its parent.
    candidates = (await readdir('/proc')).filter((n) => /^[0-9]+$/.test(n)).map(Number);
  }
  const live = await Promise.all(candidates.map(async (c) => ((await isLiveChild(c, pid)) ? c : undefined)));
  return live.filter((c): c is number => c !== undefined);
}
