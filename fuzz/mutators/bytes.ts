// Format-blind mutations of the whole file: bit flips, byte and range overwrites, insertions,
// deletions, and truncations both at random offsets and at ar member boundaries (where a
// reader is most likely to believe it has a whole member).

import { HEADER, parseAr } from '../ar.js';
import type { Mutant, MutationInput } from './types.js';

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x20, 0x0a, 0x30, 0x39];

export function mutateBytes({ rng, seed }: MutationInput): Mutant {
  const deb = Buffer.from(seed.deb);
  const op = rng.weighted([
    ['bitflip', 30],
    ['byte', 15],
    ['range', 12],
    ['truncate', 12],
    ['truncate-boundary', 14],
    ['insert', 6],
    ['delete', 6],
    ['append', 5],
  ] as const);
  switch (op) {
    case 'bitflip': {
      const n = rng.range(1, 8);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        // Half the flips land in the first 4 KiB: ar headers, tar headers and compressor headers live there.
        const off = rng.chance(0.5) ? rng.int(Math.min(4096, deb.length)) : rng.int(deb.length);
        deb[off] = deb[off]! ^ (1 << rng.int(8));
        at.push(off);
      }
      return { body: deb, mutation: `bytes/bitflip: ${n} bit(s) at ${at.join(',')}` };
    }
    case 'byte': {
      const off = rng.int(deb.length);
      const v = rng.pick(INTERESTING);
      deb[off] = v;
      return { body: deb, mutation: `bytes/byte: 0x${v.toString(16)} at ${off}` };
    }
    case 'range': {
      const off = rng.int(deb.length);
      const len = rng.range(2, 64);
      const fill = rng.chance(0.5) ? rng.bytes(len) : Buffer.alloc(len, rng.pick(INTERESTING));
      fill.copy(deb, off);
      return { body: deb, mutation: `bytes/range: ${len} bytes at ${off}` };
    }
    case 'truncate': {
      const len = rng.int(deb.length);
      return { body: deb.subarray(0, len), mutation: `bytes/truncate: to ${len} of ${deb.length}` };
    }
    case 'truncate-boundary': {
      const cuts = [8];
      for (const m of parseAr(deb)) cuts.push(m.headerAt, m.headerAt + HEADER, m.dataAt + m.data.length, m.dataAt + Math.floor(m.data.length / 2));
      const len = Math.max(0, Math.min(deb.length, rng.pick(cuts) + rng.range(-2, 2)));
      return { body: deb.subarray(0, len), mutation: `bytes/truncate-boundary: to ${len} of ${deb.length}` };
    }
    case 'insert': {
      const off = rng.int(deb.length);
      const ins = rng.bytes(rng.range(1, 32));
      return { body: Buffer.concat([deb.subarray(0, off), ins, deb.subarray(off)]), mutation: `bytes/insert: ${ins.length} bytes at ${off}` };
    }
    case 'delete': {
      const off = rng.int(deb.length);
      const len = rng.range(1, 64);
      return { body: Buffer.concat([deb.subarray(0, off), deb.subarray(off + len)]), mutation: `bytes/delete: ${len} bytes at ${off}` };
    }
    case 'append': {
      const extra = rng.chance(0.5) ? rng.bytes(rng.range(1, 4096)) : Buffer.from('\n');
      return { body: Buffer.concat([deb, extra]), mutation: `bytes/append: ${extra.length} bytes` };
    }
  }
}
