// The size bound of the S3 read-through cache (storage/blob-cache.ts through BlobStore), with a
// real directory byte store as the remote and an injected clock (nothing sleeps): filled past
// the bound, the least recently used files go down to the low-water mark and come back on the
// next read; a file with a stream open survives eviction and reads whole; a pinned one (an
// upload's source) survives; the directory backend refuses a bound; bad flags exit 2 naming it.

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../../repo-server/storage/blobs.js';
import { DirectoryBytes } from '../../repo-server/storage/bytes-dir.js';
import { blobKey } from '../../repo-server/storage/bytes.js';
import type { BlobLocation } from '../../repo-server/storage/records.js';
import { CLI } from '../support/project.js';

const KiB = 1024;
const SIZE = 100 * KiB;

interface Fixture {
  dir: string;
  blobs: BlobStore;
  clock: { t: number };
  shas: string[];
  data: Map<string, Buffer>;
  loc: BlobLocation;
}

/** `n` blobs of 100 KiB on the remote; a cache bounded at 10 of them, low water 9. */
async function fixture(n: number): Promise<Fixture> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-cache-'));
  const remote = new DirectoryBytes(join(dir, 'remote'));
  const clock = { t: 1_000_000 };
  const blobs = new BlobStore(join(dir, 'data'), remote, { maxBytes: 10 * SIZE, recentMs: 5_000, now: () => clock.t });
  await blobs.init();
  const shas: string[] = [];
  const data = new Map<string, Buffer>();
  for (let i = 0; i < n; i++) {
    const buf = randomBytes(SIZE);
    const sha = createHash('sha256').update(buf).digest('hex');
    await remote.put(blobKey(sha), { data: buf, size: SIZE, sha256: sha });
    shas.push(sha);
    data.set(sha, buf);
  }
  return { dir, blobs, clock, shas, data, loc: { pack: '', offset: 0, size: SIZE } };
}

/** Reads blob i through the cache, one clock second after the last read. */
async function read(f: Fixture, i: number): Promise<void> {
  f.clock.t += 1000;
  await f.blobs.ensureLocal(f.shas[i]!, f.loc);
  await f.blobs.cache!.evict(); // wait for the run a new file may have started
}

const cached = (f: Fixture): number[] => f.shas.flatMap((s, i) => (existsSync(f.blobs.loosePath(s)) ? [i] : []));

test('past the bound, the least recently used go down to the low-water mark; a read fetches one back', async () => {
  const f = await fixture(14);
  try {
    for (let i = 0; i < 10; i++) await read(f, i);
    assert.equal(cached(f), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'at the bound: nothing evicted');
    await read(f, 3); // used again: now the most recent of the old ones
    await read(f, 10);
    // 11 files, bound 10, low water 9: the two least recently used (0 and 1) went.
    assert.equal(cached(f), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.is(f.blobs.cache!.bytes, 9 * SIZE);
    await read(f, 11);
    await read(f, 12);
    // 2 (oldest) and then 4 (3 was read again after it) went.
    assert.equal(cached(f), [3, 5, 6, 7, 8, 9, 10, 11, 12]);
    await read(f, 0); // evicted earlier: fetched again, byte-exact
    assert.ok((await readFile(f.blobs.loosePath(f.shas[0]!))).equals(f.data.get(f.shas[0]!)!));
    assert.ok(cached(f).includes(0));
    assert.ok(f.blobs.cache!.bytes <= 10 * SIZE);
    assert.equal(await f.blobs.leftovers(), []);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('a stream open on the oldest file keeps it through evictions and reads it whole', async () => {
  const f = await fixture(14);
  try {
    for (let i = 0; i < 10; i++) await read(f, i);
    const stream = f.blobs.stream(f.shas[0]!, f.loc, 0, SIZE - 1);
    const chunks: Buffer[] = [];
    const whole = new Promise<Buffer>((resolve, reject) => {
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
    });
    stream.pause();
    f.clock.t += 60_000; // file 0 is long past the "recent" window: only its stream protects it
    for (let i = 10; i < 14; i++) await read(f, i);
    assert.ok(cached(f).includes(0), 'the file being read is not evicted');
    assert.not.ok(cached(f).includes(1), 'the next oldest went instead');
    stream.resume();
    assert.ok((await whole).equals(f.data.get(f.shas[0]!)!), 'the concurrent read is whole');
    if (!stream.closed) await new Promise<void>((r) => stream.once('close', () => r())); // 'close' follows 'end'
    await read(f, 1); // over the bound again: 0 is the least recently used

    assert.not.ok(cached(f).includes(0), `once closed, the file is evictable again: ${cached(f).join(' ')}`);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('a pinned blob (the source of an upload in flight) and a recently used one are never evicted', async () => {
  const f = await fixture(13);
  try {
    for (let i = 0; i < 10; i++) await read(f, i);
    f.blobs.pin(f.shas[0]!);
    f.clock.t += 60_000;
    await read(f, 10);
    await read(f, 11);
    assert.ok(cached(f).includes(0));
    assert.not.ok(cached(f).includes(1));
    f.blobs.unpin(f.shas[0]!);
    // All files recent (within 5 s): the bound is exceeded for a while rather than break a reader.
    const g = await fixture(12);
    try {
      for (let i = 0; i < 12; i++) {
        await g.blobs.ensureLocal(g.shas[i]!, g.loc);
        await g.blobs.cache!.evict();
      }
      assert.is(cached(g).length, 12);
    } finally {
      await rm(g.dir, { recursive: true, force: true });
    }
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('a restarted server learns its cache from the disk and keeps bounding it', async () => {
  const f = await fixture(12);
  try {
    for (let i = 0; i < 10; i++) await read(f, i);
    const again = new BlobStore(join(f.dir, 'data'), new DirectoryBytes(join(f.dir, 'remote')), { maxBytes: 10 * SIZE, recentMs: 0 });
    await again.init();
    assert.is(again.cache!.bytes, 10 * SIZE);
    await again.ensureLocal(f.shas[10]!, f.loc);
    await again.cache!.evict();
    assert.is(again.cache!.bytes, 9 * SIZE);
  } finally {
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('the directory backend refuses a bound: its pool is the only copy', () => {
  assert.throws(() => new BlobStore('/nonexistent', undefined, { maxBytes: 1 }), /only copy/);
});

test('--s3-cache-max and --blob-grace: a bad value exits 2 naming the flag', () => {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' };
  const base = ['serve', '--listen', '127.0.0.1:1', '--data', '/nonexistent', '--blobs', 's3://bucket-x', '--s3-endpoint', 'http://127.0.0.1:1'];
  for (const [args, re] of [
    [['--s3-cache-max', '20X'], /--s3-cache-max must be a size/],
    [['--blob-grace', 'soon'], /--blob-grace must be a duration/],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, ...base, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
  }
  const r = spawnSync(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:1', '--data', '/nonexistent', '--s3-cache-max', '1G'], { env, encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /--s3-cache-max needs --blobs/);
});

test.run();
