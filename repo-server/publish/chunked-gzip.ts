// Packages.gz built from independently compressed chunks, so that adding one package to a
// 100,000-package index recompresses one chunk instead of the whole file.
//
// Chunk boundaries are content-defined (a hash of the package name decides where a chunk
// starts), so an insertion changes only the chunk it lands in. Each chunk is a raw deflate
// stream ended by a sync flush; concatenated they form one valid deflate stream inside one
// ordinary gzip member. The CRC of the whole is combined from the chunks' CRCs, and the
// file's SHA-256/512 resume from the state saved at the first chunk that changed.

import { createHash, type Hash } from 'node:crypto';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { commonPrefix } from './append-only.js';

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
  /** Whether a chunk starts at this item (content-defined, from the package name). */
  starts: boolean;
  render(): string;
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

/** An index item; callers keep it per package so a rebuild compares items by identity. */
export function indexItem(id: string, name: string, render: () => string): IndexItem {
  return { id, starts: startsChunk(name), render };
}

/** The lookup key of a group of items: first id + count (then compared item by item). */
const chunkKey = (items: IndexItem[]): string => `${items[0]!.id}\n${items.length}`;

interface Chunk {
  /** The items it was built from (compared on reuse: the lookup key is only first id + count). */
  items: IndexItem[];
  key: string;
  /** SHA-256 of the items' ids: what the index digest is made of. */
  idsDigest: string;
  deflated: Buffer;
  crc: number;
  length: number;
}

/** One group of items and the chunk of the last build it matches, if any. */
interface PlannedChunk {
  items: IndexItem[];
  reuse: Chunk | undefined;
  idsDigest: string;
}

/** What an index will hold: cheap to compute, so an unchanged index is known before any compression. */
export interface IndexPlan {
  parts: PlannedChunk[];
  /** Changes whenever the index's content would (its items, in order, and `salt`). */
  digest: string;
}

const MAX_CHUNK_ITEMS = 256;

