// Member (de)compression for the mutators, by the real tools: gzip in zlib, xz and zstd
// through Debian's xz and zstd (Node 20's zlib has neither), so a recompressed member is what
// dpkg-deb would have written, and a mutated tar is re-wrapped by the same tool it came from.

import { spawnSync } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';

export type Kind = 'gzip' | 'xz' | 'zstd' | 'none';
export const KINDS: readonly Kind[] = ['gzip', 'xz', 'zstd', 'none'];

/** Member-name suffix → compression; undefined for names no .deb uses. */
export function kindOfMember(name: string): Kind | undefined {
  if (/\.tar\.gz$/.test(name)) return 'gzip';
  if (/\.tar\.xz$/.test(name)) return 'xz';
  if (/\.tar\.zst$/.test(name)) return 'zstd';
  if (/\.tar$/.test(name)) return 'none';
  return undefined;
}

export const SUFFIX: Record<Kind, string> = { gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' };

/** Cap on what a mutator will inflate: seeds are small; anything bigger is not ours to mutate. */
const MAX_INFLATE = 64 << 20;

function tool(argv: string[], input: Buffer): Buffer {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, maxBuffer: MAX_INFLATE, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
  return r.stdout;
}

export function compress(kind: Kind, data: Buffer): Buffer {
  switch (kind) {
    case 'gzip':
      return gzipSync(data, { level: 6 });
    case 'xz':
      return tool(['xz', '-c', '-6', '-T1'], data);
    case 'zstd':
      return tool(['zstd', '-c', '-q', '-3'], data);
    case 'none':
      return data;
  }
}

export function decompress(kind: Kind, data: Buffer): Buffer {
  switch (kind) {
    case 'gzip':
      return gunzipSync(data, { maxOutputLength: MAX_INFLATE });
    case 'xz':
      return tool(['xz', '-dc'], data);
    case 'zstd':
      return tool(['zstd', '-dc', '-q'], data);
    case 'none':
      return data;
  }
}
