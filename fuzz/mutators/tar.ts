// Tar header corruption inside a member: unpack control.tar.* or data.tar.*, damage one
// header (checksum, size, name, type, link name, mode, magic) or the archive's end, usually
// re-sealing the checksum so the damage reaches past the checksum check, and pack it again with
// the same tool. Entry names include traversal ("../../etc/x") and absolute paths.

import type { Rng } from '../prng.js';
import { BLOCK, fileEntry, listHeaders, octalField, reseal, setField } from '../tar.js';
import { bumpVersion, rewriteMember, type Which } from './members.js';
import type { Mutant, MutationInput } from './types.js';

const NAMES = ['../../etc/fz-x', '/etc/fz-abs', './usr/../../fz-up', '', '.', './', 'a\nb', './usr/share/../../../../tmp/fz', `./${'n'.repeat(99)}`];
const LINKS = ['/etc/shadow', '../../../etc/passwd', '', '/', `${'l'.repeat(100)}`];

/** Applies one header mutation at `at`; returns its description. */
function damage(rng: Rng, tar: Buffer, at: number, remaining: number): string {
  const op = rng.weighted([
    ['checksum', 10],
    ['size', 20],
    ['name', 20],
    ['type', 18],
    ['linkname', 6],
    ['mode', 6],
    ['magic', 5],
    ['owner', 5],
  ] as const);
  switch (op) {
    case 'checksum': {
      const v = rng.pick(['0000000\0', '9999999\0', '\0\0\0\0\0\0\0\0', 'zzzzzzz\0']);
      setField(tar, at, 148, 8, v);
      return `checksum ${JSON.stringify(v)}`;
    }
    case 'size': {
      const choice = rng.pick(['huge-octal', 'base256', 'base256-negative', 'beyond-end', 'non-octal', 'zero'] as const);
      if (choice === 'base256') {
        const b = Buffer.alloc(12);
        b[0] = 0x80;
        b.writeBigUInt64BE(8n << 30n, 4);
        setField(tar, at, 124, 12, b);
      } else if (choice === 'base256-negative') setField(tar, at, 124, 12, Buffer.alloc(12, 0xff));
      else setField(tar, at, 124, 12, { 'huge-octal': '77777777777', 'beyond-end': octalField(remaining + 4096, 12), 'non-octal': '9999', zero: octalField(0, 12) }[choice]);
      return `size ${choice}`;
    }
    case 'name': {
      const name = rng.chance(0.15) ? Buffer.from([0x2e, 0x2f, 0xff, 0xfe, 0xc3, 0x28]) : Buffer.from(rng.pick(NAMES), 'latin1');
      setField(tar, at, 0, 100, name);
      if (name.length >= 100) tar[at + 99] = 0x6e; // no terminating NUL
      return `name ${JSON.stringify(name.toString('latin1'))}`;
    }
    case 'type': {
      const t = rng.pick(['1', '2', '3', '4', '6', '7', 'L', 'K', 'x', 'g', 'V', 'S', '\xff', '\0']);
      tar[at + 156] = t.charCodeAt(0);
      if (t === '1' || t === '2') setField(tar, at, 157, 100, rng.pick(LINKS));
      return `type ${JSON.stringify(t)}`;
    }
    case 'linkname': {
      const l = rng.pick(LINKS);
      setField(tar, at, 157, 100, l);
      return `linkname ${JSON.stringify(l)}`;
    }
    case 'mode': {
      const m = rng.pick(['7777', '4755', '0', 'zzzz', '777777777']);
      setField(tar, at, 100, 8, m);
      return `mode ${m}`;
    }
    case 'magic': {
      const m = rng.pick(['ustar  \0', 'USTAR\0' + '00', '\0\0\0\0\0\0\0\0', 'ustar\0' + 'zz']);
      setField(tar, at, 257, 8, m);
      return `magic ${JSON.stringify(m)}`;
    }
    case 'owner': {
      setField(tar, at, 108, 8, rng.pick(['7777777', 'zz']));
      setField(tar, at, 265, 32, Buffer.from([0xff, 0x00, 0x41]));
      return 'uid/uname';
    }
  }
}

/** Mutations of the archive as a whole rather than of one header. */
function structural(rng: Rng, tar: Buffer): { tar: Buffer; what: string } {
  const headers = listHeaders(tar);
  const last = headers[headers.length - 1];
  const end = last ? last.at + BLOCK + Math.ceil(last.size / BLOCK) * BLOCK : 0;
  const op = rng.pick(['no-end', 'garbage-after-end', 'cut-mid-entry', 'pax', 'gnu-longname', 'traversal-entry'] as const);
  switch (op) {
    case 'no-end':
      return { tar: tar.subarray(0, end), what: 'end-of-archive removed' };
    case 'garbage-after-end':
      return { tar: Buffer.concat([tar, rng.bytes(rng.range(1, 2048))]), what: 'garbage after end-of-archive' };
    case 'cut-mid-entry':
      return { tar: tar.subarray(0, Math.max(0, end - rng.range(1, 600))), what: 'cut inside the last entry' };
    case 'pax': {
      const rec = rng.pick(['30 path=../../etc/fz-pax\n', '999999999 path=x\n', '12 size=-1\n', '19 size=99999999999\n', 'garbage\n', '9 path=\n']);
      const pax = fileEntry('./PaxHeaders/x', Buffer.from(rec, 'latin1'));
      pax[156] = 0x78; // 'x'
      reseal(pax, 0);
      const at = rng.pick(headers.map((h) => h.at).concat([end]));
      return { tar: Buffer.concat([tar.subarray(0, at), pax, tar.subarray(at)]), what: `pax record ${JSON.stringify(rec)}` };
    }
    case 'gnu-longname': {
      const size = rng.pick([300, 1 << 30, 0]);
      const l = fileEntry('././@LongLink', Buffer.alloc(Math.min(size, 300), 0x61));
      l[156] = 0x4c; // 'L'
      l.write(octalField(size, 12), 124, 'latin1');
      reseal(l, 0);
      return { tar: Buffer.concat([tar.subarray(0, end), l, tar.subarray(end)]), what: `GNU long name of ${size} bytes` };
    }
    case 'traversal-entry': {
      const name = rng.pick(['../../etc/fz-x', '/etc/fz-abs', './../fz-up', './usr/share/../../../fz-up']);
      const e = fileEntry(name, Buffer.from('traversal\n'));
      return { tar: Buffer.concat([tar.subarray(0, end), e, tar.subarray(end)]), what: `extra entry ${JSON.stringify(name)}` };
    }
  }
}

export function mutateTar({ rng, seed, caseNo }: MutationInput): Mutant {
  const which: Which = rng.chance(0.4) ? 'control' : 'data';
  // Most of the time the mutant gets its own version, so a well-formed result is added (and later
  // installed) instead of colliding with its seed.
  const bump = which === 'data' && rng.chance(0.7);
  const base = bump ? bumpVersion(seed.deb, caseNo) : seed.deb;
  let what = '';
  const body = rewriteMember(base, which, (tar) => {
    if (rng.chance(0.25)) {
      const s = structural(rng, tar);
      what = s.what;
      return s.tar;
    }
    const headers = listHeaders(tar);
    const h = rng.pick(headers);
    const d = damage(rng, tar, h.at, tar.length - h.at);
    const sealed = rng.chance(0.75);
    if (sealed) reseal(tar, h.at);
    what = `entry ${JSON.stringify(h.name)} ${d}${sealed ? ' (checksum resealed)' : ''}`;
    return tar;
  });
  return { body: body ?? seed.deb, mutation: `tar/${which}: ${what}${bump ? ' +version' : ''}` };
}
