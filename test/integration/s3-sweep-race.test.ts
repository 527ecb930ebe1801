// The orphan sweep's delete window (service/blob-sweep.ts, storage/sweep-claims.ts), played out
// deterministically on a real radosgw, both embedded (journaled store, claims in the process)
// and in a group (two replicas of a real 3-member etcd, claims on etcd). An old object no one
// names any more (its upload directory removed, its location dropped by GC) is uploaded again by
// another "server" exactly while the sweep works on it:
//   1. the sweep has claimed the blob; the upload PUTs and commits before the sweep's DELETE:
//      the upload sees the claim once committed, waits for the sweep, and PUTs again (before:
//      the DELETE removed the object the new upload names);
//   2. the upload commits before the sweep's claim: the claim fails (the blob is named) and
//      nothing is deleted.
// Either way the blob ends named, on S3 and readable byte-exact by another server.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mutex } from '../../lib/concurrency.js';
import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { Inspections } from '../../repo-server/packages/inspections.js';
import { collectBlobs } from '../../repo-server/service/blob-gc.js';
import { sweepOrphans, type SweepHooks } from '../../repo-server/service/blob-sweep.js';
import { Uploads, type UploadPart } from '../../repo-server/service/uploads.js';
import { BlobStore } from '../../repo-server/storage/blobs.js';
import { blobKey } from '../../repo-server/storage/bytes.js';
import { S3Bytes } from '../../repo-server/storage/bytes-s3.js';
import { EtcdStore } from '../../repo-server/storage/etcd-store.js';
import type { MetadataStore } from '../../repo-server/storage/interfaces.js';
import { Store } from '../../repo-server/storage/store.js';
import { EtcdSweepClaims, LocalSweepClaims, type SweepClaims } from '../../repo-server/storage/sweep-claims.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startAll } from '../support/start-all.js';

const t = suite('S3 orphan sweep against a re-upload of the same blob');
let s3: S3Server | undefined;
let etcd: EtcdCluster | undefined;
const bucket = `debpkg-sweeprace-${process.pid}`;
const HOUR = 3_600_000;
let run = 0;

const on = (prefix: string): S3Bytes =>
  new S3Bytes({ endpoint: s3!.endpoint, region: s3!.region, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, bucket, prefix, rangeRequests: false });

/** Two servers: A uploads, B sweeps (and reads); one metadata store each (or one shared, embedded). */
interface World {
  dir: string;
  remote: S3Bytes;
  storeA: MetadataStore;
  storeB: MetadataStore & { catchUp?(): Promise<void> };
  a: BlobStore;
  b: BlobStore;
  claimsB: SweepClaims;
  uploadsA: Uploads;
  inspections: Inspections;
  data: Buffer;
  sha: string;
  close(): Promise<void>;
}

