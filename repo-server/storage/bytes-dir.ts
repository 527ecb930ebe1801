// The directory backend of the byte store (storage/bytes.ts): each key is a file under one root,
// which may be a directory every server of a group mounts. A put writes a temp file beside the
// target while hashing, checks the SHA-256, fsyncs, then renames (lib/fs-atomic.ts): a reader
// on any server sees no file or the whole, verified one.

import { createHash } from 'node:crypto';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { writeAtomicWith } from '../../lib/fs-atomic.js';
import { writeFully } from '../../lib/write-fully.js';
import { checkKey, DigestMismatchError, type ByteRange, type ByteStore, type ObjectInfo, type PutBody } from './bytes.js';

export class DirectoryBytes implements ByteStore {
  readonly kind = 'directory';

  constructor(readonly location: string) {}

  private path(key: string): string {
    return join(this.location, ...checkKey(key).split('/'));
  }

  async put(key: string, body: PutBody): Promise<void> {
    await writeAtomicWith(this.path(key), async (fh) => {
      const hash = createHash('sha256');
      let size = 0;
      const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(body.data) ? [body.data] : (body.data as AsyncIterable<Buffer>);
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        await writeFully(fh, chunk);
      }
      // Checked before the rename: a mismatch throws and writeAtomicWith removes the temp file.
      if (size !== body.size || hash.digest('hex') !== body.sha256) throw new DigestMismatchError(key);
    });
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const fh = await open(this.path(key), 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return fh?.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const st = await stat(this.path(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return st?.isFile() ? { size: st.size, mtime: st.mtime } : undefined;
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    // Walk from the deepest directory the prefix names whole, then filter by the prefix.
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut);
    const start = base === '' ? this.location : this.path(base);
    const walk = async function* (dir: string, rel: string): AsyncIterable<string> {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.')) continue; // temp files of puts in flight
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) yield* walk(join(dir, e.name), key);
        else if (e.isFile() && key.startsWith(prefix)) yield key;
      }
    };
    yield* walk(start, base);
  }
}
