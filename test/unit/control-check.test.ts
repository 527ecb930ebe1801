// The strict control check a package passes before the repo server accepts it: each refusal
// class names its field, and each unusual-but-valid form apt reads is accepted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { parseParagraphStrict, StrictControlError } from '../../deb/control.js';
import { parseRelationField, RelationError } from '../../deb/relation.js';
import { CONTROL_LIMITS, controlProblem, descriptionMd5 } from '../../repo-server/packages/control-check.js';

const HEAD = 'Package: demo\nVersion: 1.0-1\nArchitecture: all\nMaintainer: T <t@example.org>\n';
const DESC = 'Description: a demo\n Long text,\n .\n  indented line\n';
const control = (extra: string, desc = DESC): string => `${HEAD}${extra}${desc}`;

function refused(text: string, re: RegExp): void {
  const problem = controlProblem(text);
  assert.ok(problem !== null, `accepted:\n${text.slice(0, 300)}`);
  assert.match(problem!, re);
}
const accepted = (text: string): void => assert.is(controlProblem(text), null, text.slice(0, 300));

test('paragraph structure: blank, comment and whitespace-only lines, one paragraph only', () => {
  refused(`\n${control('')}`, /line 1: starts with a blank line/);
  refused(`${control('')}\n# trailing comment paragraph\n`, /line 9: blank line/);
  refused(`${control('')}\nPackage: second\n`, /blank line \(a control file is exactly one paragraph\)/);
  refused(control('# a comment\n'), /line 5: comment line/);
  refused(control(' \n'), /line 5: line of only whitespace/);
  refused(control('\t\n'), /line 5: line of only whitespace/);
  refused(` continued\n${control('')}`, /line 1: continuation line without a field/);
  refused('', /control file is empty|starts with a blank line/);
  // Trailing newlines are not a paragraph: the index trims them.
  accepted(`${control('')}\n\n`);
  // dpkg refuses a control file whose last line has no newline (measured by the fuzzer).
  refused(control('').slice(0, -1), /control file: missing final newline/);
});

test('field names and values: deb822 names, duplicates, empty values, control characters', () => {
  refused(control('garbage line\n'), /line 5: expected 'Field: value'/);
  refused(control(': no name\n'), /line 5: expected 'Field: value'/);
  refused(control('X Y: v\n'), /invalid field name 'X Y'/);
  refused(control('-X: v\n'), /invalid field name '-X'/);
  refused(control('Föö: v\n'), /invalid field name 'Föö'/);
  refused(control('package: again\n'), /control field package: duplicate field/);
  refused(control('Homepage:\n'), /control field Homepage: empty value/);
  refused(control('Homepage:   \n'), /control field Homepage: empty value/);
  for (const [ch, cp] of [['\u0000', 'U\\+0000'], ['\r', 'U\\+000D'], ['\u0001', 'U\\+0001'], ['\u001b', 'U\\+001B'], ['\u007f', 'U\\+007F']] as const) {
    refused(control(`X-A: a${ch}b\n`), new RegExp(`control field X-A: control character ${cp}`));
    refused(control(`X-A: a\n b${ch}\n`), new RegExp(`control field X-A: control character ${cp}`));
  }
  // Unusual but valid: every printable name character, UTF-8 and tabs in values, multi-line
  // values with " ." lines, an empty first line followed by continuation lines.
  accepted(control('X-W!rd~Name_0.9+$%&*/=?@[]^`{|}: v\n'));
  accepted(control('X-Utf8: ünïcødé 名前 — ✓\tand a tab\n'));
  accepted(control('X-Multi:\n first\n .\n\tsecond with a tab\n'));
});

test('size bounds: per field and per file, counted in UTF-8 bytes', () => {
  const limits = { maxFieldBytes: 200, maxParagraphBytes: 400 };
  const field = (n: number): string => `X-A: ${'é'.repeat(n)}\n`; // 2 bytes a character
  assert.is(controlProblem(control(field(95)), limits), null);
  assert.match(controlProblem(control(field(98)), limits) ?? '', /control field X-A: value over 200 bytes/);
  assert.match(controlProblem(control(`X-A: a\n${' b\n'.repeat(80)}`), limits) ?? '', /control field X-A: value over 200 bytes/);
  assert.match(controlProblem(control(field(90) + field(90).replace('X-A', 'X-B')), limits) ?? '', /control file is \d+ bytes; at most 400/);
  // The shipped bounds: a field of just under 256 KiB passes, one byte more does not.
  const at = (bytes: number): string => `X-Big: ${'x'.repeat(bytes - 'X-Big: \n'.length)}\n`;
  assert.is(controlProblem(control(at(CONTROL_LIMITS.maxFieldBytes))), null);
  assert.match(controlProblem(control(at(CONTROL_LIMITS.maxFieldBytes + 1))) ?? '', /control field X-Big: value over 262144 bytes/);
});

