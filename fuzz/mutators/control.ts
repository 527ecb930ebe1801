// Control-file mutations: the DEBIAN/control paragraph (relations, huge fields, comments,
// blank lines, extra paragraphs, index-only fields such as Filename/Size/Description-md5,
// NUL/CR, duplicates, bad names/versions/architectures) and its siblings (conffiles, md5sums).
// Unless the mutation is about the version, the mutant gets a version of its own, so one
// that is accepted is a new package in the repo (and a candidate for the apt check).

import type { Rng } from '../prng.js';
import { readControlFile, replaceEntry, rewriteMember } from './members.js';
import type { Mutant, MutationInput } from './types.js';

type Edit = (text: string, rng: Rng) => { text: string; what: string; keepsVersion?: boolean };

const setField = (text: string, field: string, value: string): string =>
  new RegExp(`^${field}:`, 'm').test(text) ? text.replace(new RegExp(`^${field}:.*$`, 'm'), `${field}: ${value}`) : `${text.replace(/\n*$/, '\n')}${field}: ${value}\n`;

const RELATIONS = ['|||', ',,,', 'foo (>> )', 'foo (<< 1.0', 'foo [amd64', 'foo:any:any', 'foo (= 1:)', 'foo (=> 1)', '| foo', 'foo |', 'Foo_Bar', 'foo (>= 1.0) (<< 2.0)', 'foo <!nocheck>', '${shlibs:Depends}', 'dpkg (>= 99:1)', 'fz-nonexistent (>= 1)', 'libc6 (>= 2.17), , sed'];
const RELATION_FIELDS = ['Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Conflicts', 'Breaks', 'Replaces', 'Provides', 'Enhances', 'Built-Using'];
const VERSIONS = ['', '1.0 beta', 'a1.0', '1:', ':1.0', '1.0-', '-1', '1.0_2', '1.0/2', '99999999999999999999:1.0', '1.0~~~', '0:1.0-1~rc1+b1', '4294967296:1', '1..0', '1.0-1-', '١.٠'];
const NAMES = ['Foo', 'a', '-foo', 'foo_bar', 'foo bar', 'foo/../bar', 'ü', '', 'x'.repeat(300), '..', 'fz+ok.name-c'];
const ARCHES = ['', 'AMD64', 'amd64 i386', 'any', 'all,amd64', '../x', 'i386', 'arm64', 'amd64\tall', 'source', 'x'.repeat(200)];

const EDITS: readonly (readonly [string, Edit, number])[] = [
  ['relation', (t, r) => { const f = r.pick(RELATION_FIELDS); const v = r.pick(RELATIONS); return { text: setField(t, f, v), what: `${f}: ${v}` }; }, 14],
  ['huge-field', (t, r) => { const n = r.pick([70_000, 1 << 20, 20 << 20]); return { text: setField(t, 'X-Huge', 'y'.repeat(n)), what: `X-Huge of ${n} bytes` }; }, 4],
  ['many-fields', (t, r) => { const n = r.pick([1000, 50_000]); let extra = ''; for (let i = 0; i < n; i++) extra += `X-F${i}: v\n`; return { text: t + extra, what: `${n} extra fields` }; }, 3],
  ['long-description', (t, r) => { const n = r.pick([1000, 100_000]); return { text: t.replace(/\n*$/, '\n') + ' long line\n'.repeat(n), what: `${n} description lines` }; }, 3],
  ['comment', (t, r) => { const at = r.pick(['start', 'middle', 'continuation']); const text = at === 'start' ? `# comment\n${t}` : at === 'middle' ? t.replace(/\nMaintainer:/, '\n# comment\nMaintainer:') : t.replace(/\n /, '\n# comment\n '); return { text, what: `comment line at ${at}` }; }, 5],
  ['leading-blank', (t, r) => { const n = r.range(1, 3); return { text: '\n'.repeat(n) + t, what: `${n} leading blank line(s)` }; }, 4],
  ['extra-paragraph', (t, r) => { const p = r.pick(['Package: fz-evil\nVersion: 1\nArchitecture: all\n', 'Garbage\n', 'X: y\n']); return { text: `${t.replace(/\n*$/, '\n')}\n${p}`, what: `extra paragraph ${JSON.stringify(p)}` }; }, 5],
  ['description-md5', (t, r) => { const v = r.pick(['zz', '0'.repeat(32), 'd41d8cd98f00b204e9800998ecf8427e\n extra']); return { text: setField(t, 'Description-md5', v), what: `Description-md5: ${JSON.stringify(v)}` }; }, 4],
  ['no-description', (t) => ({ text: t.replace(/^Description:[^\n]*\n(?: [^\n]*\n)*/m, ''), what: 'Description removed' }), 3],
  ['nul', (t, r) => { const at = r.int(t.length); return { text: `${t.slice(0, at)}\0${t.slice(at)}`, what: `NUL at ${at}` }; }, 4],
  ['cr', (t, r) => (r.chance(0.5) ? { text: t.replace(/\n/g, '\r\n'), what: 'CRLF line ends' } : { text: t.replace(/^Package: (.*)$/m, 'Package: $1\r'), what: 'CR after the name' }), 4],
  ['duplicate', (t, r) => { const f = r.pick(['Package', 'Version', 'Architecture', 'Depends', 'Description']); return { text: `${t.replace(/\n*$/, '\n')}${f}: fz-dup-${f.toLowerCase()}\n`, what: `duplicate ${f}` }; }, 5],
  ['index-fields', (t, r) => { const f = r.pick(['Filename: pool/evil.deb', 'Size: 1', 'MD5sum: 0', 'SHA256: ' + '0'.repeat(64), 'Filename: ../../etc/passwd', 'Status: install ok installed']); return { text: t.replace(/\n*$/, '\n') + f + '\n', what: `index-only field ${f}` }; }, 6],
  ['version', (t, r) => { const v = r.pick(VERSIONS); return { text: setField(t, 'Version', v), what: `Version: ${JSON.stringify(v)}`, keepsVersion: true }; }, 8],
  ['name', (t, r) => { const v = r.pick(NAMES); return { text: setField(t, 'Package', v), what: `Package: ${JSON.stringify(v.slice(0, 40))}` }; }, 7],
  ['architecture', (t, r) => { const v = r.pick(ARCHES); return { text: setField(t, 'Architecture', v), what: `Architecture: ${JSON.stringify(v.slice(0, 40))}` }; }, 7],
  ['field-syntax', (t, r) => { const v = r.pick(['NoColon\n', ': empty name\n', ' continuation first\n', 'Fïeld: x\n', 'X-Empty:\n', 'X-Tab:\tv\n']); return { text: r.chance(0.5) ? v + t : t + v, what: `line ${JSON.stringify(v)}` }; }, 5],
  ['missing-field', (t, r) => { const f = r.pick(['Package', 'Version', 'Architecture', 'Maintainer']); return { text: t.replace(new RegExp(`^${f}:.*\\n`, 'm'), ''), what: `${f} removed` }; }, 4],
  ['typed-fields', (t, r) => { const [f, v] = r.pick([['Installed-Size', '-5'], ['Installed-Size', 'abc'], ['Installed-Size', '99999999999999999999'], ['Multi-Arch', 'bogus'], ['Essential', 'yes'], ['Priority', 'required'], ['Section', '../x'], ['Source', 'foo (1.0'], ['Source', 'Bad_Name']] as const); return { text: setField(t, f, v), what: `${f}: ${v}` }; }, 6],
  ['no-final-newline', (t) => ({ text: t.replace(/\n+$/, ''), what: 'no final newline' }), 2],
  ['non-utf8', (t) => ({ text: t.replace(/^Maintainer: (.*)$/m, 'Maintainer: F\xfc\xffzz <f@example.org>'), what: 'latin1 bytes in Maintainer' }), 3],
];

