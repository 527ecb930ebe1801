// The upload area of aptly's Files API: <data>/upload/<dir>/<file>. Every name is a
// validated single path segment; files land atomically (temp + fsync + rename).

import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDir, tempName } from '../storage/atomic.js';
import { forgetUpload, rememberUpload } from '../packages/inspect.js';
import { ApiError, notFound } from './errors.js';
import { safeSegment } from './names.js';

export interface Staged {
  tmp: string;
  name: string;
  /** Settles once the bytes are durable under `tmp` (or the write failed). */
  written: Promise<void>;
}

/** Parts up to this size are received into memory and written in one go, in the background. */
const SMALL = 1 << 20;
/** Background writes in flight at once (bounds memory to ~SMALL × this). */
const WRITES = 16;

export class Uploads {
  /** Upload directories known to exist (each is created once, not per file). */
  private readonly ensured = new Set<string>();
  private writing = 0;
  private readonly slots: (() => void)[] = [];

  constructor(readonly dir: string) {}

  path(dir: string, file?: string): string {
    const d = join(this.dir, safeSegment(dir, 'directory'));
    return file === undefined ? d : join(d, safeSegment(file, 'file name'));
  }

  private async slot(): Promise<void> {
    if (this.writing >= WRITES) await new Promise<void>((r) => this.slots.push(r));
    this.writing++;
  }

  private release(): void {
    this.writing--;
    this.slots.shift()?.();
  }

  /**
   * Receives one file under a temp name beside its target. Small files are taken into memory
   * and written (with fsync) in the background while the next part arrives; a .deb among them is
   * inspected from memory on the way. Nothing is visible until commit(); on a failure here the
   * temp file is removed.
   */
  async stage(dir: string, file: string, body: Readable, limit: number): Promise<Staged> {
    const target = this.path(dir, file);
    const d = this.path(dir);
    if (!this.ensured.has(d)) {
      await mkdir(d, { recursive: true });
      this.ensured.add(d);
    }
    const tmp = tempName(target);
    forgetUpload(target);
    // Manual iteration: leaving a for-await loop would destroy the part's stream.
    const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const chunks: Buffer[] = [];
    let size = 0;
    let fh: FileHandle | undefined;
    try {
      for (;;) {
        const { value, done } = await it.next();
        if (done) break;
        size += value.length;
        // Past the limit the rest is read and dropped rather than the connection cut, so the
        // client (still sending) gets to read the 413.
        if (size > limit) continue;
        if (fh) await fh.write(value);
        else {
          chunks.push(value);
          if (size > SMALL) {
            fh = await open(tmp, 'wx', 0o644);
            for (const c of chunks.splice(0)) await fh.write(c);
          }
        }
      }
      // multipart parsers mark a cut-off stream as truncated instead of failing it
      if (size > limit || (body as Readable & { truncated?: boolean }).truncated) throw new ApiError(413, `upload exceeds the limit of ${limit} bytes`);
      if (fh) {
        await fh.sync();
        await fh.close();
        fh = undefined;
        return { tmp, name: file, written: Promise.resolve() };
      }
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await this.slot();
    const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const written = (async () => {
      try {
        const out = await open(tmp, 'wx', 0o644);
        try {
          await out.writeFile(buf);
          await out.sync();
          if (file.endsWith('.deb')) await rememberUpload(target, await out.stat(), buf);
        } finally {
          await out.close();
        }
      } finally {
        this.release();
      }
    })();
    written.catch(() => undefined); // observed by commit() or discard()
    return { tmp, name: file, written };
  }

  /** Renames staged files into place once all are durable, and syncs the directory once. */
  async commit(dir: string, staged: Staged[]): Promise<string[]> {
    await Promise.all(staged.map((s) => s.written));
    for (const s of staged) await rename(s.tmp, this.path(dir, s.name));
    await fsyncDir(this.path(dir));
    return staged.map((s) => `${dir}/${s.name}`);
  }

  /** Drops staged files of a failed request (after their background writes have settled). */
  async discard(staged: Staged[]): Promise<void> {
    await Promise.all(staged.map((s) => s.written.catch(() => undefined)));
    await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => undefined)));
  }

  async listDirs(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  }

  async listFiles(dir: string): Promise<string[]> {
    const d = this.path(dir);
    const entries = await readdir(d, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw notFound(`upload directory ${dir} not found`);
      throw err;
    });
    return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
  }

  async remove(dir: string, file?: string): Promise<void> {
    const p = this.path(dir, file);
    const exists = await stat(p).then(() => true, () => false);
    if (!exists) throw notFound(`${file === undefined ? 'directory' : 'file'} not found`);
    if (file === undefined) this.ensured.delete(p);
    await rm(p, { recursive: true, force: true });
  }
}
