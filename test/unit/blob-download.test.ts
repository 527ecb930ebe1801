// The read-through cache's download (storage/blobs.ts ensureLocal) against a byte store that
// misbehaves: a real directory store whose answer is replaced for one key by too many bytes
// (a runaway body: the download must stop just past the recorded size, not read it all), too
// few, or the right length with the wrong content. Every case fails the read, names the blob,
// and leaves neither a cache file nor a temp file behind.

import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../../repo-server/storage/blobs.js';
import { DirectoryBytes } from '../../repo-server/storage/bytes-dir.js';
import { blobKey, type ByteRange } from '../../repo-server/storage/bytes.js';

const CHUNK = 64 * 1024;

/** A directory store whose GET of one key answers `answer()` instead of the stored object. */
class Tampered extends DirectoryBytes {
  answer: (() => Readable) | undefined;
  override async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    return this.answer ? this.answer() : super.get(key, range);
  }
}

/** `total` bytes of `fill` in 64 KiB chunks, counting what the reader actually pulled. */
function counted(total: number, fill: number): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const gen = function* (): Generator<Buffer> {
    for (let left = total; left > 0; left -= CHUNK) {
      const n = Math.min(CHUNK, left);
      pulled += n;
      yield Buffer.alloc(n, fill);
    }
  };
  return { stream: Readable.from(gen(), { objectMode: false, highWaterMark: 1 }), pulled: () => pulled };
}

async function setup(): Promise<{ dir: string; remote: Tampered; blobs: BlobStore; sha: string; size: number }> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-dl-'));
  const remote = new Tampered(join(dir, 'remote'));
  const blobs = new BlobStore(join(dir, 'data'), remote);
  await blobs.init();
  const data = Buffer.alloc(3 * CHUNK + 17, 7);
  const sha = createHash('sha256').update(data).digest('hex');
  await remote.put(blobKey(sha), { data, size: data.length, sha256: sha });
  return { dir, remote, blobs, sha, size: data.length };
}

async function nothingLeft(blobs: BlobStore, sha: string): Promise<void> {
  assert.equal(await blobs.listLoose(), [], 'no cache file named');
  assert.equal(await blobs.leftovers(), [], 'no temp file left');
  assert.equal((await readdir(blobs.looseDir)).filter((f) => f.includes(sha)), []);
}

async function fails(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

test('a well-behaved store: the blob lands in the cache byte-exact', async () => {
  const { dir, blobs, sha, size } = await setup();
  try {
    await blobs.ensureLocal(sha, { pack: '', offset: 0, size });
    const got = await readFile(blobs.loosePath(sha));
    assert.is(got.length, size);
    assert.is(createHash('sha256').update(got).digest('hex'), sha);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('too many bytes: the download stops just past the recorded size and keeps nothing', async () => {
  const { dir, remote, blobs, sha, size } = await setup();
  try {
    // 256 MiB on offer; the reader may pull what it already buffered, not the whole body.
    const body = counted(256 << 20, 7);
    remote.answer = () => body.stream;
    await fails(blobs.ensureLocal(sha, { pack: '', offset: 0, size }), new RegExp(`${sha} .*longer than its recorded ${size} bytes`));
    assert.ok(body.pulled() <= size + 4 * CHUNK, `pulled ${body.pulled()} bytes for a ${size}-byte blob`);
    assert.ok(body.stream.destroyed, 'the body is closed, not left reading');
    await nothingLeft(blobs, sha);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('too few bytes: a short body fails naming the sizes, nothing kept', async () => {
  const { dir, remote, blobs, sha, size } = await setup();
  try {
    remote.answer = () => counted(size - 100, 7).stream;
    await fails(blobs.ensureLocal(sha, { pack: '', offset: 0, size }), new RegExp(`${sha} .*ended after ${size - 100} of its ${size} bytes`));
    await nothingLeft(blobs, sha);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the right length, the wrong bytes: the SHA-256 check refuses it, nothing kept', async () => {
  const { dir, remote, blobs, sha, size } = await setup();
  try {
    remote.answer = () => counted(size, 8).stream;
    await fails(blobs.ensureLocal(sha, { pack: '', offset: 0, size }), new RegExp(`${sha} .*reads back as [0-9a-f]{64}`));
    await nothingLeft(blobs, sha);
    // The store answers right again: the next read fetches and keeps it.
    remote.answer = undefined;
    await blobs.ensureLocal(sha, { pack: '', offset: 0, size });
    assert.equal(await blobs.listLoose(), [sha]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
