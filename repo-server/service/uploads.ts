// The upload area of aptly's Files API: <data>/upload/<dir>/<file>. Every name is a
// validated single path segment; files land atomically (temp + fsync + rename).

import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { forEachLimit, fsyncDir, tempName } from '../storage/atomic.js';
import { ApiError, notFound } from './errors.js';
import { safeSegment } from './names.js';

export class Uploads {
  constructor(readonly dir: string) {}

  path(dir: string, file?: string): string {
    const d = join(this.dir, safeSegment(dir, 'directory'));
    return file === undefined ? d : join(d, safeSegment(file, 'file name'));
  }

  /**
   * Streams one file into a temp name beside its target. Nothing is visible until commit();
   * on failure the temp file is removed here.
   */
  async stage(dir: string, file: string, body: Readable, limit: number): Promise<{ tmp: string; name: string }> {
    const target = this.path(dir, file);
    await mkdir(this.path(dir), { recursive: true });
    const tmp = tempName(target);
    try {
      // Past the limit the rest is read and dropped rather than the connection cut, so the
      // client (still sending) gets to read the 413.
      let size = 0;
      const guard = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          done(null, size > limit ? undefined : chunk);
        },
      });
      await pipeline(body, guard, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      // multipart parsers mark a cut-off stream as truncated instead of failing it
      if (size > limit || (body as Readable & { truncated?: boolean }).truncated) throw new ApiError(413, `upload exceeds the limit of ${limit} bytes`);
      return { tmp, name: file };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Makes staged files durable (fsyncs run in parallel), renames them into place and syncs
   * the directory once; returns "dir/file" names.
   */
  async commit(dir: string, staged: { tmp: string; name: string }[]): Promise<string[]> {
    await forEachLimit(staged, 16, async (s) => {
      const fh = await open(s.tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    for (const s of staged) await rename(s.tmp, this.path(dir, s.name));
    await fsyncDir(this.path(dir));
    return staged.map((s) => `${dir}/${s.name}`);
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
    await rm(p, { recursive: true, force: true });
  }
}
