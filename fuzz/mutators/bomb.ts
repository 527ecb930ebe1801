// Bomb packages: a cached bomb member (bombs.ts) in place of control.tar.* or data.tar.*, the
// other member small and well-formed, so the bomb is what the server must survive.

import { buildAr } from '../ar.js';
import { BOMBS } from '../bombs.js';
import { compress, SUFFIX } from '../codec.js';
import { BLOCK, fileEntry } from '../tar.js';
import type { Mutant, MutationInput } from './types.js';

export function mutateBomb({ rng, caseNo }: MutationInput, bombs: Map<string, Buffer>): Mutant {
  const spec = rng.pick(BOMBS);
  const member = bombs.get(spec.id);
  if (!member) throw new Error(`bomb ${spec.id} not loaded`);
  const control = `Package: fz-bomb\nVersion: 1.0-${caseNo}\nArchitecture: all\nMaintainer: Fuzz Tester <fuzz@example.org>\nDescription: decompression bomb ${spec.id}\n`;
  const controlTar = compress('gzip', Buffer.concat([fileEntry('./control', Buffer.from(control)), Buffer.alloc(2 * BLOCK)]));
  const dataTar = compress('gzip', Buffer.alloc(2 * BLOCK));
  const bombName = `${spec.member}.tar${SUFFIX[spec.kind]}`;
  const body = buildAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    spec.member === 'control' ? { name: bombName, data: member } : { name: 'control.tar.gz', data: controlTar },
    spec.member === 'data' ? { name: bombName, data: member } : { name: 'data.tar.gz', data: dataTar },
  ]);
  return { body, mutation: `bomb/${spec.id}: ${member.length} compressed bytes in ${bombName}` };
}
