import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32, gunzipSync } from 'node:zlib';
import { hash, randomBytes } from 'node:crypto';
import { ChunkedGzipIndex, crc32Combine, indexItem, type ChunkedIndex, type IndexItem } from '../../repo-server/publish/chunked-gzip.js';
import { sh } from '../support/project.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('crc32Combine agrees with zlib on random splits', () => {
  for (let i = 0; i < 200; i++) {
    const a = randomBytes(Math.floor(Math.random() * 5000));
    const b = randomBytes(Math.floor(Math.random() * 70000));
    assert.is(crc32Combine(crc32(a), crc32(b), b.length), crc32(Buffer.concat([a, b])));
  }
  assert.is(crc32Combine(123, crc32(Buffer.alloc(0)), 0), 123);
});

const items = (names: string[]): IndexItem[] => names.map((name) => indexItem(`P${name}`, name, () => `Package: ${name}\nVersion: 1.0\nDescription: ${name} package\n`));

const build = (index: ChunkedGzipIndex, its: IndexItem[], keepText: boolean): Promise<ChunkedIndex> => index.build(index.plan(its, ''), keepText);
const gzipOf = (b: ChunkedIndex): Buffer => Buffer.concat(b.pieces);

test('chunked Packages.gz is one valid gzip member; one insertion recompresses one chunk', async () => {
  const names = Array.from({ length: 5000 }, (_, i) => `pkg-${String(i).padStart(5, '0')}`);
  const index = new ChunkedGzipIndex();
  const first = await build(index, items(names), true);
  const expected = names.map((n) => `Package: ${n}\nVersion: 1.0\nDescription: ${n} package\n\n`).join('');
  assert.is(gunzipSync(gzipOf(first)).toString(), expected);
  assert.is(first.text!.toString(), expected);
  assert.ok(first.chunks > 50, `${first.chunks} chunks`);
  assert.is(first.compressed, first.chunks);

  const more = [...names.slice(0, 2500), 'pkg-02499a', ...names.slice(2500)];
  const second = await build(index, items(more), false);
  assert.ok(second.compressed <= 2, `recompressed ${second.compressed} chunks`);
  assert.is(second.text, undefined);
  const text = gunzipSync(gzipOf(second)).toString();
  assert.ok(text.includes('Package: pkg-02499a\n'));
  assert.is(text.length, second.length);

  // the system's gzip agrees (CRC and length trailer checked)
  const dir = await mkdtemp(join(tmpdir(), 'chunked-'));
  try {
    await writeFile(join(dir, 'Packages.gz'), gzipOf(second));
    const r = await sh(`gzip -t ${join(dir, 'Packages.gz')} && zcat ${join(dir, 'Packages.gz')} | grep -c '^Package: '`);
    assert.is(r.stdout.trim(), String(more.length));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a replaced package inside a chunk (same first item, same count) is recompressed, not reused', async () => {
  const names = Array.from({ length: 3000 }, (_, i) => `pkg-${String(i).padStart(5, '0')}`);
  const index = new ChunkedGzipIndex();
  await build(index, items(names), false);
  // Same names and count, one stanza changed in the middle of its chunk (a new version).
  const changed = items(names).map((it) =>
    it.id === 'Ppkg-01500' ? indexItem('Ppkg-01500 v2', 'pkg-01500', () => 'Package: pkg-01500\nVersion: 2.0\nDescription: pkg-01500 package\n') : it,
  );
  const second = await build(index, changed, false);
  assert.is(second.compressed, 1);
  const text = gunzipSync(gzipOf(second)).toString();
  assert.ok(text.includes('Package: pkg-01500\nVersion: 2.0\n'));
  assert.not.ok(text.includes('Package: pkg-01500\nVersion: 1.0\n'));
});

test('appending: only the tail is compressed and hashed again; digests and sizes are those of the whole file', async () => {
  const names = Array.from({ length: 20000 }, (_, i) => `app-${String(i).padStart(6, '0')}-${'x'.repeat(i % 40)}`);
  const all = items(names);
  const index = new ChunkedGzipIndex();
  const check = (b: ChunkedIndex): void => {
    const gz = gzipOf(b);
    assert.is(b.size, gz.length);
    assert.is(b.sha256, hash('sha256', gz, 'hex'));
    assert.is(b.sha512, hash('sha512', gz, 'hex'));
  };
  const first = await build(index, all.slice(0, 19000), false);
  check(first);
  assert.is(first.unchangedPrefix, 0, 'no base yet');
  index.written = { path: '/gen/1/Packages.gz', size: first.size };

  const second = await build(index, all.slice(0, 19001), false);
  check(second);
  assert.ok(second.compressed <= 2, `recompressed ${second.compressed}`);
  assert.equal(second.base, { path: '/gen/1/Packages.gz', size: first.size });
  // The new file is the old one up to unchangedPrefix, then a new tail.
  assert.ok(second.unchangedPrefix > first.size * 0.9, `${second.unchangedPrefix} of ${first.size}`);
  assert.ok(gzipOf(first).subarray(0, second.unchangedPrefix).equals(gzipOf(second).subarray(0, second.unchangedPrefix)));
  assert.is(gunzipSync(gzipOf(second)).toString().split('\n\n').length - 1, 19001);

  // Not written since: no base for the next build, whatever it shares.
  const third = await build(index, all, false);
  check(third);
  assert.is(third.base, undefined);
  assert.is(third.unchangedPrefix, 0);

  // A change in the middle: hashes resume there, still those of the whole file.
  const middle = [...all.slice(0, 7000), ...all.slice(7001)];
  index.written = { path: '/gen/3/Packages.gz', size: third.size };
  const fourth = await build(index, middle, false);
  check(fourth);
  assert.ok(fourth.unchangedPrefix > 0 && fourth.unchangedPrefix < third.size * 0.5, `${fourth.unchangedPrefix}`);
});

test('plan digests: same items in the same order and salt, same digest', () => {
  const index = new ChunkedGzipIndex();
  const names = Array.from({ length: 3000 }, (_, i) => `d-${i}`);
  const a = index.plan(items(names), 's').digest;
  assert.is(index.plan(items(names), 's').digest, a);
  assert.is.not(index.plan(items(names), 't').digest, a);
  assert.is.not(index.plan(items([...names].reverse()), 's').digest, a);
  assert.is.not(index.plan(items(names.slice(1)), 's').digest, a);
});

test.run();
