// The .changes parser: the fields aptly's include reads, the three digest lists joined per
// file, and refusals naming the field (paths as names, lists that disagree, missing lists).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChangesError, parseChanges } from '../../repo-server/packages/changes.js';

const MD5 = 'a'.repeat(32);
const SHA1 = 'b'.repeat(40);
const SHA256 = 'c'.repeat(64);

function changes(over: Record<string, string | null> = {}): string {
  const fields: Record<string, string> = {
    Format: '1.8',
    Date: 'Tue, 14 Nov 2023 22:13:20 +0000',
    Source: 'hello',
    Binary: 'hello hello-udeb',
    Architecture: 'source all',
    Version: '1.0-1',
    Distribution: 'unstable',
    Maintainer: 'T <t@example.org>',
    Changes: '\n hello (1.0-1) unstable; urgency=medium\n .\n   * Test.',
    'Checksums-Sha1': `\n ${SHA1} 10 hello_1.0-1.dsc\n ${SHA1} 20 hello_1.0-1_all.deb`,
    'Checksums-Sha256': `\n ${SHA256} 10 hello_1.0-1.dsc\n ${SHA256} 20 hello_1.0-1_all.deb`,
    Files: `\n ${MD5} 10 misc optional hello_1.0-1.dsc\n ${MD5} 20 misc optional hello_1.0-1_all.deb`,
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete fields[k];
    else fields[k] = v;
  }
  return Object.entries(fields).map(([k, v]) => (v.startsWith('\n') ? `${k}:${v}` : `${k}: ${v}`)).join('\n') + '\n';
}

const refused = (text: string, pattern: RegExp): void => {
  try {
    parseChanges(text);
  } catch (err) {
    assert.instance(err, ChangesError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`accepted, expected ${pattern}`);
};

test('a dpkg-genchanges paragraph: fields and one entry per file with every digest', () => {
  const c = parseChanges(changes());
  assert.is(c.source, 'hello');
  assert.is(c.version, '1.0-1');
  assert.is(c.distribution, 'unstable');
  assert.equal(c.architectures, ['source', 'all']);
  assert.equal(c.binaries, ['hello', 'hello-udeb']);
  assert.equal(c.files, [
    { name: 'hello_1.0-1.dsc', size: 10, md5: MD5, sha1: SHA1, sha256: SHA256 },
    { name: 'hello_1.0-1_all.deb', size: 20, md5: MD5, sha1: SHA1, sha256: SHA256 },
  ]);
  assert.is(c.fields.get('Distribution'), 'unstable');
  // A binNMU names the source version in parentheses.
  assert.is(parseChanges(changes({ Source: 'hello (1.0-1)' })).source, 'hello');
});

test('refusals name the field: paths, disagreeing lists, missing lists and fields, bad words', () => {
  refused(changes({ Files: `\n ${MD5} 10 misc optional ../hello_1.0-1.dsc\n ${MD5} 20 misc optional hello_1.0-1_all.deb` }), /field Files: '\.\.\/hello_1\.0-1\.dsc' is not a plain file name/);
  refused(changes({ Files: `\n ${MD5} 10 misc optional /etc/passwd\n ${MD5} 20 misc optional hello_1.0-1_all.deb` }), /is not a plain file name/);
  refused(changes({ 'Checksums-Sha256': `\n ${SHA256} 11 hello_1.0-1.dsc\n ${SHA256} 20 hello_1.0-1_all.deb` }), /field Checksums-Sha256: hello_1\.0-1\.dsc has size 11, Files says 10/);
  refused(changes({ 'Checksums-Sha1': `\n ${SHA1} 10 hello_1.0-1.dsc` }), /field Checksums-Sha1: lists 1 files, Files lists 2/);
  refused(changes({ 'Checksums-Sha256': null }), /no Checksums-Sha256 field/);
  refused(changes({ Distribution: null }), /no Distribution field/);
  refused(changes({ Files: `\n ${MD5} 10 hello_1.0-1.dsc` }), /field Files: expected 5 columns/);
  refused(changes({ Files: `\n ${'A'.repeat(32)} 10 misc optional hello_1.0-1.dsc\n ${MD5} 20 misc optional hello_1.0-1_all.deb` }), /is not 32 lowercase hex digits/);
  refused(changes({ Source: 'Hello World' }), /field Source/);
  refused(changes({ Version: 'not a version!' }), /field Version/);
  refused(changes({ Architecture: 'amd64 ../x' }), /field Architecture/);
  refused(`${changes()}\nExtra: paragraph\n`, /blank line/);
  refused(changes({ Files: `\n ${MD5} 10 misc optional a.dsc\n ${MD5} 10 misc optional a.dsc` }), /a\.dsc is listed twice/);
});

test.run();