test('relation fields: the Debian grammar for binary packages', () => {
  refused(control('Pre-Depends: |||\n'), /control field Pre-Depends: .*missing package name/);
  refused(control('Depends: aa,, bb\n'), /control field Depends: .*empty relation between commas/);
  refused(control('Depends: aa, bb,\n'), /control field Depends: .*empty relation between commas/);
  refused(control('Depends: ,\n'), /control field Depends: /);
  refused(control('Depends: aa [amd64]\n'), /control field Depends: .*architecture restrictions are not allowed in a binary package/);
  refused(control('Depends: aa <!nocheck>\n'), /control field Depends: .*build profile restrictions are not allowed/);
  refused(control('Depends: aa:native\n'), /control field Depends: .*':native'/);
  refused(control('Depends: aa (>= )\n'), /control field Depends: .*missing version/);
  refused(control('Depends: aa (~ 1)\n'), /control field Depends: .*unknown operator/);
  refused(control('Depends: AA\n'), /control field Depends: .*invalid package name/);
  refused(control('Breaks: aa | bb\n'), /control field Breaks: .*alternatives/);
  refused(control('Provides: aa (>= 1)\n'), /control field Provides: .*only exact versions/);
  refused(control('Provides: aa:any\n'), /control field Provides: .*architecture qualifier is not allowed/);
  refused(control('Built-Using: src (>= 1)\n'), /control field Built-Using: .*exact source version/);
  refused(control('Static-Built-Using: src\n'), /control field Static-Built-Using: .*exact source version/);
  refused(control('depends: aa (>= 1.0\n'), /control field depends: .*unterminated/);
  accepted(
    control(
      'Pre-Depends: aa (<< 1), bb (<= 1:2.0~rc1-1), cc (= 1), dd (>= 1), ee (>> 1), ff (< 1), gg (> 1)\n' +
        'Depends: python3:any (>= 3.11), libc6:amd64 | libc6.1, zz\n' +
        ' , yy (>= 2)\n' +
        'Recommends: a0+b.c-d\nSuggests: aa:any\nEnhances: aa\nBreaks: aa:i386 (<< 2)\nConflicts: bb:any\nReplaces: aa (<< 2)\n' +
        'Provides: virt, virt-versioned (= 1.0)\nBuilt-Using: gcc-12 (= 12.2.0-14)\nStatic-Built-Using: rustc (= 1.63.0+dfsg1-2)\n',
    ),
  );
  // Source-package forms keep working where the builder uses them.
  assert.equal(parseRelationField('aa [amd64] <!nocheck>, bb,').length, 2);
  assert.throws(() => parseRelationField('aa [amd64]', { field: 'Depends', binary: true }), (e: unknown) => e instanceof RelationError);
});

test('Description-md5 is apt\'s MD5 of the description as written, plus a newline', () => {
  const raw = 'a demo\n Long text,\n .\n  indented line';
  const want = execFileSync('md5sum', { input: `${raw}\n` }).toString().split(' ')[0]!;
  assert.is(descriptionMd5(raw), want);
  assert.is(parseParagraphStrict(control(''), CONTROL_LIMITS).raw.get('Description'), raw);
  accepted(control(`Description-md5: ${want}\n`));
  refused(control(`Description-md5: ${want.toUpperCase()}\n`), /control field Description-md5: .*not 32 lowercase hex/);
  refused(control('Description-md5: abc\n'), /control field Description-md5: 'abc' is not 32 lowercase hex/);
  refused(control(`Description-md5: ${'0'.repeat(32)}\n`), new RegExp(`control field Description-md5: 0{32} is not the MD5 of the Description \\(${want}\\)`));
  refused(control(`Description-md5: ${want}\n`, ''), /control field Description-md5: there is no Description field/);
  refused(control('', 'Description:\n no synopsis\n'), /control field Description: the first line \(synopsis\) is empty/);
});

test('Installed-Size and the fields the index writes itself', () => {
  accepted(control('Installed-Size: 0\n'));
  accepted(control('Installed-Size: 123456\n'));
  for (const bad of ['abc', '-5', '1.5', '12 KB', '9'.repeat(16)]) refused(control(`Installed-Size: ${bad}\n`), /control field Installed-Size: .* is not a size in KiB/);
  for (const f of ['Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256', 'sha512']) {
    refused(control(`${f}: x\n`), new RegExp(`control field ${f}: written by the repository index`));
  }
});

test('the strict parser names the field in its error and keeps values like the lenient one', () => {
  const p = parseParagraphStrict(control('X-Multi:\n first\n .\n second\n'), CONTROL_LIMITS);
  assert.is(p.fields.get('X-Multi'), '\nfirst\n\nsecond');
  assert.is(p.fields.get('Description'), 'a demo\nLong text,\n\n indented line');
  try {
    parseParagraphStrict(control('X-A: a\u0000\n'), CONTROL_LIMITS);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, StrictControlError);
    assert.is((e as StrictControlError).field, 'X-A');
  }
});

test.run();
