// ar-level corruption: the name, size and magic fields of a member header, the global magic,
// the other numeric fields, and the member layout itself (order, duplicates, missing or extra
// members, the debian-binary version).

import { buildAr, parseAr } from '../ar.js';
import type { Mutant, MutationInput } from './types.js';

const NAMES = ['data.tar.bz2', 'control.tar.lzma', 'data.tar.gz/', '../../x', '', 'debian-binary', 'control.tar ', '_gpgorigin', 'data.tar.zst.', 'DATA.TAR.GZ', 'control\0tar.gz', 'data.tar.xz'];
const SIZES = ['0', '9999999999', '-1', '1e3', '0x10', ' 12', '', '99999', '18446744073'];
const END_MAGIC = ['``', '\n`', '\0\0', '`\r'];
const GLOBAL_MAGIC = ['!<arch>\r', '!<thin>\n', '!<ARCH>\n', '\0\0\0\0\0\0\0\0', '!<arch> '];
const DEBIAN_BINARY = ['3.0\n', '2.0', '2.0\n\n\n', '2.999\nextra\n', '', '1.0\n', '2.0\r\n', 'x'.repeat(4096)];

function put(deb: Buffer, at: number, width: number, value: string): void {
  const v = Buffer.from(value.padEnd(width, ' ').slice(0, width), 'latin1');
  v.copy(deb, at);
}

export function mutateAr({ rng, seed }: MutationInput): Mutant {
  const deb = Buffer.from(seed.deb);
  const members = parseAr(deb);
  const m = rng.pick(members);
  const op = rng.weighted([
    ['name', 15],
    ['size', 20],
    ['end-magic', 8],
    ['global-magic', 6],
    ['numeric', 8],
    ['drop', 8],
    ['duplicate', 8],
    ['swap', 8],
    ['extra', 8],
    ['debian-binary', 10],
  ] as const);
  const parts = members.map((x) => ({ name: x.name, data: x.data }));
  switch (op) {
    case 'name': {
      const name = rng.pick(NAMES);
      put(deb, m.headerAt, 16, name);
      return { body: deb, mutation: `ar/name: member '${m.name}' renamed ${JSON.stringify(name)}` };
    }
    case 'size': {
      const size = rng.chance(0.4) ? String(m.data.length + rng.pick([-1, 1, -2, 2, 512, -512, 1 << 20])) : rng.pick(SIZES);
      put(deb, m.headerAt + 48, 10, size);
      return { body: deb, mutation: `ar/size: member '${m.name}' size ${JSON.stringify(size)} (was ${m.data.length})` };
    }
    case 'end-magic': {
      const v = rng.pick(END_MAGIC);
      put(deb, m.headerAt + 58, 2, v);
      return { body: deb, mutation: `ar/end-magic: member '${m.name}' ${JSON.stringify(v)}` };
    }
    case 'global-magic': {
      const v = rng.pick(GLOBAL_MAGIC);
      Buffer.from(v, 'latin1').copy(deb, 0);
      return { body: deb, mutation: `ar/global-magic: ${JSON.stringify(v)}` };
    }
    case 'numeric': {
      const [field, at, width] = rng.pick([
        ['mtime', 16, 12],
        ['uid', 28, 6],
        ['gid', 34, 6],
        ['mode', 40, 8],
      ] as const);
      const v = rng.pick(['-1', 'zz', '99999999999999', '\0', '777777777']);
      put(deb, m.headerAt + at, width, v);
      return { body: deb, mutation: `ar/numeric: member '${m.name}' ${field} ${JSON.stringify(v)}` };
    }
    case 'drop': {
      const i = members.indexOf(m);
      parts.splice(i, 1);
      return { body: buildAr(parts), mutation: `ar/drop: member '${m.name}'` };
    }
    case 'duplicate': {
      const i = members.indexOf(m);
      parts.splice(i + rng.int(2), 0, { name: m.name, data: m.data });
      return { body: buildAr(parts), mutation: `ar/duplicate: member '${m.name}'` };
    }
    case 'swap': {
      const a = rng.int(parts.length);
      const b = rng.int(parts.length);
      [parts[a], parts[b]] = [parts[b]!, parts[a]!];
      return { body: buildAr(parts), mutation: `ar/swap: members ${a} and ${b}` };
    }
    case 'extra': {
      const name = rng.pick(['_gpgorigin', 'zz-extra', 'data.tar.gz', 'control.tar', '_' + 'x'.repeat(14)]);
      const i = rng.int(parts.length + 1);
      parts.splice(i, 0, { name, data: rng.bytes(rng.range(0, 300)) });
      return { body: buildAr(parts), mutation: `ar/extra: member '${name}' at ${i}` };
    }
    case 'debian-binary': {
      const v = rng.pick(DEBIAN_BINARY);
      const i = parts.findIndex((p) => p.name === 'debian-binary');
      if (i >= 0) parts[i] = { name: 'debian-binary', data: Buffer.from(v, 'latin1') };
      return { body: buildAr(parts), mutation: `ar/debian-binary: ${JSON.stringify(v.slice(0, 20))}` };
    }
  }
}

