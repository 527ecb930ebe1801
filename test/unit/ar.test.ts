import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AR_MAGIC, ArFormatError, decodeMemberHeader, encodeMemberHeader, memberPadding } from '../../deb/ar.js';
import { readArIndex } from '../../deb/reader.js';
import { sh } from '../support/project.js';

test('member headers are fixed-width, uid/gid 0, mode 100644', () => {
  const h = encodeMemberHeader('debian-binary', 4, 1700000000);
  assert.is(h.length, 60);
  assert.is(h.toString('latin1'), 'debian-binary   1700000000  0     0     100644  4         `\n');
  assert.equal(decodeMemberHeader(h), { name: 'debian-binary', mtime: 1700000000, uid: 0, gid: 0, mode: 0o100644, size: 4 });
});

test('binutils ar reads what we write, odd sizes padded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ar-test-'));
  try {
    const a = Buffer.from('2.0\n');
    const b = Buffer.from('odd');
    const file = join(dir, 'x.a');
    await writeFile(file, Buffer.concat([AR_MAGIC, encodeMemberHeader('debian-binary', a.length, 0), a, memberPadding(a.length), encodeMemberHeader('b.txt', b.length, 0), b, memberPadding(b.length)]));
    assert.is((await sh(`ar t ${file}`)).stdout, 'debian-binary\nb.txt\n');
    assert.is((await sh(`ar p ${file} b.txt`)).stdout, 'odd');
    assert.equal((await readArIndex(file)).map((m) => [m.name, m.size]), [['debian-binary', 4], ['b.txt', 3]]);
    const verbose = (await sh(`ar tv ${file}`)).stdout;
    assert.match(verbose, /rw-r--r-- 0\/0/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses names and sizes ar cannot hold', () => {
  assert.throws(() => encodeMemberHeader('a-name-longer-than-15', 1, 0), (e: unknown) => e instanceof ArFormatError);
  assert.throws(() => encodeMemberHeader('x', 10_000_000_000, 0), (e: unknown) => e instanceof ArFormatError);
  assert.ok(encodeMemberHeader('data.tar.xz', 9_999_999_999, 0).toString().includes('9999999999'));
});

test.run();
