// The GC race of shared storage (service/blob-gc.ts, service/uploads.ts), played out
// deterministically: two "servers" (two BlobStores, each with its own cache and its own pins)
// share one metadata store and one real byte store (a directory). Server A uploads a file whose
// blob is stored but no longer named (so A skips writing it), and is held before its commit;
// server B's GC drops that blob meanwhile. Both orders of the two commits are played:
//   1. B's drop lands first, then A's upload names the blob: A writes it again;
//   2. A's upload lands first, then B's drop (etcd replays a commit that lost the race against
//      the newer replica without re-deciding it): B gives the location back.
// Either way the blob ends named, its bytes readable on both servers. And with S3 GC leaves the
// object to the orphan sweep, which deletes only past the grace (service/blob-sweep.ts).

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Mutex } from '../../lib/concurrency.js';
import { Inspections } from '../../repo-server/packages/inspections.js';
import { collectBlobs } from '../../repo-server/service/blob-gc.js';
import { Uploads, type UploadPart } from '../../repo-server/service/uploads.js';
import { BlobStore } from '../../repo-server/storage/blobs.js';
import { DirectoryBytes } from '../../repo-server/storage/bytes-dir.js';
import { blobKey } from '../../repo-server/storage/bytes.js';
import type { Op } from '../../repo-server/storage/records.js';
import { Store } from '../../repo-server/storage/store.js';

interface World {
  dir: string;
  store: Store;
  remote: DirectoryBytes;
  a: BlobStore;
  b: BlobStore;
  uploadsA: Uploads;
  inspections: Inspections;
  data: Buffer;
  sha: string;
}

async function world(): Promise<World> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-gcrace-'));
  await mkdir(join(dir, 'db'));
  const store = await Store.open(join(dir, 'db'));
  const remote = new DirectoryBytes(join(dir, 'remote'));
  const a = new BlobStore(join(dir, 'a'), remote);
  const b = new BlobStore(join(dir, 'b'), remote);
  await a.init();
  await b.init();
  const inspections = new Inspections({ threads: 0 });
  const uploadsA = new Uploads({ store, blobs: a, writes: new Mutex(), inspections });
  const data = randomBytes(64 * 1024);
  const sha = createHash('sha256').update(data).digest('hex');
  // Stored once, then its upload directory removed without a collection: named by no one.
  await uploadsA.receive('first', parts([{ filename: 'x.bin', data }]), 1 << 30);
  await store.commit([{ op: 'up-rm', dir: 'first' }]);
  assert.ok(store.blobs.has(sha) && !store.referencedBlobs().has(sha));
  return { dir, store, remote, a, b, uploadsA, inspections, data, sha };
}

async function* parts(files: { filename: string; data: Buffer }[], gate?: Promise<void>): AsyncIterable<UploadPart> {
  for (const f of files) yield { filename: f.filename, body: Readable.from([f.data]) };
  await gate; // held here: every part received and decided, the commit not made yet
}

async function bothRead(w: World): Promise<void> {
  assert.ok(w.store.blobs.has(w.sha), 'the blob is named');
  assert.ok(w.store.referencedBlobs().has(w.sha), 'the new upload names it');
  for (const s of [w.a, w.b]) {
    const loc = w.store.blobs.get(w.sha)!;
    await s.ensureLocal(w.sha, loc);
    assert.ok(s.readSync(w.sha, loc).equals(w.data), 'readable byte-exact');
  }
  assert.ok(await w.remote.stat(blobKey(w.sha)), 'the object is there');
}

test("B's GC drop lands first: A's upload, which reused the blob, writes it again", async () => {
  const w = await world();
  try {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const upload = w.uploadsA.receive('second', parts([{ filename: 'x.bin', data: w.data }], gate), 1 << 30);
    await new Promise((r) => setTimeout(r, 50)); // A has decided: the blob exists, no write
    const gc = await collectBlobs(w.store, w.b); // B sees no reference and no pin of its own
    assert.is(gc.dropped, 1);
    assert.not.ok(w.store.blobs.has(w.sha));
    open();
    assert.equal(await upload, ['second/x.bin']);
    await bothRead(w);
  } finally {
    await w.inspections.close();
    await w.store.close();
    await rm(w.dir, { recursive: true, force: true });
  }
});

test("A's upload lands first, then B's drop (replayed as planned): B gives the location back", async () => {
  const w = await world();
  try {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const upload = w.uploadsA.receive('second', parts([{ filename: 'x.bin', data: w.data }], gate), 1 << 30);
    await new Promise((r) => setTimeout(r, 50));
    // B's view: planned before A's commit; its commit lands after it, unchanged.
    const storeB = new Proxy(w.store, {
      get(target, prop, receiver) {
        if (prop === 'commit')
          return async (batch: Op[]) => {
            if (batch.some((o) => o.op === 'blob-del')) {
              open();
              await upload;
            }
            return target.commit(batch);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await collectBlobs(storeB, w.b);
    await bothRead(w);
  } finally {
    await w.inspections.close();
    await w.store.close();
    await rm(w.dir, { recursive: true, force: true });
  }
});

test.run();
