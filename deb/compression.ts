// Compressors for .deb members. gzip runs in zlib (Node's thread pool); Node 20's zlib has
// no xz and no zstd, so those stream through Debian's xz and zstd tools (both multi-threaded).

import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { constants, createGunzip, createGzip } from 'node:zlib';

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

export function createCompressor(c: Compression): Duplex {
  switch (c.kind) {
    case 'none':
      return new PassThrough({ highWaterMark: 1 << 20 });
    case 'gzip':
      // Large chunks keep the per-call overhead of the thread pool small.
      return createGzip({ level: c.level, chunkSize: 1 << 18, memLevel: 9 });
    case 'xz':
      // -T0 uses every core; xz's block splitting makes the output independent of the thread count.
      return tool('xz', ['-z', '-c', `-${c.level}`, '-T0', '--block-size=8MiB']);
    case 'zstd':
      return tool('zstd', ['-c', '-q', `-${c.level}`, '-T0', ...(c.level > 19 ? ['--ultra'] : [])]);
  }
}

export function createDecompressor(kind: CompressionKind): Duplex {
  switch (kind) {
    case 'none':
      return new PassThrough({ highWaterMark: 1 << 20 });
    case 'gzip':
      return createGunzip({ chunkSize: 1 << 18, finishFlush: constants.Z_SYNC_FLUSH });
    case 'xz':
      return tool('xz', ['-d', '-c', '-q', '-T0']);
    case 'zstd':
      return tool('zstd', ['-d', '-c', '-q']);
  }
}

/**
 * A child process as a Duplex: stdin is the writable side, stdout the readable side. The
 * readable side ends only after the tool exits 0, so a corrupt input can never look complete.
 */
function tool(command: string, args: string[]): Duplex {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout.pipe(output, { end: false });
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  child.on('error', (err: NodeJS.ErrnoException) => {
    const hint = err.code === 'ENOENT' ? ` (install it: apt-get install ${command === 'xz' ? 'xz-utils' : command})` : '';
    duplex.destroy(new CompressionError(`${command}: ${err.message}${hint}`));
  });
  child.on('close', (code, signal) => {
    if (code === 0) output.end();
    else duplex.destroy(new CompressionError(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
  });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return duplex;
}
