// Where large built indexes are stored: immutable segment files under
// generations/<prefix>/<dist>/segments/, named by splices (see spliced-files.ts). One
// `Segments` per publish writes that generation's new segments; `pruneSegments` deletes the
// ones no remaining generation names.

import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fsyncDir } from '../../lib/fs-atomic.js';
import type { ChunkedIndex } from './chunked-gzip.js';
import { piecesFrom, writePieces } from './pieces.js';
import { readSplice, sliceParts, SPLICE_SUFFIX, type Splice, type SplicePart } from './spliced-files.js';

/** Where the last build of a large index lives: the next one keeps its unchanged ranges. */
export type SplicedIndex = Pick<Splice, 'size' | 'parts'>;

/** A splice with more parts is compacted: its parts after the first become one segment. */
export const MAX_SPLICE_PARTS = 8;

export class Segments {
  /** Segments written by this publish (named `<generation>-<n><ext>`). */
  private count = 0;

  constructor(
    private readonly generationsDir: string,
    /** generations/<prefix>/<dist> */
    private readonly genRoot: string,
    private readonly generation: number,
  ) {}

  get dir(): string {
    return join(this.genRoot, 'segments');
  }

  get used(): boolean {
    return this.count > 0;
  }

  /**
   * Stores a large built index as a splice: the previous build's ranges up to the first changed
   * byte, then one new segment with the rest. A splice that grew too many parts is compacted
   * (everything after its first part rewritten, or the whole file when that part is small).
   */
  async write(built: ChunkedIndex<SplicedIndex>, ext: string): Promise<{ splice: SplicedIndex; segment?: string }> {
    let keep: SplicePart[] = [];
    const base = built.base;
    if (base && built.unchangedPrefix > 0) {
      keep = sliceParts(base.parts, built.unchangedPrefix);
      // Segments of a build whose generation never went live may be gone: then start afresh.
      const present = await Promise.all([...new Set(keep.map((p) => p[0]))].map((seg) => stat(join(this.generationsDir, seg)).then(() => true, () => false)));
      if (present.includes(false)) keep = [];
    }
    if (keep.length + 1 > MAX_SPLICE_PARTS) keep = keep[0]![2] * 2 >= built.size ? [keep[0]!] : [];
    const from = keep.reduce((n, p) => n + p[2], 0);
    if (from === built.size) return { splice: { size: built.size, parts: keep } };
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${this.generation}-${this.count++}${ext}`);
    // 'w', not 'wx': a segment of this name can only be left by an attempt that never went live.
    await writePieces(path, piecesFrom(built.pieces, from), 'w');
    return { splice: { size: built.size, parts: [...keep, [relative(this.generationsDir, path), 0, built.size - from]] }, segment: path };
  }

  /** Makes the new segments' directory entries durable (their contents are synced as written files). */
  async sync(): Promise<void> {
    if (this.count > 0) await fsyncDir(this.dir);
  }
}

/** Deletes segments that no splice of a remaining generation names. */
export async function pruneSegments(generationsDir: string, genRoot: string): Promise<void> {
  const segDir = join(genRoot, 'segments');
  const present = await readdir(segDir).catch(() => [] as string[]);
  if (present.length === 0) return;
  const used = new Set<string>();
  const visit = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await visit(join(d, e.name));
      else if (e.name.endsWith(SPLICE_SUFFIX)) for (const [seg] of (await readSplice(join(d, e.name))).parts) used.add(join(generationsDir, seg));
    }
  };
  for (const name of await readdir(genRoot)) if (Number.isInteger(Number(name))) await visit(join(genRoot, name));
  for (const name of present) if (!used.has(join(segDir, name))) await rm(join(segDir, name), { force: true });
}
