import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32, gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { ChunkedGzipIndex, crc32Combine, type IndexItem } from '../../repo-server/publish/chunked-gzip.js';
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

const items = (names: string[]): IndexItem[] =>
  names.map((name) => ({ id: `P${name}`, name, render: () => `Package: ${name}\nVersion: 1.0\nDescription: ${name} package\n` }));

test('chunked Packages.gz is one valid gzip member; one insertion recompresses one chunk', async () => {
  const names = Array.from({ length: 5000 }, (_, i) => `pkg-${String(i).padStart(5, '0')}`);
  const index = new ChunkedGzipIndex();
  const first = await index.build(items(names), true);
  const expected = names.map((n) => `Package: ${n}\nVersion: 1.0\nDescription: ${n} package\n\n`).join('');
  assert.is(gunzipSync(first.gzip).toString(), expected);
  assert.is(first.text!.toString(), expected);
  assert.ok(first.chunks > 50, `${first.chunks} chunks`);
  assert.is(first.compressed, first.chunks);

  const more = [...names.slice(0, 2500), 'pkg-02499a', ...names.slice(2500)];
  const second = await index.build(items(more), false);
  assert.ok(second.compressed <= 2, `recompressed ${second.compressed} chunks`);
  assert.is(second.text, undefined);
  const text = gunzipSync(second.gzip).toString();
  assert.ok(text.includes('Package: pkg-02499a\n'));
  assert.is(text.length, second.length);

  // the system's gzip agrees (CRC and length trailer checked)
  const dir = await mkdtemp(join(tmpdir(), 'chunked-'));
  try {
    await writeFile(join(dir, 'Packages.gz'), second.gzip);
    const r = await sh(`gzip -t ${join(dir, 'Packages.gz')} && zcat ${join(dir, 'Packages.gz')} | grep -c '^Package: '`);
    assert.is(r.stdout.trim(), String(more.length));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a replaced package inside a chunk (same first item, same count) is recompressed, not reused', async () => {
  const names = Array.from({ length: 3000 }, (_, i) => `pkg-${String(i).padStart(5, '0')}`);
  const index = new ChunkedGzipIndex();
  await index.build(items(names), false);
  // Same names and count, one stanza changed in the middle of its chunk (a new version).
  const changed = items(names).map((it) =>
    it.name === 'pkg-01500' ? { id: 'Ppkg-01500 v2', name: it.name, render: () => 'Package: pkg-01500\nVersion: 2.0\nDescription: pkg-01500 package\n' } : it,
  );
  const second = await index.build(changed, false);
  assert.is(second.compressed, 1);
  const text = gunzipSync(second.gzip).toString();
  assert.ok(text.includes('Package: pkg-01500\nVersion: 2.0\n'));
  assert.not.ok(text.includes('Package: pkg-01500\nVersion: 1.0\n'));
});

test.run();
