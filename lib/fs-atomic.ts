// Durable file replacement, the one implementation for the builder, the repo server and the CLI:
// a temp file beside the target (same directory, so rename is atomic), fsync, rename, fsync of
// the directory. A crash leaves the old or the new content, never a torn file.

import { unlinkSync } from 'node:fs';
import { link, mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Temp files being written, so that a signal handler can remove them (see removePartialFiles). */
const inFlight = new Set<string>();

/** Synchronously removes every temp file still being written (for SIGINT/SIGTERM handlers). */
export function removePartialFiles(): void {
  for (const p of inFlight) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
  inFlight.clear();
}

/** A hidden name beside `path`; the repo server's blob store sweeps leftover `.tmp-` names. */
export function tempName(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export interface AtomicWriteOptions {
  /** The file's exact mode, not narrowed by the umask; set at creation, so a secret is never readable by others. */
  mode?: number;
  /** Word in the temp file's name (default "tmp"). */
  tag?: string;
}

/**
 * Replaces `path` with what `write` puts into a fresh temp file (streams, positioned writes…),
 * then makes it durable. On failure the temp file is removed and `path` is untouched.
 */
export async function writeAtomicWith<T>(path: string, write: (fh: FileHandle) => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  const mode = opts.mode ?? 0o644;
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path, opts.tag);
  // Readable too: a writer may need to move what it already wrote (builder/deb-file.ts).
  const fh = await open(tmp, 'wx+', mode);
  inFlight.add(tmp);
  let closed = false;
  try {
    await fh.chmod(mode);
    const result = await write(fh);
    await fh.sync();
    await fh.close();
    closed = true;
    await rename(tmp, path);
    inFlight.delete(tmp);
    await fsyncDir(dirname(path));
    return result;
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    if (inFlight.delete(tmp)) await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Replaces `path` with `data` durably (see writeAtomicWith). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await writeAtomicWith(path, (fh) => fh.writeFile(data), { mode });
}

/** Makes a rename or link inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Hard-links `from` to `to` unless `to` exists (content-addressed: same name, same bytes). */
export async function linkIfMissing(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await link(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
