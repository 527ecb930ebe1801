// The distribution's Release and its signatures (InRelease, Release.gpg), and the Release Date:
// it strictly increases (apt ignores an older Release), so a client's If-Modified-Since never
// mistakes a new Release for the one it holds.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../pgp/signer.js';
import { renderRelease, type IndexFileHash, type ReleaseFields } from './indexes.js';

/** The new Release Date: now, unless that is not later than the last one published. */
export function nextReleaseDate(now: number, ...earlier: (number | undefined)[]): number {
  return Math.max(now, ...earlier.map((d) => (d ?? 0) + 1));
}

/**
 * Writes `Release` (and, with a signer, `InRelease` and `Release.gpg`) into `genDir`; returns
 * the paths written.
 */
export async function writeRelease(genDir: string, fields: ReleaseFields, files: IndexFileHash[], signer: Signer | undefined): Promise<string[]> {
  const release = renderRelease(fields, files);
  await writeFile(join(genDir, 'Release'), release);
  const written = [join(genDir, 'Release')];
  if (signer) {
    await writeFile(join(genDir, 'InRelease'), await signer.clearsign(release));
    await writeFile(join(genDir, 'Release.gpg'), await signer.detachSign(release));
    written.push(join(genDir, 'InRelease'), join(genDir, 'Release.gpg'));
  }
  return written;
}
