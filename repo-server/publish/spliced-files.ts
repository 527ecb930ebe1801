// Large index files stored as splices: a small descriptor (`<name>.parts`) listing byte ranges
// of immutable segment files. When packages are appended, the new Packages.gz is the previous
// one's ranges up to the first changed byte plus one new segment with the tail — a publish
// writes kilobytes where a whole 17 MB file (100k packages) cost a copy and an fsync each time.
// Segments are shared by the generations that name them and deleted once none does.
//
// The server serves a splice under the file's own name (and by-hash name); nothing outside the
// server reads the generation tree directly.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export const SPLICE_SUFFIX = '.parts';

/** [segment path relative to the generations directory, offset, length]. */
export type SplicePart = [segment: string, offset: number, length: number];

export interface Splice {
  size: number;
  sha256: string;
  parts: SplicePart[];
}

/** A segment path stays inside the generations directory. */
const segmentOk = (p: string): boolean => p !== '' && !p.startsWith('/') && !p.includes('\0') && !p.split('/').some((s) => s === '..' || s === '.' || s === '');

function valid(x: unknown): x is Splice {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Splice;
  if (!Number.isSafeInteger(s.size) || typeof s.sha256 !== 'string' || !Array.isArray(s.parts)) return false;
  let total = 0;
  for (const p of s.parts) {
    if (!Array.isArray(p) || p.length !== 3 || typeof p[0] !== 'string' || !segmentOk(p[0])) return false;
    if (!Number.isSafeInteger(p[1]) || !Number.isSafeInteger(p[2]) || p[1] < 0 || p[2] <= 0) return false;
    total += p[2];
  }
  return total === s.size;
}

export function parseSplice(text: string, path: string): Splice {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    x = undefined;
  }
  if (!valid(x)) throw new Error(`${path}: not a valid splice descriptor`);
  return x;
}

export function renderSplice(s: Splice): string {
  return JSON.stringify(s);
}

export const readSpliceSync = (path: string): Splice => parseSplice(readFileSync(path, 'utf8'), path);
export const readSplice = async (path: string): Promise<Splice> => parseSplice(await readFile(path, 'utf8'), path);

/** The parts covering bytes [0, upTo) of a splice. */
export function sliceParts(parts: readonly SplicePart[], upTo: number): SplicePart[] {
  const out: SplicePart[] = [];
  let at = 0;
  for (const [seg, off, len] of parts) {
    if (at >= upTo) break;
    const take = Math.min(len, upTo - at);
    out.push([seg, off, take]);
    at += take;
  }
  return out;
}

/** The whole content, read into memory (for files small enough to cache). */
export function readSplicedSync(generationsDir: string, s: Splice): Buffer {
  const out = Buffer.allocUnsafe(s.size);
  let at = 0;
  for (const [seg, off, len] of s.parts) {
    const fd = openSync(join(generationsDir, seg), 'r');
    try {
      for (let done = 0; done < len; ) {
        const n = readSync(fd, out, at + done, len - done, off + done);
        if (n === 0) throw new Error(`${seg}: shorter than its splice says`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    at += len;
  }
  return out;
}

/**
 * Bytes [start, end] (inclusive) of a splice, streamed part by part. Every segment is opened
 * first: a slow download keeps reading a segment even if its generations are pruned meanwhile.
 */
export function splicedStream(generationsDir: string, s: Splice, start: number, end: number): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    const wanted: [FileHandle, number, number][] = [];
    try {
      let at = 0;
      for (const [seg, off, len] of s.parts) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + len - 1);
        if (from <= to) wanted.push([await open(join(generationsDir, seg), 'r'), off + (from - at), to - from + 1]);
        at += len;
        if (at > end) break;
      }
      for (const [fh, pos, len] of wanted) {
        for (let done = 0; done < len; ) {
          const buf = Buffer.allocUnsafe(Math.min(len - done, 256 << 10));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos + done);
          if (bytesRead === 0) return; // shorter than the splice says: the sender notices
          done += bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        }
      }
    } finally {
      await Promise.all(wanted.map(([fh]) => fh.close()));
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** A published file's bytes, whether stored whole or as a splice (for tools and tests). */
export async function readPublishedFile(generationsDir: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const s = await readSplice(path + SPLICE_SUFFIX).catch(() => {
      throw err;
    });
    return readSplicedSync(generationsDir, s);
  }
}
