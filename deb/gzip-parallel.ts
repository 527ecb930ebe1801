// Parallel gzip, the way pigz does it: the input is cut into fixed blocks, each compressed
// on its own thread (zlib's async API runs in libuv's pool) with the previous 32 KiB as its
// dictionary, ended with a sync flush so the raw deflate streams concatenate into one valid
// stream. The result is a single ordinary gzip member (any gunzip and dpkg read it), and since
// block boundaries depend only on the input, the bytes are the same on every run.

import { constants, crc32, deflateRaw } from 'node:zlib';

const WINDOW = 32 << 10;

export interface ParallelGzipOptions {
  level: number;
  /** Uncompressed bytes per block (pigz uses 128 KiB; larger blocks cost fewer thread hand-offs). */
  blockSize?: number;
  /** Blocks compressed at once. */
  parallel?: number;
}

function deflateBlock(block: Buffer, level: number, dictionary: Buffer | undefined, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(
      block,
      {
        level,
        memLevel: 9,
        // One output chunk per block: each extra chunk is a round trip to the main thread.
        chunkSize: block.length + (block.length >> 3) + 1024,
        ...(dictionary ? { dictionary } : {}),
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

/** gzip header: no name, no timestamp (reproducible), XFL by level, OS = Unix. */
function gzipHeader(level: number): Buffer {
  const xfl = level >= 9 ? 2 : level <= 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, xfl, 0x03]);
}

export class ParallelGzip {
  private readonly blockSize: number;
  private readonly parallel: number;
  private block: Buffer;
  private filled = 0;
  private crc = 0;
  private length = 0;
  private previousTail: Buffer | undefined;
  private readonly inFlight: { out: Promise<Buffer>; input: Buffer }[] = [];
  /** Block buffers whose compression finished, reused to keep memory flat. */
  private readonly spare: Buffer[] = [];
  private started = false;

  constructor(
    private readonly options: ParallelGzipOptions,
    /** Receives compressed bytes in order; the next write waits for it. */
    private readonly emit: (chunk: Buffer) => Promise<void>,
  ) {
    this.blockSize = options.blockSize ?? 512 << 10;
    this.parallel = options.parallel ?? 3;
    this.block = Buffer.allocUnsafe(this.blockSize);
  }

  // Writes are queued: a write that waits for a block to finish must not let a later one
  // copy its bytes in first.
  private queue: Promise<void> = Promise.resolve();

  /** The chunk is copied; the caller may reuse it once this resolves. */
  write(chunk: Buffer): Promise<void> {
    const next = this.queue.then(() => this.append(chunk));
    this.queue = next.catch(() => undefined);
    return next;
  }

  end(): Promise<void> {
    const next = this.queue.then(() => this.finish());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async append(chunk: Buffer): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(gzipHeader(this.options.level));
    }
    this.crc = crc32(chunk, this.crc);
    this.length += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.blockSize - this.filled);
      chunk.copy(this.block, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled === this.blockSize) await this.dispatch(false);
    }
  }

  private async finish(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(gzipHeader(this.options.level));
    }
    await this.dispatch(true);
    while (this.inFlight.length > 0) await this.drainOne();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length % 2 ** 32, 4);
    await this.emit(trailer);
  }

  private async dispatch(last: boolean): Promise<void> {
    const input = this.block.subarray(0, this.filled);
    const dictionary = this.previousTail;
    // The next block's dictionary is this block's last 32 KiB (copied: the block is handed off).
    this.previousTail = Buffer.from(input.subarray(Math.max(0, input.length - WINDOW)));
    const out = deflateBlock(input, this.options.level, dictionary, last);
    out.catch(() => undefined);
    this.inFlight.push({ out, input: this.block });
    this.block = this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
    this.filled = 0;
    while (this.inFlight.length >= this.parallel) await this.drainOne();
  }

  /** Emits the oldest block's output (keeping order) and recycles its input buffer. */
  private async drainOne(): Promise<void> {
    const job = this.inFlight.shift()!;
    const out = await job.out;
    this.spare.push(job.input);
    await this.emit(out);
  }
}
