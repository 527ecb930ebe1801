// Decompression bombs: small compressed tar members that unpack to GiBs. They are made by
// streaming zeros (or one repeated header) through the real compressor, never writing the
// unpacked bytes anywhere, and cached in ~/.cache/debpkg/fuzz so a machine builds them once
// (about a minute in all); a rename publishes each one whole.

import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Kind } from './codec.js';
import { BLOCK, fileEntry, octalField, reseal } from './tar.js';

export interface BombSpec {
  id: string;
  /** Which member the bomb replaces. */
  member: 'control' | 'data';
  kind: Exclude<Kind, 'none'>;
  /** What the tar holds: one entry of `bytes` zeros, or `entries` empty files. */
  shape: { zeros: number; name: string } | { entries: number };
}

const GiB = 1 << 30;
export const BOMBS: readonly BombSpec[] = [
  { id: 'control-1g-gz', member: 'control', kind: 'gzip', shape: { zeros: GiB, name: './control' } },
  { id: 'control-1g-xz', member: 'control', kind: 'xz', shape: { zeros: GiB, name: './control' } },
  { id: 'control-4g-zst', member: 'control', kind: 'zstd', shape: { zeros: 4 * GiB, name: './postinst' } },
  { id: 'data-2g-gz', member: 'data', kind: 'gzip', shape: { zeros: 2 * GiB, name: './usr/share/fz-bomb/zeros' } },
  { id: 'data-2g-xz', member: 'data', kind: 'xz', shape: { zeros: 2 * GiB, name: './usr/share/fz-bomb/zeros' } },
  { id: 'data-8g-zst', member: 'data', kind: 'zstd', shape: { zeros: 8 * GiB, name: './usr/share/fz-bomb/zeros' } },
  { id: 'data-1m-entries-zst', member: 'data', kind: 'zstd', shape: { entries: 1_000_000 } },
];

export function bombCacheDir(): string {
  return process.env.DEBPKG_FUZZ_CACHE ?? join(homedir(), '.cache', 'debpkg', 'fuzz');
}

/** The unpacked tar as a stream of reused chunks: nothing GiB-sized is ever allocated. */
function* tarStream(shape: BombSpec['shape']): Generator<Buffer> {
  if ('zeros' in shape) {
    const header = fileEntry(shape.name, Buffer.alloc(0)).subarray(0, BLOCK);
    header.write(octalField(shape.zeros, 12), 124, 'latin1');
    reseal(header, 0);
    yield header;
    const chunk = Buffer.alloc(1 << 20);
    for (let left = shape.zeros; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  } else {
    const one = fileEntry('./usr/share/fz-bomb/x', Buffer.alloc(0));
    const batch = Buffer.concat(new Array<Buffer>(1024).fill(one));
    for (let i = 0; i < shape.entries; i += 1024) yield batch;
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function compressTo(spec: BombSpec, out: string): Promise<void> {
  const source = Readable.from(tarStream(spec.shape));
  const sink = createWriteStream(out);
  if (spec.kind === 'gzip') {
    await pipeline(source, createGzip({ level: 9 }), sink);
    return;
  }
  const argv = spec.kind === 'xz' ? ['xz', '-c', '-T2', '-1'] : ['zstd', '-c', '-q', '-T2', '-19'];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}`))));
  });
  await Promise.all([pipeline(source, child.stdin as Writable), pipeline(child.stdout!, sink), done]);
}

/** The compressed bomb member, built on first use and cached afterwards. */
export async function bombMember(spec: BombSpec): Promise<Buffer> {
  const dir = bombCacheDir();
  const final = join(dir, `${spec.id}.v1`);
  const have = await stat(final).catch(() => null);
  if (!have) {
    await mkdir(dir, { recursive: true });
    const tmp = `${final}.${process.pid}.partial`;
    try {
      await compressTo(spec, tmp);
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  return readFile(final);
}

/** Every bomb, loaded (and built where missing). */
export async function loadBombs(log: (s: string) => void = () => {}): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const spec of BOMBS) {
    const t = Date.now();
    out.set(spec.id, await bombMember(spec));
    const ms = Date.now() - t;
    if (ms > 1000) log(`built bomb ${spec.id} (${out.get(spec.id)!.length} bytes) in ${(ms / 1000).toFixed(1)} s`);
  }
  return out;
}
