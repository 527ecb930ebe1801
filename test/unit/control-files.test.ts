// conffiles and triggers as dpkg reads them while unpacking: what it refuses is refused at add.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controlFilesProblem } from '../../repo-server/packages/control-files.js';
import { controlProblem } from '../../repo-server/packages/control-check.js';
import { checkTarBuffer, encodeHeader, endOfArchive, TarFormatError } from '../../deb/tar.js';
import { unsafeControlPath } from '../../deb/reader.js';

const problem = (files: Record<string, string>) => controlFilesProblem(new Map(Object.entries(files)));

test('conffiles: absolute paths, a final newline, dpkg’s line length; remove-on-upgrade allowed', () => {
  assert.is(problem({ conffiles: '/etc/app/app.conf\n/etc/app/other.conf\n' }), null);
  assert.is(problem({ conffiles: 'remove-on-upgrade /etc/app/old.conf\n' }), null);
  assert.is(problem({ conffiles: '' }), null);
  assert.match(problem({ conffiles: '/etc/app/app.conf' })!, /conffiles: missing final newline/);
  assert.match(problem({ conffiles: `/${'x/'.repeat(600)}\n` })!, /conffiles line 1: longer than dpkg accepts/);
  assert.match(problem({ conffiles: '/etc/ok\netc/relative\n' })!, /conffiles line 2: not an absolute path/);
  assert.match(problem({ conffiles: '/etc/a\u0001b\n' })!, /conffiles line 1/);
});

test('triggers: deb-triggers(5) directives and comments only', () => {
  assert.is(problem({ triggers: '# comment\ninterest-noawait /usr/share/app\nactivate-noawait ldconfig\n\n' }), null);
  assert.match(problem({ triggers: 'interested /usr/share\n' })!, /triggers line 1: not a deb-triggers\(5\) directive/);
  assert.match(problem({ triggers: 'activate\n' })!, /triggers line 1/);
});

test('closed-set fields: Multi-Arch, Essential, Protected', () => {
  const head = 'Package: aa\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: x\n';
  assert.is(controlProblem(`${head}Multi-Arch: foreign\nEssential: no\n`), null);
  assert.match(controlProblem(`${head}Multi-Arch: bogus\n`)!, /control field Multi-Arch: 'bogus' is not one of no, same, foreign, allowed/);
  assert.match(controlProblem(`${head}Essential: maybe\n`)!, /control field Essential/);
  assert.match(controlProblem(`${head}Status: install ok installed\n`)!, /control field Status: kept by dpkg/);
  assert.match(controlProblem(head.slice(0, -1))!, /missing final newline/);
});

test('tar entries dpkg does not unpack (a GNU volume header) are refused; control paths stay inside', () => {
  const file = encodeHeader({ path: './a', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 0, mtime: 0 });
  checkTarBuffer(Buffer.concat([file, endOfArchive()]));
  const volume = Buffer.from(file);
  volume[156] = 'V'.charCodeAt(0);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : volume[i]!;
  volume.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  assert.throws(() => checkTarBuffer(Buffer.concat([volume, endOfArchive()])), (e: unknown) => e instanceof TarFormatError && /type 'V'/.test((e as Error).message));
  const contiguous = Buffer.from(file);
  contiguous[156] = '7'.charCodeAt(0);
  let sum7 = 0;
  for (let i = 0; i < 512; i++) sum7 += i >= 148 && i < 156 ? 32 : contiguous[i]!;
  contiguous.write(`${sum7.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  assert.throws(() => checkTarBuffer(Buffer.concat([contiguous, endOfArchive()])), /type '7'/);
  const dirLink = encodeHeader({ path: './usr/', type: 'hardlink', linkTarget: './a', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 0, mtime: 0 });
  assert.throws(() => checkTarBuffer(Buffer.concat([file, dirLink, endOfArchive()])), /named like a directory/);
  assert.is(unsafeControlPath('control.tar', './postinst'), undefined);
  assert.match(unsafeControlPath('control.tar', './../evil')!.message, /leaves the control directory/);
  assert.match(unsafeControlPath('control.tar', '/etc/x')!.message, /leaves the control directory/);
});

test.run();