function deflateChunk(data: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    deflateRaw(data, { level, memLevel: 9, finishFlush: constants.Z_SYNC_FLUSH }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

/** Running SHA-256 and SHA-512 of the file (and of its uncompressed text) up to a chunk boundary. */
interface HashState {
  sha256: Hash;
  sha512: Hash;
  textSha256: Hash;
  textSha512: Hash;
  /** CRC-32 and byte count of the uncompressed text so far. */
  crc: number;
  length: number;
}

const copyState = (s: HashState): HashState => ({
  sha256: s.sha256.copy(),
  sha512: s.sha512.copy(),
  textSha256: s.textSha256.copy(),
  textSha512: s.textSha512.copy(),
  crc: s.crc,
  length: s.length,
});

/** Where a written build lives (the caller's business: a path, a splice); its size is checked. */
export interface WrittenIndex {
  size: number;
}

export interface ChunkedIndex<W extends WrittenIndex = WrittenIndex> {
  text?: Buffer;
  /** The gzip file, in order (header, chunks, end); written as is, never joined. */
  pieces: Buffer[];
  size: number;
  sha256: string;
  sha512: string;
  /** Where the previous build was written (see `written`), if it was. */
  base?: W;
  /** Leading bytes identical to `base`: the file can be `base` with a new tail. */
  unchangedPrefix: number;
  /** Uncompressed size and digests: the Release lists the plain Packages even when it is not shipped. */
  length: number;
  textSha256: string;
  textSha512: string;
  chunks: number;
  compressed: number;
}

/**
 * Keeps the compressed chunks of the last build of one index (component/architecture), with
 * the running hashes at each chunk boundary: when packages are appended, only the last
 * chunks are compressed and hashed again, and the file is the previous one with a new tail.
 */
export class ChunkedGzipIndex<W extends WrittenIndex = { path: string; size: number }> {
  private byKey = new Map<string, Chunk>();
  private chunks: Chunk[] = [];
  /** states[i]: after the header and chunks[0..i). */
  private states: HashState[] = [];
  /** The last plan's input and groups: the next plan keeps the groups of an unchanged prefix. */
  private lastPlan: { items: IndexItem[]; parts: PlannedChunk[]; salt: string; states: Hash[] } | undefined;
  /** Set by the caller once the last build is on disk (and so may be the next build's base). */
  written: W | undefined;
  private readonly header: Buffer;

  constructor(private readonly level = 9) {
    this.header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, level >= 9 ? 2 : 0, 0x03]);
  }

  /**
   * Groups `items` (in index order) into chunks and matches them with the last build's. Groups
   * of the last plan that lie wholly in the part of `items` that did not change are kept as
   * they are (a boundary depends only on the items before it and the one it falls on).
   */
  plan(items: IndexItem[], salt: string): IndexPlan {
    const parts: PlannedChunk[] = [];
    let start = 0;
    const last = this.lastPlan;
    if (last) {
      const same = commonPrefix(last.items, items);
      for (const part of last.parts) {
        if (start + part.items.length >= same) break;
        parts.push(part);
        start += part.items.length;
      }
    }
    // The digest resumes from the state saved after the kept groups (a 100k-package index has
    // ~3,000 groups: hashing them all again cost more than the rest of an append).
    const kept = parts.length;
    const states = last && last.salt === salt ? last.states.slice(0, kept + 1) : [];
    if (states.length !== kept + 1) {
      const d = createHash('sha256').update(salt);
      states.length = 0;
      states.push(d.copy());
      for (const part of parts) states.push(d.update(part.idsDigest).copy());
    }
    const digest = states[kept]!.copy();
    const close = (end: number): void => {
      const group = items.slice(start, end);
      start = end;
      // A short key, then an item-by-item check: callers that pass the same item objects
      // across builds make the check a pointer comparison.
      const candidate = this.byKey.get(chunkKey(group));
      const reuse = candidate && candidate.items.every((it, i) => it === group[i] || it.id === group[i]!.id) ? candidate : undefined;
      const idsDigest = reuse?.idsDigest ?? createHash('sha256').update(group.map((i) => i.id).join('\n')).digest('hex');
      states.push(digest.update(idsDigest).copy());
      parts.push({ items: group, reuse, idsDigest });
    };
    for (let i = start + 1; i < items.length; i++) {
      if (items[i]!.starts || i - start >= MAX_CHUNK_ITEMS) close(i);
    }
    if (items.length > start) close(items.length);
    this.lastPlan = { items, parts, salt, states };
    return { parts, digest: digest.digest('hex') };
  }

  /**
   * Builds Packages.gz from a plan of this index. Every stanza is followed by a blank line.
   * With `keepText`, the uncompressed index is returned too (small indexes ship it).
   */
  async build(plan: IndexPlan, keepText: boolean): Promise<ChunkedIndex<W>> {
    const base = this.written;
    this.written = undefined;
    const chunks: Chunk[] = [];
    const texts: Buffer[] = [];
    /** Text rendered for this build, by chunk (the text digests need it for every chunk they pass). */
    const rendered = new Map<Chunk, Buffer>();
    let compressed = 0;
    const pending: Promise<void>[] = [];
    for (const part of plan.parts) {
      const needText = keepText || !part.reuse;
      const text = needText ? Buffer.from(part.items.map((i) => `${i.render()}\n`).join('')) : undefined;
      if (text && keepText) texts.push(text);
      if (part.reuse) {
        chunks.push(part.reuse);
        if (text) rendered.set(part.reuse, text);
        continue;
      }
      const chunk: Chunk = { items: part.items, key: chunkKey(part.items), idsDigest: part.idsDigest, deflated: Buffer.alloc(0), crc: crc32(text!), length: text!.length };
      chunks.push(chunk);
      rendered.set(chunk, text!);
      compressed++;
      pending.push(
        deflateChunk(text!, this.level).then((d) => {
          chunk.deflated = d;
          // A later plan that keeps this group (see plan) finds the chunk through it.
          part.reuse = chunk;
        }),
      );
      if (pending.length >= 4) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);

    // Hashes resume at the first chunk that differs from the last build.
    let same = 0;
    while (same < chunks.length && same < this.chunks.length && chunks[same] === this.chunks[same]) same++;
    const states = this.states.length > 0 ? this.states.slice(0, same + 1) : [this.headerState()];
    for (let i = same; i < chunks.length; i++) {
      const c = chunks[i]!;
      const next = copyState(states[i]!);
      next.sha256.update(c.deflated);
      next.sha512.update(c.deflated);
      const text = rendered.get(c) ?? Buffer.from(c.items.map((it) => `${it.render()}\n`).join(''));
      next.textSha256.update(text);
      next.textSha512.update(text);
      next.crc = crc32Combine(next.crc, c.crc, c.length);
      next.length += c.length;
      states.push(next);
    }
    const end = copyState(states[chunks.length]!);
    const finalBlock = Buffer.from([0x03, 0x00]); // an empty final block ends the deflate stream
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(end.crc, 0);
    trailer.writeUInt32LE(end.length % 2 ** 32, 4);
    for (const h of [end.sha256, end.sha512]) h.update(finalBlock).update(trailer);

    let unchangedPrefix = this.header.length;
    for (let i = 0; i < same; i++) unchangedPrefix += chunks[i]!.deflated.length;
    const pieces = [this.header, ...chunks.map((c) => c.deflated), finalBlock, trailer];
    // The lookup keeps the unchanged chunks' entries; only those after the first change move.
    for (let i = same; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (this.byKey.get(c.key) === c) this.byKey.delete(c.key);
    }
    for (let i = same; i < chunks.length; i++) this.byKey.set(chunks[i]!.key, chunks[i]!);
    this.chunks = chunks;
    this.states = states;
    return {
      ...(keepText ? { text: Buffer.concat(texts) } : {}),
      pieces,
      size: pieces.reduce((n, b) => n + b.length, 0),
      sha256: end.sha256.digest('hex'),
      sha512: end.sha512.digest('hex'),
      ...(base ? { base } : {}),
      unchangedPrefix: base ? unchangedPrefix : 0,
      length: end.length,
      textSha256: end.textSha256.digest('hex'),
      textSha512: end.textSha512.digest('hex'),
      chunks: chunks.length,
      compressed,
    };
  }

  private headerState(): HashState {
    return {
      sha256: createHash('sha256').update(this.header),
      sha512: createHash('sha512').update(this.header),
      textSha256: createHash('sha256'),
      textSha512: createHash('sha512'),
      crc: 0,
      length: 0,
    };
  }
}