/** Mutations of the other control-archive files. */
function sibling(tar: Buffer, rng: Rng): { tar: Buffer; what: string } {
  const [name, body] = rng.pick([
    ['./conffiles', '/etc/../../fz-x\nrelative/path\n/etc/missing-file\n'],
    ['./conffiles', `${'/x'.repeat(5000)}\n`],
    ['./conffiles', '/etc/a\0b\n'],
    ['./md5sums', 'zz  usr/share/doc/x\n0000  \n'],
    ['./md5sums', `${'0'.repeat(32)}  ../../etc/passwd\n`],
    ['./triggers', 'interest-noawait /usr\nbogus-directive\n'],
    ['./shlibs', 'libfz 1 fz (>= '],
    ['./../evil', 'x'],
  ] as const);
  return { tar: replaceEntry(tar, name, Buffer.from(body, 'latin1')), what: `${name} ${JSON.stringify(body.slice(0, 40))}` };
}

/** Latin-1 keeps deliberately non-UTF-8 bytes; text with wider characters is written as UTF-8. */
const encode = (text: string): Buffer => Buffer.from(text, /[^\0-\xff]/.test(text) ? 'utf8' : 'latin1');

export function mutateControl({ rng, seed, caseNo }: MutationInput): Mutant {
  let what = '';
  const body = rewriteMember(seed.deb, 'control', (tar) => {
    const original = readControlFile(tar, './control') ?? '';
    if (rng.chance(0.12)) {
      const s = sibling(tar, rng);
      what = `sibling ${s.what}`;
      return replaceEntry(s.tar, './control', Buffer.from(original.replace(/^Version: (.*)$/m, `Version: $1+c${caseNo}`), 'latin1'));
    }
    let text = original;
    const n = rng.chance(0.8) ? 1 : rng.range(2, 3);
    const done: string[] = [];
    let keepsVersion = false;
    for (let i = 0; i < n; i++) {
      const [label, edit] = rng.weighted(EDITS.map(([l, e, w]) => [[l, e] as const, w] as const));
      const r = edit(text, rng);
      text = r.text;
      keepsVersion ||= r.keepsVersion === true;
      done.push(`${label}: ${r.what}`);
    }
    if (!keepsVersion) text = text.replace(/^Version: (.*?)(\r?)$/m, `Version: $1+c${caseNo}$2`);
    what = done.join('; ');
    return replaceEntry(tar, './control', encode(text));
  });
  return { body: body ?? seed.deb, mutation: `control/${what.split(':')[0]}: ${what}` };
}
