// Dropping a distribution of a group on S3 alone (service/publishing.ts dropPublish,
// publish/remote-generations.ts remove), on a real radosgw and real etcd, with the bucket
// refusing the deletes of the distribution's objects (a bucket policy): the publish record goes
// first, so the drop answers 200 and no server is left with a record naming a listing that was
// deleted (before: the listings went, the object deletes failed, the drop answered 502 and the
// record stayed, naming a generation no longer whole). What the failure leaves (objects no listing names)
// is removed by the next publish of that name, which serves its own generation on every server,
// also on one that held a copy of the dropped distribution's generation of the same number
// (before: it kept serving that copy, the dropped distribution's InRelease). What it leaves of a
// name nobody publishes again goes with `db cleanup` (service/generation-sweep.ts; before: kept
// for ever): the bucket's keys by any server's, each server's local copies by its own.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSigningKey } from '../../repo-server/pgp/signer.js';
import { S3Bytes } from '../../repo-server/storage/bytes-s3.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startAll } from '../support/start-all.js';

let s3: S3Server | undefined;
let etcd: EtcdCluster | undefined;
const servers: ServerProcess[] = [];
const tmp = process.env.DEBPKG_TEST_TMP ?? tmpdir();
const BUCKET = `debpkg-s3-drop-${process.pid}`;
const PREFIX = 'grp';
const DIST = 'dropme';
let signingKey = '';

const s3Env = (): Record<string, string> => ({ AWS_ACCESS_KEY_ID: s3!.accessKeyId, AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey, DEBPKG_S3_ENDPOINT: s3!.endpoint, DEBPKG_NODE_TOKEN: 'test-node-token-s3drop' });
const bucket = (): S3Bytes => new S3Bytes({ endpoint: s3!.endpoint, region: s3!.region, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, bucket: BUCKET, prefix: PREFIX, rangeRequests: false });
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function serve(): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmp, 'debpkg-s3drop-'));
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  await writeFile(join(dir, 'keys', 'signing-key.asc'), signingKey, { mode: 0o600 });
  const s = await startServerProcess({ args: ['--blobs', `s3://${BUCKET}/${PREFIX}`, '--etcd', etcd!.endpoints], env: s3Env(), dataDir: dir });
  servers.push(s);
  return s;
}

async function readAll(body: AsyncIterable<unknown> | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body ?? []) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of bucket().list(prefix)) out.push(k);
  return out.sort();
}

async function setPolicy(statement: object | undefined): Promise<void> {
  const client = bucket().client;
  if (!statement) {
    await readAll(await client.send({ method: 'DELETE', key: '', query: { policy: '' } }));
    return;
  }
  const policy = Buffer.from(JSON.stringify({ Version: '2012-10-17', Statement: [statement] }));
  const put = await client.send({ method: 'PUT', key: '', query: { policy: '' }, body: { data: policy, size: policy.length, sha256: sha256(policy) } });
  await readAll(put);
  assert.ok(put.statusCode! < 300, `PUT policy: ${put.statusCode}`);
}

test.before(async () => {
  [s3, etcd] = await startAll([startS3Server(), startEtcdCluster()]);
  await bucket().checkAccess(true);
  const k = await mkdtemp(join(tmp, 'debpkg-s3drop-key-'));
  await loadOrCreateSigningKey(k, { name: 'debpkg s3 drop test key' });
  signingKey = await readFile(join(k, 'signing-key.asc'), 'utf8');
  await rm(k, { recursive: true, force: true });
});

test.after(async () => {
  await Promise.all(
    servers.map(async (s) => {
      await s.stop();
      await rm(s.dataDir, { recursive: true, force: true });
    }),
  );
  await etcd?.stop();
  await s3?.stop();
});

