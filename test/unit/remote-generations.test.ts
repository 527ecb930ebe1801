// Remote generations (publish/remote-generations.ts) on the directory byte store (the S3 one
// runs the same code in test/integration/s3-generations.test.ts): a generation one server
// uploaded is copied whole by another, with mtimes kept; an object whose bytes are not the
// listed ones is refused and no copy is left, and one whose body runs past the listed size is
// read no further than that, as is a listing past its bound; pruning after the pointer moved removes old
// listings, never-committed ones and the objects no kept listing names.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generations, type Draft } from '../../repo-server/publish/generations.js';
import { RemoteGenerations } from '../../repo-server/publish/remote-generations.js';
import { Readable } from 'node:stream';
import { Corrupt } from '../../repo-server/model/errors.js';
import { DirectoryBytes } from '../../repo-server/storage/bytes-dir.js';
import type { ByteRange } from '../../repo-server/storage/bytes.js';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'remote-generations-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

const dist = { prefix: '.', distribution: 'stable' };
const keep = { keepGenerations: 2, keepSeconds: 0 };

/** A directory store whose GETs of keys matching `runaway.key` answer `total` bytes of junk, counting what was read. */
class Runaway extends DirectoryBytes {
  runaway: { key: RegExp; total: number } | undefined;
  pulled = 0;
  override async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const r = this.runaway;
    if (!r || !r.key.test(key)) return super.get(key, range);
    const self = this;
    return Readable.from(
      (function* () {
        for (let left = r.total; left > 0; left -= 64 * 1024) {
          self.pulled += 64 * 1024;
          yield Buffer.alloc(64 * 1024, 1);
        }
      })(),
      { objectMode: false, highWaterMark: 1 },
    );
  }
}

/** One server: its own generations directory and public tree, the shared store. */
function server(name: string, store: DirectoryBytes): { g: Generations; remote: RemoteGenerations } {
  const g = new Generations(join(root, name, 'public'), join(root, name, 'gen'), keep);
  const remote = new RemoteGenerations(store, g, join(root, name, 'gen'), keep);
  g.onPrune = (dir) => remote.forget(dir);
  return { g, remote };
}

/** Publishes one generation with `packages` as its index through `s`, committed as `live` was. */
async function publish(s: { g: Generations; remote: RemoteGenerations }, live: number, packages: string, date: number): Promise<Draft> {
  const present = await s.remote.prepare(dist, live, date);
  const d = await s.g.begin(dist, live);
  await mkdir(join(d.dir, 'main'), { recursive: true });
  await writeFile(join(d.dir, 'main', 'Packages'), packages);
  await writeFile(join(d.dir, 'InRelease'), `signed ${packages}`);
  await s.g.seal(d, { generation: d.generation, time: date, date, indexes: {}, byHash: [] }, [join(d.dir, 'main', 'Packages'), join(d.dir, 'InRelease')]);
  await s.remote.upload(d, date, present);
  await s.g.swap(d, date);
  await s.g.idle();
  return d;
}

test('a generation uploaded by one server is copied whole by another, mtimes kept', async () => {
  const store = new DirectoryBytes(join(root, 'store1'));
  const a = server('a1', store);
  const b = server('b1', store);
  const d = await publish(a, 0, 'one', 1_700_000_000);
  const dir = await b.remote.ensure(dist, d.generation);
  assert.is(await readFile(join(dir, 'main', 'Packages'), 'utf8'), 'one');
  assert.is(await readFile(join(dir, 'InRelease'), 'utf8'), 'signed one');
  assert.is((await stat(join(dir, 'InRelease'))).mtimeMs, (await stat(join(d.dir, 'InRelease'))).mtimeMs);
  assert.is(await b.g.liveGeneration(dist), d.generation, 'the copy became the local live generation');
});

test('an object whose bytes are not the listed ones is refused, and no copy is left', async () => {
  const store = new DirectoryBytes(join(root, 'store2'));
  const a = server('a2', store);
  const b = server('b2', store);
  const d = await publish(a, 0, 'two', 1_700_000_000);
  const listing = JSON.parse(await readFile(join(root, 'store2', 'generations', '_root', 'stable', 'gen', `${d.generation}.json`), 'utf8')) as { files: Record<string, { sha256: string }> };
  const sha = listing.files['main/Packages']!.sha256;
  // Tampered behind the store's back (a bad disk, a rogue writer): same key, other bytes.
  await writeFile(join(root, 'store2', 'generations', '_root', 'stable', 'objects', sha), 'owt');
  const err = await b.remote.ensure(dist, d.generation).then(() => undefined, (e: unknown) => e as Error);
  assert.match(err?.message ?? 'resolved', /objects\/[0-9a-f]{64} reads back as [0-9a-f]{64}, expected [0-9a-f]{64}/);
  assert.instance(err, Corrupt);
  const left = await readdir(join(root, 'b2', 'gen', '_root', 'stable')).catch(() => [] as string[]);
  assert.equal(left.filter((n) => n === String(d.generation)), [], 'no generation directory from the refused copy');
});

