// Walking and re-sealing ustar headers for the tar mutators: find each header in an unpacked
// member, and recompute a header's checksum after a mutation (or deliberately not, so both
// the checksum check and what lies behind it are reached).

export const BLOCK = 512;

export interface HeaderRef {
  /** Offset of the 512-byte header block. */
  at: number;
  name: string;
  size: number;
  type: string;
}

function octal(field: Buffer): number {
  const s = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** Headers of a tar image, stopping at the end marker or the first block that is not a header. */
export function listHeaders(tar: Buffer): HeaderRef[] {
  const out: HeaderRef[] = [];
  let pos = 0;
  while (pos + BLOCK <= tar.length && out.length < 100_000) {
    const h = tar.subarray(pos, pos + BLOCK);
    if (h.every((b) => b === 0)) break;
    const size = octal(h.subarray(124, 136));
    if (!Number.isSafeInteger(size) || size < 0) break;
    out.push({ at: pos, name: h.subarray(0, 100).toString('latin1').replace(/\0.*$/s, ''), size, type: String.fromCharCode(h[156] ?? 0x30) });
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

/** Rewrites the checksum field of the header at `at` so the header is well-formed again. */
export function reseal(tar: Buffer, at: number): void {
  const h = tar.subarray(at, at + BLOCK);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
}

/** Writes `value` into a header field, NUL-padded to its width (truncated if longer). */
export function setField(tar: Buffer, at: number, offset: number, width: number, value: Buffer | string): void {
  const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  tar.fill(0, at + offset, at + offset + width);
  v.copy(tar, at + offset, 0, Math.min(width, v.length));
}

export function octalField(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0');
}

/** A regular-file entry (ustar, root-owned, mode 0644), padded to whole blocks. */
export function fileEntry(name: string, body: Buffer, mode = 0o644): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'latin1');
  h.write(octalField(mode, 8), 100, 'latin1');
  h.write(octalField(0, 8), 108, 'latin1');
  h.write(octalField(0, 8), 116, 'latin1');
  h.write(octalField(body.length, 12), 124, 'latin1');
  h.write(octalField(1700000000, 12), 136, 'latin1');
  h[156] = 0x30;
  h.write('ustar\0' + '00', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  reseal(h, 0);
  const pad = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return Buffer.concat([h, body, pad]);
}
