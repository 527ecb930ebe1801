// What every mutator returns: the bytes to upload and a description precise enough to read a
// finding without re-running it ("<class>/<op>: detail").

import type { Rng } from '../prng.js';
import type { Seed } from '../corpus.js';

export interface Mutant {
  body: Buffer;
  /** "<class>/<op>: detail". */
  mutation: string;
}

export interface MutationInput {
  rng: Rng;
  seed: Seed;
  caseNo: number;
}