test('a drop whose object deletes S3 refuses: 200, the record is gone on every server, and the next publish of the name cleans up', async () => {
  const a = await serve();
  const b = await serve();
  assert.is((await a.api('POST', '/api/repos', { Name: 'd' })).status, 201);
  const first = await a.api('POST', '/api/publish/:.', { Sources: [{ Name: 'd' }], Distribution: DIST, Architectures: ['amd64'] });
  assert.is(first.status, 201, first.text);
  const oldInRelease = await fetch(`${a.url}/dists/${DIST}/InRelease`);
  assert.is(oldInRelease.status, 200);
  // C holds a copy of generation 1 (served once); B never had one.
  const c = await serve();
  assert.is((await fetch(`${c.url}/dists/${DIST}/InRelease`)).status, 200);
  const oldObjects = await keys(`generations/_root/${DIST}/objects/`);
  assert.ok(oldObjects.length > 0);

  // Listings may go, objects may not: the drop fails half-way through the bucket.
  await setPolicy({ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:DeleteObject'], Resource: [`arn:aws:s3:::${BUCKET}/${PREFIX}/generations/_root/${DIST}/objects/*`] });
  let dropped: { status: number; text: string };
  try {
    dropped = await a.api('DELETE', `/api/publish/:./${DIST}`);
  } finally {
    await setPolicy(undefined);
  }
  assert.is(dropped.status, 200, `the drop is done once its record is: ${dropped.text}`);
  assert.equal(await keys(`generations/_root/${DIST}/gen/`), [], 'the listings went');
  assert.equal(await keys(`generations/_root/${DIST}/objects/`), oldObjects, 'the objects S3 refused to delete are left');
  for (const s of [a, b]) {
    // B never copied the generation: with the record left behind it answered 5xx here.
    const list = await s.api('GET', '/api/publish');
    assert.not.ok(list.text.includes(`"${DIST}"`), `${s.url} lists no ${DIST}: ${list.text}`);
    assert.is((await fetch(`${s.url}/dists/${DIST}/InRelease`)).status, 404, `${s.url} answers 404 for the dropped distribution`);
  }

  // Published again under the same name (through the other server): its prepare removes what
  // the failed drop left, and both servers serve the new generation.
  const again = await b.api('POST', '/api/publish/:.', { Sources: [{ Name: 'd' }], Distribution: DIST, Architectures: ['amd64'], Origin: 'again' });
  assert.is(again.status, 201, again.text);
  const listings = await keys(`generations/_root/${DIST}/gen/`);
  assert.equal(listings, [`generations/_root/${DIST}/gen/1.json`]);
  const listing = JSON.parse((await readAll(await bucket().get(listings[0]!))).toString()) as { files: Record<string, { sha256: string }> };
  const named = new Set(Object.values(listing.files).map((f) => f.sha256));
  const objects = await keys(`generations/_root/${DIST}/objects/`);
  assert.equal(objects.filter((k) => !named.has(k.slice(k.lastIndexOf('/') + 1))), [], 'no object that no listing names');
  for (const s of [a, b, c]) {
    const r = await fetch(`${s.url}/dists/${DIST}/InRelease`);
    assert.is(r.status, 200);
    const body = Buffer.from(await r.arrayBuffer());
    assert.match(body.toString(), /^Origin: again$/m, s.url);
    assert.is(sha256(body), listing.files.InRelease!.sha256);
  }
});

test('what a failed drop left of a name never published again goes with db cleanup on another server, and a third server\'s copy with its own; published names keep theirs', async () => {
  const [a, b, c] = servers;
  const gone = 'gone';
  // Under a nested prefix: the store's key (team_web) is turned back into the prefix team/web.
  const pub = await a!.api('POST', '/api/publish/team_web', { Sources: [{ Name: 'd' }], Distribution: gone, Architectures: ['amd64'] });
  assert.is(pub.status, 201, pub.text);
  const goneObjects = await keys(`generations/team_web/${gone}/objects/`);
  assert.ok(goneObjects.length > 0);
  // C serves it once: a local copy of its generation on C's own disk.
  assert.is((await fetch(`${c!.url}/team/web/dists/${gone}/InRelease`)).status, 200);
  const cCopy = join(c!.dataDir, 'generations', 'team_web', gone);
  assert.ok((await readdir(cCopy)).length > 0, 'C holds a copy');
  const kept = await keys(`generations/_root/${DIST}/`);
  await setPolicy({ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:DeleteObject'], Resource: [`arn:aws:s3:::${BUCKET}/${PREFIX}/generations/team_web/${gone}/objects/*`] });
  try {
    const dropped = await a!.api('DELETE', `/api/publish/team_web/${gone}`);
    assert.is(dropped.status, 200, dropped.text);
  } finally {
    await setPolicy(undefined);
  }
  assert.equal(await keys(`generations/team_web/${gone}/objects/`), goneObjects, 'the refused deletes left the objects');

  const cleanup = await b!.api('POST', '/api/db/cleanup');
  assert.is(cleanup.status, 200, cleanup.text);
  assert.equal(await keys(`generations/team_web/${gone}/`), [], 'nothing of the dropped distribution is left on the bucket');
  assert.ok((await readdir(cCopy)).length > 0, "B's cleanup leaves C's disk alone");
  // C's own cleanup finds its copy with nothing left on the bucket to point at it.
  assert.is((await c!.api('POST', '/api/db/cleanup')).status, 200);
  assert.is(await readdir(cCopy).catch(() => 'gone'), 'gone', "C's copy went with C's cleanup");
  assert.equal(await keys(`generations/_root/${DIST}/`), kept, 'the published distribution keeps every key');
  for (const s of [a!, b!, c!]) assert.is((await fetch(`${s.url}/dists/${DIST}/InRelease`)).status, 200, s.url);
});

test.run();
