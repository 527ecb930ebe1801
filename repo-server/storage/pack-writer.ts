// One request's pack file (storage/blobs.ts): small blobs appended in order, written in the
// background in pieces, made durable whole by finish() before any metadata names them; a failed
// request's pack is removed by abort(). Also the synchronous whole read of a blob's range.

import { readSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { fsyncDir } from '../../lib/fs-atomic.js';
import { writeFully } from '../../lib/write-fully.js';

/** Pending appends are written in pieces of about this size. */
const FLUSH_BYTES = 4 << 20;

export function readFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error('blob file is shorter than its index says');
    done += n;
  }
}

/**
 * Appends blobs to one new pack file. Appends are buffered and written in order in the
 * background; finish() makes the whole pack durable (data, then the directory entry).
 */
export class PackWriter {
  private size = 0;
  private appended = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private fh: FileHandle | undefined;
  private opened = false;

  constructor(
    readonly id: string,
    private readonly path: string,
    private readonly dir: string,
  ) {}

  get empty(): boolean {
    return this.appended === 0;
  }

  /** Queues `buf`; returns its offset in the pack. */
  append(buf: Buffer): number {
    const offset = this.size;
    this.size += buf.length;
    this.appended++;
    this.pending.push(buf);
    this.pendingBytes += buf.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    return offset;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const position = this.size - this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.chain = this.chain.then(async () => {
      if (!this.fh) {
        this.opened = true;
        this.fh = await open(this.path, 'wx', 0o644);
      }
      await writeFully(this.fh, data, position);
    });
    this.chain.catch(() => undefined); // surfaced by finish()
  }

  async finish(): Promise<void> {
    if (this.empty) return;
    this.flush();
    await this.chain;
    this.opened = true;
    const fh = this.fh ?? (await open(this.path, 'wx', 0o644)); // only empty files: nothing was written
    this.fh = undefined;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsyncDir(this.dir);
  }

  /** Drops a pack whose request failed (it was never committed, so nothing names it). */
  async abort(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    if (this.opened) await unlink(this.path).catch(() => undefined);
  }
}
