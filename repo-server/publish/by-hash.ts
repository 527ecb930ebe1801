// Acquire-By-Hash: every index is also published as <dir>/by-hash/<ALGO>/<hex>, and those of
// recent generations are carried into the new one, so a client still holding an older InRelease
// finds every index it names.

import { join } from 'node:path';
import { linkIfMissing } from '../../lib/fs-atomic.js';
import { SPLICE_SUFFIX } from './spliced-files.js';
import type { FileDigest } from './index-type.js';

export interface ByHashEntry {
  /** Path relative to the generation directory. */
  path: string;
  generation: number;
  time: number;
}

/**
 * Links `<dir>/<name>` (on disk in `genDir`) under its SHA256 and SHA512 by-hash names. A splice
 * (`<name>.parts`) keeps its suffix on disk: it is served under the by-hash name.
 */
export async function linkByHash(genDir: string, dir: string, name: string, d: FileDigest, generation: number, time: number): Promise<ByHashEntry[]> {
  const suffix = name.endsWith(SPLICE_SUFFIX) ? SPLICE_SUFFIX : '';
  const out: ByHashEntry[] = [];
  for (const [algo, hex] of [['SHA256', d.sha256], ['SHA512', d.sha512]] as const) {
    const rel = `${dir}/by-hash/${algo}/${hex}${suffix}`;
    await linkIfMissing(join(genDir, dir, name), join(genDir, rel));
    out.push({ path: rel, generation, time });
  }
  return out;
}

export interface CarryPolicy {
  /** Generations whose by-hash files stay reachable... */
  keepGenerations: number;
  /** ...and at least this long. */
  keepSeconds: number;
}

/**
 * Links the previous generation's by-hash files that are still young (by generation count or
 * by age) and not already in `byHash` into the new generation; returns the full list.
 */
export async function carryByHash(previous: ByHashEntry[], prevDir: string, genDir: string, byHash: ByHashEntry[], generation: number, now: number, keep: CarryPolicy): Promise<ByHashEntry[]> {
  const out = [...byHash];
  const mine = new Set(byHash.map((b) => b.path));
  for (const b of previous) {
    if (mine.has(b.path)) continue;
    const young = generation - b.generation < keep.keepGenerations || now - b.time < keep.keepSeconds;
    if (!young) continue;
    try {
      await linkIfMissing(join(prevDir, b.path), join(genDir, b.path));
      out.push(b);
      mine.add(b.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out;
}