async function world(mode: 'embedded' | 'etcd'): Promise<World> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-sweeprace-'));
  const remote = on(`${mode}-${++run}`);
  const a = new BlobStore(join(dir, 'a'), remote);
  const b = new BlobStore(join(dir, 'b'), remote);
  await a.init();
  await b.init();
  let storeA: MetadataStore;
  let storeB: MetadataStore & { catchUp?(): Promise<void> };
  let client: EtcdClient | undefined;
  if (mode === 'embedded') {
    await mkdir(join(dir, 'db'));
    storeA = storeB = await Store.open(join(dir, 'db'));
    a.claims = b.claims = new LocalSweepClaims();
  } else {
    const prefix = `/debpkg-test/sweeprace-${process.pid}-${run}/`;
    const conn = { endpoints: etcd!.endpoints.split(',') };
    client = new EtcdClient(conn);
    const ea = await EtcdStore.connect(conn, { prefix });
    const eb = await EtcdStore.connect(conn, { prefix });
    a.claims = new EtcdSweepClaims(ea, client, prefix);
    b.claims = new EtcdSweepClaims(eb, client, prefix);
    storeA = ea;
    storeB = eb;
  }
  const inspections = new Inspections({ threads: 0 });
  const uploadsA = new Uploads({ store: storeA, blobs: a, writes: new Mutex(), inspections });
  const data = randomBytes(48 * 1024);
  const sha = createHash('sha256').update(data).digest('hex');
  // Stored once, then named by no one: its upload directory removed, its location dropped by GC.
  await uploadsA.receive('first', parts(data), 1 << 30);
  await storeA.commit([{ op: 'up-rm', dir: 'first' }]);
  assert.is((await collectBlobs(storeA, a)).dropped, 1);
  await storeB.catchUp?.();
  assert.not.ok(storeB.blobs.has(sha));
  assert.ok(await remote.stat(blobKey(sha)), 'the orphan object is on S3');
  return {
    dir, remote, storeA, storeB, a, b, claimsB: b.claims!, uploadsA, inspections, data, sha,
    async close() {
      await inspections.close();
      await storeA.close();
      if (storeB !== storeA) await storeB.close();
      client?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function* parts(data: Buffer): AsyncIterable<UploadPart> {
  yield { filename: 'x.bin', body: Readable.from([data]) };
}

/** The sweep "two hours later" (past the grace), as server B. */
function sweep(w: World, hooks: SweepHooks) {
  return sweepOrphans(w.storeB, w.remote, { graceMs: HOUR, now: () => Date.now() + 2 * HOUR, claims: w.claimsB, ...(w.storeB.catchUp ? { catchUp: () => w.storeB.catchUp!() } : {}) }, hooks);
}

async function namedAndReadable(w: World): Promise<void> {
  await w.storeB.catchUp?.();
  assert.ok(w.storeA.referencedBlobs().has(w.sha), 'the new upload names the blob');
  assert.ok(w.storeB.blobs.has(w.sha), 'the blob has a location');
  assert.ok(await w.remote.stat(blobKey(w.sha)), 'the object is on S3');
  const loc = w.storeB.blobs.get(w.sha)!;
  await w.b.ensureLocal(w.sha, loc);
  assert.ok(w.b.readSync(w.sha, loc).equals(w.data), 'B reads it byte-exact from S3');
}

for (const mode of ['embedded', 'etcd'] as const) {
  t(`${mode}: the sweep claimed the blob, then the re-upload commits before its DELETE: the upload PUTs again after the sweep`, async () => {
    const w = await world(mode);
    try {
      let upload: Promise<string[]> | undefined;
      const r = await sweep(w, {
        claimed: async (shas) => {
          assert.equal(shas, [w.sha]);
          upload = w.uploadsA.receive('second', parts(w.data), 1 << 30);
          // Until the upload's commit has landed (it then waits for this sweep to finish).
          for (let i = 0; i < 200 && !w.storeA.blobs.has(w.sha); i++) await new Promise((res) => setTimeout(res, 25));
          assert.ok(w.storeA.blobs.has(w.sha), 'the upload committed inside the window');
        },
      });
      assert.is(r.deleted, 1, 'the sweep deleted the object it had claimed');
      assert.equal(await upload, ['second/x.bin']);
      await namedAndReadable(w);
    } finally {
      await w.close();
    }
  });

  t(`${mode}: the re-upload commits before the sweep's claim: the claim fails, nothing is deleted`, async () => {
    const w = await world(mode);
    try {
      const r = await sweep(w, {
        beforeClaim: async () => {
          assert.equal(await w.uploadsA.receive('second', parts(w.data), 1 << 30), ['second/x.bin']);
        },
      });
      assert.is(r.deleted, 0);
      await namedAndReadable(w);
    } finally {
      await w.close();
    }
  });
}

t.before(async () => {
  [s3, etcd] = await startAll([startS3Server(), startEtcdCluster()]);
  await on('').checkAccess(true);
});
t.after(async () => {
  await etcd?.stop();
  await s3?.stop();
});

t.run();
