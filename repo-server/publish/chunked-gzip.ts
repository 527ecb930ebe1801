// Packages.gz built from independently compressed chunks, so that adding one package to a
// 100,000-package index recompresses one chunk instead of the whole file.
//
// Chunk boundaries are content-defined (a hash of the package name decides where a chunk
// starts), so an insertion changes only the chunk it lands in. Each chunk is a raw deflate
// stream ended by a sync flush; concatenated they form one valid deflate stream inside one
// ordinary gzip member. The CRC of the whole is combined from the chunks' CRCs.

import { constants, crc32, deflateRaw } from 'node:zlib';

// ---- CRC-32 combination: crc(A‖B) from crc(A), crc(B) and |B|, as zlib 1.2.12+ does it —
// multiply crc(A) by x^(8·|B|) modulo the CRC polynomial, using a table of x^(2^k). Each
// combine is a few dozen 32-step multiplications (the older matrix-squaring method costs ~30×
// more, which showed up at 100k-package indexes).

const POLY = 0xedb88320; // reflected CRC-32 polynomial

/** a(x)·b(x) mod p(x), bit-reflected. */
function multModP(a: number, b: number): number {
  if (a === 0) return 0;
  let m = 0x80000000;
  let p = 0;
  let bb = b >>> 0;
  for (;;) {
    if (a & m) {
      p ^= bb;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    bb = bb & 1 ? (bb >>> 1) ^ POLY : bb >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod p(x). */
const X2N: number[] = (() => {
  const t: number[] = [];
  let p = 0x40000000; // x^1
  t.push(p);
  for (let k = 1; k < 32; k++) t.push((p = multModP(p, p)));
  return t;
})();

/** x^(n·2^k) mod p(x). */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000; // x^0
  let len = n;
  let i = k;
  while (len > 0) {
    if (len % 2 === 1) p = multModP(X2N[i & 31]!, p);
    len = Math.floor(len / 2);
    i++;
  }
  return p;
}

export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  if (len2 <= 0) return crc1 >>> 0;
  return (multModP(x2nModP(len2, 3), crc1 >>> 0) ^ crc2) >>> 0;
}

// ---- chunks

export interface IndexItem {
  /** Identity of the stanza's content (the aptly package key + its pool path). */
  id: string;
  /** Name used for content-defined boundaries. */
  name: string;
  render(): string;
}

interface Chunk {
  /** The items it was built from (compared on reuse: the map key is only first id + count). */
  items: IndexItem[];
  deflated: Buffer;
  crc: number;
  length: number;
}

/** FNV-1a 32 of the name: a boundary falls before roughly one package in 32. */
function startsChunk(name: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 32 === 0;
}

const MAX_CHUNK_ITEMS = 256;

function deflateChunk(data: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    deflateRaw(data, { level, memLevel: 9, finishFlush: constants.Z_SYNC_FLUSH }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

export interface ChunkedIndex {
  text?: Buffer;
  gzip: Buffer;
  /** Uncompressed size. */
  length: number;
  chunks: number;
  compressed: number;
}

/** Keeps the compressed chunks of the last build of one index (component/architecture). */
export class ChunkedGzipIndex {
  private cache = new Map<string, Chunk>();

  constructor(private readonly level = 9) {}

  /**
   * Builds Packages.gz for `items` (already sorted). Every stanza is followed by a blank line.
   * With `keepText`, the uncompressed index is returned too (small indexes ship it).
   */
  async build(items: IndexItem[], keepText: boolean): Promise<ChunkedIndex> {
    const groups: IndexItem[][] = [];
    let current: IndexItem[] = [];
    for (const item of items) {
      if (current.length > 0 && (startsChunk(item.name) || current.length >= MAX_CHUNK_ITEMS)) {
        groups.push(current);
        current = [];
      }
      current.push(item);
    }
    if (current.length > 0) groups.push(current);

    const next = new Map<string, Chunk>();
    const chunks: Chunk[] = [];
    const texts: Buffer[] = [];
    let compressed = 0;
    const pending: Promise<void>[] = [];
    for (const group of groups) {
      // A short key, then an item-by-item check: joining every id into the key cost more than
      // the compression saved at 100k packages. Callers that pass the same item objects across
      // builds make the check a pointer comparison.
      const key = `${group[0]!.id}\n${group.length}`;
      const candidate = this.cache.get(key) ?? next.get(key);
      const cached = candidate && candidate.items.every((it, i) => it === group[i] || it.id === group[i]!.id) ? candidate : undefined;
      const needText = keepText || !cached;
      const text = needText ? Buffer.from(group.map((i) => `${i.render()}\n`).join('')) : undefined;
      if (text && keepText) texts.push(text);
      if (cached) {
        chunks.push(cached);
        next.set(key, cached);
        continue;
      }
      const slot: Chunk = { items: group, deflated: Buffer.alloc(0), crc: crc32(text!), length: text!.length };
      chunks.push(slot);
      next.set(key, slot);
      compressed++;
      pending.push(
        deflateChunk(text!, this.level).then((d) => {
          slot.deflated = d;
        }),
      );
      if (pending.length >= 4) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    this.cache = next;

    let crc = 0;
    let length = 0;
    for (const c of chunks) {
      crc = crc32Combine(crc, c.crc, c.length);
      length += c.length;
    }
    const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, this.level >= 9 ? 2 : 0, 0x03]);
    const finalBlock = Buffer.from([0x03, 0x00]); // an empty final block ends the deflate stream
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc, 0);
    trailer.writeUInt32LE(length % 2 ** 32, 4);
    return {
      ...(keepText ? { text: Buffer.concat(texts) } : {}),
      gzip: Buffer.concat([header, ...chunks.map((c) => c.deflated), finalBlock, trailer]),
      length,
      chunks: chunks.length,
      compressed,
    };
  }
}
