// The orphan sweep of the S3 pool (service/blob-sweep.ts) on a real radosgw: an object the
// metadata does not name is deleted only once older than the grace (the clock is moved, not
// slept: the sweep is run "now" and "two hours later" against the objects' real LastModified);
// named objects and keys that are not blob addresses are never touched. Paging: 1,050 objects
// (ListObjectsV2 answers 1,000 a page).
//
// Not testable here: aborting stale multipart uploads, because radosgw's dbstore answers
// ListMultipartUploads empty (test/integration/s3-multipart.test.ts records it).

import { createHash } from 'node:crypto';
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { forEachLimit } from '../../lib/concurrency.js';
import { sweepOrphans } from '../../repo-server/service/blob-sweep.js';
import { blobKey } from '../../repo-server/storage/bytes.js';
import { S3Bytes } from '../../repo-server/storage/bytes-s3.js';
import type { BlobLocation } from '../../repo-server/storage/records.js';
import { LocalSweepClaims } from '../../repo-server/storage/sweep-claims.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

const t = suite('S3 orphan sweep on radosgw');
let s3: S3Server | undefined;
const bucket = `debpkg-sweep-${process.pid}`;
const HOUR = 3_600_000;
const on = (prefix: string): S3Bytes =>
  new S3Bytes({ endpoint: s3!.endpoint, region: s3!.region, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, bucket, prefix, rangeRequests: false });

/** The metadata the sweep reads: locations only (no package record, upload or published path). */
const only = (blobs: Map<string, BlobLocation>) => ({ blobs, referencedBlobs: () => new Set<string>(), referencedKeys: () => new Set<string>(), publishedPool: new Map<string, Map<string, string>>() });
const claims = new LocalSweepClaims();

async function putBlob(b: S3Bytes, text: string): Promise<string> {
  const data = Buffer.from(text);
  const sha256 = createHash('sha256').update(data).digest('hex');
  await b.put(blobKey(sha256), { data, size: data.length, sha256 });
  return sha256;
}

t.before(async () => {
  s3 = await startS3Server();
  await on('').checkAccess(true);
});
t.after(async () => {
  await s3?.stop();
});

t('unnamed objects go only past the grace; named ones and other keys stay', async () => {
  const b = on('g');
  const named = await putBlob(b, 'named');
  const orphan = await putBlob(b, 'orphan of a failed upload');
  const other = Buffer.from('not a blob');
  await b.put('pool/ab/not-a-blob', { data: other, size: other.length, sha256: createHash('sha256').update(other).digest('hex') });
  const blobs = new Map<string, BlobLocation>([[named, { pack: '', offset: 0, size: 5 }]]);

  const now = await sweepOrphans(only(blobs), b, { graceMs: HOUR, claims });
  assert.equal(now, { objects: 2, deleted: 0, deletedBytes: 0, young: 1, abortedUploads: 0 }, 'younger than the grace: kept');
  assert.ok(await b.stat(blobKey(orphan)));

  const later = await sweepOrphans(only(blobs), b, { graceMs: HOUR, claims, now: () => Date.now() + 2 * HOUR });
  assert.is(later.deleted, 1);
  assert.is(later.deletedBytes, 'orphan of a failed upload'.length);
  assert.is(await b.stat(blobKey(orphan)), undefined, 'the orphan is gone');
  assert.ok(await b.stat(blobKey(named)), 'the named blob stays');
  assert.ok(await b.stat('pool/ab/not-a-blob'), 'a key that is no blob address is not the sweep\'s');
});

t('a blob the caught-up replica names (another server\'s commit just landed) is kept', async () => {
  const b = on('r');
  const sha = await putBlob(b, 'named late');
  const blobs = new Map<string, BlobLocation>();
  let checks = 0;
  // The metadata names the blob as the sweep's catch-up returns (another server's commit landed).
  const r = await sweepOrphans(only(blobs), b, {
    graceMs: HOUR,
    claims,
    now: () => Date.now() + 2 * HOUR,
    catchUp: async () => {
      checks++;
      blobs.set(sha, { pack: '', offset: 0, size: 10 });
    },
  });
  assert.is(checks, 1);
  assert.is(r.deleted, 0);
  assert.ok(await b.stat(blobKey(sha)));
});

t('1,050 orphans over two listing pages: all past the grace deleted', async () => {
  const b = on('p');
  const shas: string[] = [];
  await forEachLimit(
    Array.from({ length: 1050 }, (_, i) => i),
    16,
    async (i) => {
      shas.push(await putBlob(b, `orphan ${i}`));
    },
  );
  const t0 = Date.now();
  const r = await sweepOrphans(only(new Map()), b, { graceMs: HOUR, claims, now: () => Date.now() + 2 * HOUR });
  assert.is(r.objects, 1050);
  assert.is(r.deleted, 1050);
  let left = 0;
  for await (const _ of b.list('pool/')) left++;
  assert.is(left, 0);
  console.log(`  sweep of 1,050 orphans (2 pages, 1,050 DELETEs): ${Date.now() - t0} ms`);
});

t.run();
