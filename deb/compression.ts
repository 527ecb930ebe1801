// Compressors for .deb members. gzip runs in zlib (Node's thread pool); Node 20's zlib has
// no xz and no zstd, so those stream through Debian's xz and zstd tools (both multi-threaded).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import { createGunzip, createGzip, gunzip, gunzipSync } from 'node:zlib';

export type CompressionKind = 'gzip' | 'xz' | 'zstd' | 'none';

export interface Compression {
  kind: CompressionKind;
  level: number;
}

export const DEFAULT_LEVEL: Record<CompressionKind, number> = { gzip: 6, xz: 6, zstd: 3, none: 0 };
const MAX_LEVEL: Record<CompressionKind, number> = { gzip: 9, xz: 9, zstd: 19, none: 0 };
const EXTENSION: Record<CompressionKind, string> = { gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' };

export class CompressionError extends Error {}

/** "gzip", "gzip:9", "zstd:19", "none". */
export function parseCompression(text: string): Compression {
  const [kind, level] = text.split(':') as [string, string | undefined];
  if (kind !== 'gzip' && kind !== 'xz' && kind !== 'zstd' && kind !== 'none') {
    throw new CompressionError(`unknown compression '${kind}' (gzip, xz, zstd or none)`);
  }
  if (level === undefined) return { kind, level: DEFAULT_LEVEL[kind] };
  const n = Number(level);
  const min = kind === 'none' ? 0 : 1;
  if (!Number.isInteger(n) || n < min || n > MAX_LEVEL[kind]) {
    throw new CompressionError(`compression level for ${kind} must be ${min}..${MAX_LEVEL[kind]}, got '${level}'`);
  }
  return { kind, level: n };
}

/** Member name for a tar compressed this way: "data.tar" + ".gz"/".xz"/".zst"/"". */
export function memberName(base: 'data.tar' | 'control.tar', kind: CompressionKind): string {
  return `${base}${EXTENSION[kind]}`;
}

export function kindFromMemberName(name: string): CompressionKind | undefined {
  if (name.endsWith('.tar')) return 'none';
  if (name.endsWith('.tar.gz')) return 'gzip';
  if (name.endsWith('.tar.xz')) return 'xz';
  if (name.endsWith('.tar.zst')) return 'zstd';
  return undefined;
}

/**
 * A compressor as its two ends. Writers that reuse their buffers must write to `input`
 * directly: its write callback fires only once the chunk is consumed (a Duplex wrapper
 * around a child's stdin acknowledges writes before the pipe has taken them).
 */
export interface CompressorStreams {
  input: Writable;
  output: Readable;
}

export function openCompressor(c: Compression): CompressorStreams {
  switch (c.kind) {
    case 'none': {
      const p = new PassThrough({ highWaterMark: 64 << 10 });
      return { input: p, output: p };
    }
    case 'gzip': {
      const z = createGzip({ level: c.level, chunkSize: 64 << 10, memLevel: 9 });
      return { input: z, output: z };
    }
    case 'xz':
      // -T0 uses every core; a fixed block size keeps the output independent of the thread count.
      return toolStreams('xz', ['-z', '-c', `-${c.level}`, '-T0', '--block-size=8MiB']);
    case 'zstd':
      return toolStreams('zstd', ['-c', '-q', `-${c.level}`, '-T0']);
  }
}

/** The compressor as one Duplex, for callers that write fresh buffers. */
export function createCompressor(c: Compression): Duplex {
  const { input, output } = openCompressor(c);
  return (input as unknown) === output ? (input as Duplex) : Duplex.from({ writable: input, readable: output });
}

export function createDecompressor(kind: CompressionKind): Duplex {
  switch (kind) {
    case 'none':
      return new PassThrough({ highWaterMark: 1 << 20 });
    case 'gzip':
      // Default finish flush: a truncated stream is an error, not a short archive.
      return createGunzip({ chunkSize: 1 << 18 });
    case 'xz':
      // One thread and a memory cap: threaded decoding buffers whole blocks per thread, and the
      // largest preset (-9e, 64 MiB dictionary) needs ~65 MiB; a larger dictionary is refused.
      return tool('xz', ['-d', '-c', '-q', '-T1', '--memlimit-decompress=80MiB']);
    case 'zstd':
      // A frame whose window needs more than 128 MiB (--long=28 and up) is refused.
      return tool('zstd', ['-d', '-c', '-q', '--memory=128MB']);
  }
}

function tool(command: string, args: string[]): Duplex {
  return new ToolStream(command, args);
}

const installHint = (command: string, err: NodeJS.ErrnoException): string =>
  err.code === 'ENOENT' ? ` (install it: apt-get install ${command === 'xz' ? 'xz-utils' : command})` : '';

/**
 * A decompressing tool as one Duplex that owns its process. Destroying the stream (the consumer
 * stopped: an error elsewhere, an unpack budget) kills the tool, so nothing is left running;
 * the readable side ends only after the tool exits 0, so a corrupt input never looks complete.
 */
class ToolStream extends Duplex {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private exited = false;

  constructor(command: string, args: string[]) {
    super({ readableHighWaterMark: 1 << 20 });
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (this.stderr.length < 4096) this.stderr += d;
    });
    child.stdout.on('data', (c: Buffer) => {
      if (!this.push(c)) child.stdout.pause();
    });
    // EPIPE when the tool dies early is reported by 'close' with the tool's own message.
    child.stdin.on('error', () => undefined);
    child.stdout.on('error', () => undefined);
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.destroy(new CompressionError(`${command}: ${err.message}${installHint(command, err)}`));
    });
    child.on('close', (code, signal) => {
      this.exited = true;
      if (this.destroyed) return;
      if (code === 0) this.push(null);
      else this.destroy(new CompressionError(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${this.stderr.trim()}`));
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    // A write the dead tool cannot take is not the error to report: 'close' reports the tool's.
    this.child.stdin.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.exited) this.child.kill('SIGKILL');
    this.child.stdin.destroy();
    this.child.stdout.destroy();
    cb(err);
  }
}

/**
 * A child process's stdin and stdout. The output side ends only after the tool exits 0,
 * so a corrupt input can never look complete; a failure destroys both sides.
 */
function toolStreams(command: string, args: string[]): CompressorStreams {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const output = new PassThrough({ highWaterMark: 64 << 10 });
  child.stdout.pipe(output, { end: false });
  const fail = (err: Error): void => {
    output.destroy(err);
    child.stdin.destroy(err);
  };
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(new CompressionError(`${command}: ${err.message}${installHint(command, err)}`));
  });
  child.on('close', (code, signal) => {
    if (code === 0) output.end();
    else fail(new CompressionError(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
  });
  // EPIPE when the tool dies early is reported by 'close' with the tool's own message.
  child.stdin.on('error', () => undefined);
  output.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return { input: child.stdin, output };
}

/** Compressed members up to this size are inflated on the calling thread. */
const SYNC_GUNZIP_BYTES = 64 << 10;

const tooLarge = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';

/**
 * Decompresses a whole buffer (small members: control.tar, small packages' data.tar), holding
 * at most `max` decompressed bytes: undefined when the output would be larger (the caller then
 * streams it). A corrupt or truncated input rejects.
 */
export async function decompressBounded(kind: CompressionKind, data: Buffer, max: number): Promise<Buffer | undefined> {
  if (kind === 'none') return data.length <= max ? data : undefined;
  if (kind === 'gzip') {
    // Small members (a typical control.tar.gz): a thread-pool round trip costs more than the work.
    if (data.length <= SYNC_GUNZIP_BYTES) {
      try {
        return gunzipSync(data, { maxOutputLength: Math.max(1, max) });
      } catch (err) {
        if (tooLarge(err)) return undefined;
        throw err;
      }
    }
    return new Promise((resolve, reject) =>
      gunzip(data, { maxOutputLength: Math.max(1, max) }, (err, out) => {
        if (!err) resolve(out);
        else if (tooLarge(err)) resolve(undefined);
        else reject(err);
      }),
    );
  }
  const d = createDecompressor(kind);
  const parts: Buffer[] = [];
  let size = 0;
  return new Promise<Buffer | undefined>((resolve, reject) => {
    d.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) parts.push(c);
      else {
        // Over the bound: stop the tool now rather than unpack the rest.
        parts.length = 0;
        d.destroy();
        resolve(undefined);
      }
    });
    d.once('end', () => resolve(Buffer.concat(parts)));
    d.on('error', reject);
    d.end(data);
  });
}