test('an object whose body runs past its listed size is cut off there, and no copy is left', async () => {
  const store = new Runaway(join(root, 'store4'));
  const a = server('a4', store);
  const b = server('b4', store);
  const d = await publish(a, 0, 'four', 1_700_000_000);
  // 64 MiB offered for a 4-byte object: a server reading it all would fill its disk.
  store.runaway = { key: /\/objects\//, total: 64 << 20 };
  const err = await b.remote.ensure(dist, d.generation).then(() => undefined, (e: unknown) => e as Error);
  assert.match(err?.message ?? 'resolved', /is longer than its recorded \d+ bytes; download stopped/);
  // Each object fetched at once stops after its first chunk (the stream may have read one ahead).
  assert.ok(store.pulled <= 1 << 20, `read ${store.pulled} bytes of the runaway bodies`);
  const left = await readdir(join(root, 'b4', 'gen', '_root', 'stable')).catch(() => [] as string[]);
  assert.equal(left.filter((n) => n === String(d.generation)), [], 'no generation directory from the refused copy');
});

test('a listing over its bound is refused without reading the rest, and so is one that is not JSON', async () => {
  const store = new Runaway(join(root, 'store5'));
  const a = server('a5', store);
  const b = server('b5', store);
  const d = await publish(a, 0, 'five', 1_700_000_000);
  store.runaway = { key: /\/gen\/\d+\.json$/, total: 1 << 30 };
  const err = await b.remote.ensure(dist, d.generation).then(() => undefined, (e: unknown) => e as Error);
  assert.instance(err, Corrupt);
  assert.match(err?.message ?? 'resolved', /gen\/1\.json is over 67108864 bytes/);
  assert.ok(store.pulled <= (64 << 20) + (128 << 10), `read ${store.pulled} bytes of a 1 GiB listing`);
  store.runaway = undefined;
  await writeFile(join(root, 'store5', 'generations', '_root', 'stable', 'gen', `${d.generation}.json`), '{"files":');
  const bad = await b.remote.ensure(dist, d.generation).then(() => undefined, (e: unknown) => e as Error);
  assert.instance(bad, Corrupt);
  assert.match(bad?.message ?? 'resolved', /gen\/1\.json is not a listing/);
});

test('the next publish deletes listings beyond the kept ones, uncommitted ones, and unnamed objects', async () => {
  const store = new DirectoryBytes(join(root, 'store3'));
  const a = server('a3', store);
  const objects = async (): Promise<string[]> => (await readdir(join(root, 'store3', 'generations', '_root', 'stable', 'objects'))).sort();
  const listings = async (): Promise<string[]> => (await readdir(join(root, 'store3', 'generations', '_root', 'stable', 'gen'))).sort();
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
  let live = 0;
  for (const [i, content] of ['p1', 'p2', 'p3'].entries()) live = (await publish(a, live, content, 1_700_000_000 + i)).generation;
  assert.ok((await objects()).includes(sha('p1')));
  // A publish that uploaded but was never committed (the pointer stayed at `live`, 3); it
  // already pruned generation 1 (only 2 and 3 are kept behind a pointer at 3).
  await publish(a, live, 'never-live', 1_700_000_010);
  assert.equal(await listings(), ['2.json', '3.json', '4.json']);
  assert.not.ok((await objects()).includes(sha('p1')), "generation 1's objects went with it");
  assert.ok((await objects()).includes(sha('never-live')));
  const d = await publish(a, live, 'p5', 1_700_000_020);
  assert.is(d.generation, 4, 'the uncommitted number is reused');
  assert.equal(await listings(), ['2.json', '3.json', '4.json']);
  const named = new Set<string>();
  for (const l of await listings()) {
    const x = JSON.parse(await readFile(join(root, 'store3', 'generations', '_root', 'stable', 'gen', l), 'utf8')) as { files: Record<string, { sha256: string }> };
    for (const f of Object.values(x.files)) named.add(f.sha256);
  }
  assert.ok(named.has(sha('p5')), '4.json is the committed-to-be publish, not the failed one');
  const left = await objects();
  assert.not.ok(left.includes(sha('never-live')), 'the never-live publish left no object');
  assert.ok(left.every((o) => named.has(o)), 'every object is named by a kept listing');
  assert.ok([...named].every((s) => left.includes(s)), 'every named object is there');
});

test.run();
