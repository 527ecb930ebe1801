// One fuzz case from (run seed, case number): which seed package, which mutator, the bytes
// and the upload name. Everything comes from a PRNG derived from the two numbers, so
// `--seed S --case N` rebuilds exactly the case a run reported.

import type { Seed, SeedClass } from './corpus.js';
import { Rng } from './prng.js';
import { mutateAr } from './mutators/ar.js';
import { mutateBomb } from './mutators/bomb.js';
import { mutateBytes } from './mutators/bytes.js';
import { mutateControl } from './mutators/control.js';
import { bumpVersion } from './mutators/members.js';
import { normalUpload, oddUpload, type Upload } from './mutators/names.js';
import { mutateTar } from './mutators/tar.js';
import type { Mutant } from './mutators/types.js';

export type MutatorClass = 'bytes' | 'ar' | 'tar' | 'control' | 'names' | 'clean' | 'bomb';

export interface FuzzCase {
  seed: number;
  caseNo: number;
  cls: MutatorClass;
  seedId: string;
  mutation: string;
  upload: Upload;
  body: Buffer;
}

export interface Mix {
  /** Share of cases that are decompression bombs (0..1). */
  bombs: number;
  /** Share of cases built on a > 8 MiB seed (0..1). */
  large: number;
}
export const DEFAULT_MIX: Mix = { bombs: 0.012, large: 0.03 };

const CLASSES: readonly (readonly [MutatorClass, number])[] = [
  ['bytes', 24],
  ['ar', 12],
  ['tar', 22],
  ['control', 30],
  ['names', 8],
  ['clean', 4],
];

function pickSeed(rng: Rng, corpus: readonly Seed[], mix: Mix): Seed {
  const cls: SeedClass = rng.chance(mix.large) ? 'large' : rng.weighted([['tiny', 44], ['scripts', 44], ['mid', 12]] as const);
  return rng.pick(corpus.filter((s) => s.cls === cls));
}

export function makeCase(runSeed: number, caseNo: number, corpus: readonly Seed[], bombs: Map<string, Buffer>, mix: Mix = DEFAULT_MIX): FuzzCase {
  const rng = new Rng(runSeed, caseNo);
  const cls: MutatorClass = rng.chance(mix.bombs) ? 'bomb' : rng.weighted(CLASSES);
  const seed = pickSeed(rng, corpus, mix);
  const input = { rng, seed, caseNo };
  let mutant: Mutant;
  let upload = normalUpload(rng, caseNo, seed.package);
  switch (cls) {
    case 'bytes':
      mutant = mutateBytes(input);
      break;
    case 'ar':
      mutant = mutateAr(input);
      break;
    case 'tar':
      mutant = mutateTar(input);
      break;
    case 'control':
      mutant = mutateControl(input);
      break;
    case 'bomb':
      mutant = mutateBomb(input, bombs);
      break;
    case 'names': {
      const odd = oddUpload(rng, caseNo);
      upload = odd.upload;
      mutant = { body: bumpVersion(seed.deb, caseNo), mutation: odd.what };
      break;
    }
    case 'clean':
      mutant = { body: bumpVersion(seed.deb, caseNo), mutation: 'clean/seed: unmutated seed, own version' };
      break;
  }
  return { seed: runSeed, caseNo, cls, seedId: cls === 'bomb' ? 'bomb' : seed.id, mutation: mutant.mutation, upload, body: mutant.body };
}
