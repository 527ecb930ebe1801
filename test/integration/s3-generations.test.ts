// Published generations on S3: a group of servers that shares only etcd and a bucket (no
// --shared-dir), on a real radosgw (test/support/s3-server.ts), real etcd and real apt:
//   1. packages uploaded through A, published through B; apt installs from each server; apt-get
//      update spread over both during repeated publishes through both → 0 failures, and every
//      InRelease fetched meanwhile verifies with gpgv and names a Packages file both servers serve;
//   2. a publish whose S3 writes are refused mid-way (objects PUT, the listing denied by a bucket
//      policy) answers 5xx naming S3 and leaves the previous generation served intact on both;
//      the next publish succeeds and removes the failed one's objects;
//   3. S3 stopped: a publish answers 503 naming S3, both servers still serve the live generation
//      from their verified copies;
//   and the usage error when a server of such a group is not given the group's secrets.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { loadOrCreateSigningKey } from '../../repo-server/pgp/signer.js';
import { S3Bytes } from '../../repo-server/storage/bytes-s3.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { exec, FleetNode, HOST_ENV } from '../support/fleet-node.js';
import { freePort } from '../support/ports.js';
import { CLI, Project } from '../support/project.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startServerProcess, type ServerProcess, uploadAndAdd } from '../support/server-process.js';
import { startAll } from '../support/start-all.js';

let s3: S3Server | undefined;
let etcd: EtcdCluster;
let project: Project;
let signingKey = '';
const debs: string[] = [];
const servers: ServerProcess[] = [];
const tmp = process.env.DEBPKG_TEST_TMP ?? tmpdir();
const BUCKET = `debpkg-s3-gen-${process.pid}`;
const PREFIX = 'grp';
const DIST = 'gen';
const NODE_TOKEN = 'test-node-token-s3gen';
let a: ServerProcess;
let b: ServerProcess;
let node: FleetNode | undefined;

const s3Env = (): Record<string, string> => ({ AWS_ACCESS_KEY_ID: s3!.accessKeyId, AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey, DEBPKG_S3_ENDPOINT: s3!.endpoint, DEBPKG_NODE_TOKEN: NODE_TOKEN });
const bucket = (): S3Bytes => new S3Bytes({ endpoint: s3!.endpoint, region: s3!.region, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, bucket: BUCKET, prefix: PREFIX, rangeRequests: false });
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A data directory holding only the group's signing key, as config management would leave it. */
async function givenDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmp, 'debpkg-s3gen-'));
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  await writeFile(join(dir, 'keys', 'signing-key.asc'), signingKey, { mode: 0o600 });
  return dir;
}

async function serve(): Promise<ServerProcess> {
  const s = await startServerProcess({ args: ['--blobs', `s3://${BUCKET}/${PREFIX}`, '--etcd', etcd.endpoints], env: s3Env(), dataDir: await givenDataDir() });
  servers.push(s);
  return s;
}

const upload = uploadAndAdd;

const get = async (s: ServerProcess, path: string): Promise<{ status: number; body: Buffer }> => {
  const r = await fetch(`${s.url}/${path}`);
  return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
};

/**
 * One consistency check: InRelease from `s` verifies with gpgv, and the Packages file it names
 * (by SHA-256) is served under its by-hash name by both servers with exactly that hash.
 */
async function checkInRelease(s: ServerProcess, keyring: string, scratch: string): Promise<string | undefined> {
  const inRelease = await get(s, `dists/${DIST}/InRelease`);
  if (inRelease.status !== 200) return `${s.url} InRelease: ${inRelease.status}`;
  await writeFile(scratch, inRelease.body);
  const v = await exec(['gpgv', '--keyring', keyring, scratch], HOST_ENV);
  if (v.code !== 0) return `${s.url} InRelease does not verify: ${v.stderr}`;
  const sha = new RegExp(`^ ([0-9a-f]{64}) +(\\d+) main/binary-amd64/Packages$`, 'm').exec(inRelease.body.toString().split('SHA256:')[1] ?? '');
  if (!sha) return `${s.url} InRelease lists no SHA256 of main/binary-amd64/Packages`;
  for (const t of [a, b]) {
    const p = await get(t, `dists/${DIST}/main/binary-amd64/by-hash/SHA256/${sha[1]}`);
    if (p.status !== 200 || sha256(p.body) !== sha[1] || p.body.length !== Number(sha[2])) return `${t.url} by-hash Packages of ${s.url}'s InRelease: ${p.status}, ${p.body.length} bytes`;
  }
  return undefined;
}

async function bucketKeys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of bucket().list(prefix)) out.push(k);
  return out.sort();
}

test.before(async () => {
  [s3, etcd, project] = await startAll([startS3Server(), startEtcdCluster(), Project.create()]);
  await bucket().checkAccess(true);
  const keys = await mkdtemp(join(tmp, 'debpkg-s3gen-key-'));
  await loadOrCreateSigningKey(keys, { name: 'debpkg s3 group test key' });
  signingKey = await readFile(join(keys, 'signing-key.asc'), 'utf8');
  await rm(keys, { recursive: true, force: true });
  for (let i = 0; i < 4; i++) {
    await project.write(`src/f${i}`, `s3gen file ${i}\n`);
    const yaml = `name: s3gen-pkg-${i}\nversion: "1.0"\nmaintainer: S3 Tester <s3@example.org>\ndescription: s3 generations test package ${i}\ncontents:\n  - { src: src/f${i}, dst: /usr/share/s3gen-pkg-${i}/f }\n`;
    const loaded = parseSpec(yaml, 'debpkg.yaml', {}, { baseDir: project.dir, mtime: 1700000000 });
    debs.push((await buildPackage(loaded, { outputDir: project.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path);
  }
});

test.after(async () => {
  await node?.destroy();
  await Promise.all(servers.map(async (s) => {
    await s.stop();
    await rm(s.dataDir, { recursive: true, force: true });
  }));
  await etcd?.stop();
  await project?.destroy();
  await s3?.stop();
});

test('a server of a group on S3 alone that was not given the signing key and tokens: a usage error, exit 2', async () => {
  const port = await freePort();
  const data = await mkdtemp(join(tmp, 'debpkg-s3gen-nokey-'));
  try {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const env = { ...process.env, ...s3Env() };
      delete env.DEBPKG_ADMIN_TOKEN;
      const p = spawn(process.execPath, [CLI, 'serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--blobs', `s3://${BUCKET}/${PREFIX}`, '--etcd', etcd.endpoints], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
      p.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stderr });
      });
    });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /signing-key\.asc/);
    assert.match(r.stderr, /DEBPKG_ADMIN_TOKEN/);
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

test('two servers sharing only etcd and the bucket: uploaded via A, published via B, apt installs from each, apt-get update over both during publishes: 0 failures', async () => {
  a = await serve();
  b = await serve();
  assert.is((await a.api('POST', '/api/repos', { Name: 'g' })).status, 201);
  const up = await upload(a, 'g', debs.slice(0, 2));
  assert.is(up.status, 200, up.text);
  const pub = await b.api('POST', '/api/publish/:.', { Sources: [{ Name: 'g' }], Distribution: DIST, Architectures: ['amd64'] });
  assert.is(pub.status, 201, pub.text);
  // Both servers answer the same InRelease (A never built it).
  const [ia, ib] = [await get(a, `dists/${DIST}/InRelease`), await get(b, `dists/${DIST}/InRelease`)];
  assert.is(ia.status, 200);
  assert.is(ib.status, 200);
  assert.ok(ia.body.equals(ib.body), 'A and B serve the same InRelease');
  // The generation is on the bucket, content-addressed, with its listing.
  const listings = await bucketKeys(`generations/_root/${DIST}/gen/`);
  assert.equal(listings, [`generations/_root/${DIST}/gen/1.json`]);
  const listing = JSON.parse((await readAll(await bucket().get(listings[0]!))).toString()) as { files: Record<string, { sha256: string }> };
  assert.ok(listing.files.InRelease, 'InRelease is in the listing');
  assert.ok(Object.keys(listing.files).some((p) => p.includes('/by-hash/SHA256/')), 'by-hash files are in the listing');
  const objects = await bucketKeys(`generations/_root/${DIST}/objects/`);
  assert.ok(objects.includes(`generations/_root/${DIST}/objects/${listing.files.InRelease.sha256}`));
  // HEAD, Range and If-Modified-Since as on the directory path.
  const head = await fetch(`${a.url}/dists/${DIST}/InRelease`, { method: 'HEAD' });
  assert.is(head.headers.get('content-length'), String(ia.body.length));
  assert.is(head.headers.get('content-type'), 'text/plain; charset=utf-8');
  const lastModified = head.headers.get('last-modified')!;
  assert.is((await fetch(`${b.url}/dists/${DIST}/InRelease`, { headers: { 'if-modified-since': lastModified } })).status, 304, 'the same Last-Modified on both servers');
  const ranged = await fetch(`${b.url}/dists/${DIST}/InRelease`, { headers: { range: 'bytes=10-19' } });
  assert.is(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(ia.body.subarray(10, 20)));
  assert.is((await fetch(`${b.url}/dists/${DIST}/InRelease`, { headers: { range: `bytes=${ia.body.length}-` } })).status, 416);
  assert.is((await fetch(`${a.url}/dists/${DIST}/nothing-here`)).status, 404);

  node = await FleetNode.create('trixie');
  await node.writeFile('/etc/apt/keyrings/debpkg.asc', (await get(a, 'keys/archive.asc')).body.toString());
  for (const [i, s] of [a, b].entries()) await node.writeFile(`/root/s${i}.sources`, `Types: deb\nURIs: ${s.url}\nSuites: ${DIST}\nComponents: main\nSigned-By: /etc/apt/keyrings/debpkg.asc\n`);
  for (const i of [0, 1]) {
    const r = await node.run(`cp /root/s${i}.sources /etc/apt/sources.list.d/debpkg.sources && apt-get -q update && apt-get install -y -q s3gen-pkg-${i} && cat /usr/share/s3gen-pkg-${i}/f`, { allowFail: true });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`s3gen file ${i}`));
  }

  // apt-get update alternating between A and B while both publish (new packages through the
  // other one each third time), and InRelease checks from the host meanwhile.
  const keyring = join(project.dir, 'archive.gpg');
  await writeFile(keyring, (await get(a, 'keys/archive.gpg')).body);
  let stop = false;
  let publishes = 0;
  let failures = '';
  let checks = 0;
  const publisher = (async () => {
    for (let i = 0; !stop; i++) {
      const s = [a, b][i % 2]!;
      if (i % 3 === 0) {
        const u = await upload([b, a][i % 2]!, 'g', [debs[2 - ((i / 3) % 2)]!]);
        if (u.status !== 200) failures += `upload: ${u.status} ${u.text}\n`;
      }
      const r = await s.api('PUT', `/api/publish/:./${DIST}`, {});
      if (r.status !== 200) failures += `publish via ${s.url}: ${r.status} ${r.text}\n`;
      publishes++;
    }
  })();
  const checker = (async () => {
    for (let i = 0; !stop; i++) {
      const problem = await checkInRelease([a, b][i % 2]!, keyring, join(project.dir, 'InRelease'));
      if (problem) failures += `${problem}\n`;
      checks++;
    }
  })();
  const ROUNDS = 60;
  const loop = await node.aptUpdateRounds(ROUNDS, 2);
  stop = true;
  await Promise.all([publisher, checker]);
  assert.match(loop.stdout, /FAILS=0\s*$/, loop.stdout.slice(-3000));
  assert.is(failures, '');
  assert.ok(publishes >= 5, `only ${publishes} publishes during the loop`);
  process.stderr.write(`  [s3-generations] ${ROUNDS} apt-get update over 2 servers without a shared dir, ${publishes} publishes meanwhile, ${checks} InRelease checks (gpgv + by-hash on both): 0 failures\n`);
  // Where a publish's time goes on this store (each server's log: 'published', ms per step).
  const steps = [a, b].flatMap((s) => [...s.output().matchAll(/"ms":(\{[^}]*\})[^\n]*"msg":"published"/g)].map((m) => JSON.parse(m[1]!) as Record<string, number>));
  const median = (k: string): number => steps.map((x) => x[k] ?? 0).sort((p, q) => p - q)[Math.floor(steps.length / 2)] ?? NaN;
  process.stderr.write(`  [s3-generations] ${steps.length} publishes, median ms: ${['pool', 'indexes', 'release', 'sync', 'upload', 'swap'].map((k) => `${k} ${median(k)}`).join(', ')}\n`);
  assert.ok(steps.length > 0 && steps.every((x) => typeof x.upload === 'number'), 'every publish logged its upload time');
  const r = await node.run('apt-get install -y -q s3gen-pkg-2 && cat /usr/share/s3gen-pkg-2/f', { allowFail: true });
  assert.is(r.code, 0, r.stdout + r.stderr);
  // Old generations beyond what is kept are gone from the bucket, objects with them.
  const kept = await bucketKeys(`generations/_root/${DIST}/gen/`);
  assert.ok(kept.length <= publishes + 1, `${kept.length} listings`);
});

test('S3 refusing a publish mid-way (objects PUT, the listing denied): 5xx naming S3, the previous generation stays served on both; the next publish cleans up', async () => {
  const before = await get(a, `dists/${DIST}/InRelease`);
  assert.is(before.status, 200);
  const client = bucket().client;
  const policy = Buffer.from(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: { AWS: ['*'] }, Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${BUCKET}/${PREFIX}/generations/_root/${DIST}/gen/*`] }],
    }),
  );
  const put = await client.send({ method: 'PUT', key: '', query: { policy: '' }, body: { data: policy, size: policy.length, sha256: sha256(policy) } });
  await readAll(put);
  assert.ok(put.statusCode! < 300, `PUT policy: ${put.statusCode}`);
  // A new package, so the failed publish PUTs indexes the live generation does not have.
  assert.is((await upload(b, 'g', [debs[3]!])).status, 200);
  const objectsBefore = await bucketKeys(`generations/_root/${DIST}/objects/`);
  const failed = await a.api('PUT', `/api/publish/:./${DIST}`, {});
  const listingsAfterFail = await bucketKeys(`generations/_root/${DIST}/gen/`);
  const objectsAfterFail = await bucketKeys(`generations/_root/${DIST}/objects/`);
  const del = await client.send({ method: 'DELETE', key: '', query: { policy: '' } });
  await readAll(del);
  assert.ok(failed.status >= 500 && failed.status < 600, `${failed.status} ${failed.text}`);
  assert.match((failed.json as { error?: string }).error ?? '', /S3/, failed.text);
  assert.ok(objectsAfterFail.length > objectsBefore.length, `the failed publish got as far as PUTting objects (${objectsBefore.length} → ${objectsAfterFail.length}): ${failed.text}`);
  for (const s of [a, b]) {
    const now = await get(s, `dists/${DIST}/InRelease`);
    assert.ok(now.body.equals(before.body), `${s.url} still serves the previous InRelease`);
  }
  const r = await node!.run('for i in 0 1; do cp /root/s$i.sources /etc/apt/sources.list.d/debpkg.sources && apt-get -q update || exit 1; done', { allowFail: true });
  assert.is(r.code, 0, r.stdout + r.stderr);
  // The next publish succeeds and deletes what the failed one left behind.
  const ok = await b.api('PUT', `/api/publish/:./${DIST}`, {});
  assert.is(ok.status, 200, ok.text);
  const listings = await bucketKeys(`generations/_root/${DIST}/gen/`);
  const named = new Set<string>();
  for (const k of listings) {
    const l = JSON.parse((await readAll(await bucket().get(k))).toString()) as { files: Record<string, { sha256: string }>; segments: Record<string, { sha256: string }> };
    for (const f of [...Object.values(l.files), ...Object.values(l.segments)]) named.add(f.sha256);
  }
  const objects = await bucketKeys(`generations/_root/${DIST}/objects/`);
  assert.equal(objects.filter((k) => !named.has(k.slice(k.lastIndexOf('/') + 1))), [], 'no object that no listing names');
  assert.ok(listingsAfterFail.length >= 1);
  assert.not.ok((await get(a, `dists/${DIST}/InRelease`)).body.equals(before.body), 'the new generation is live');
});

test('S3 stopped: a publish answers 503 naming S3; both servers still serve the live generation', async () => {
  const before = await get(b, `dists/${DIST}/InRelease`);
  await s3!.stop();
  s3 = undefined;
  const failed = await b.api('PUT', `/api/publish/:./${DIST}`, {});
  assert.is(failed.status, 503, failed.text);
  assert.match((failed.json as { error?: string }).error ?? '', /S3/);
  for (const s of [a, b]) assert.ok((await get(s, `dists/${DIST}/InRelease`)).body.equals(before.body));
  const r = await node!.run('for i in 0 1; do cp /root/s$i.sources /etc/apt/sources.list.d/debpkg.sources && apt-get -q update || exit 1; done', { allowFail: true });
  assert.is(r.code, 0, r.stdout + r.stderr);
});

async function readAll(body: AsyncIterable<unknown> | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body ?? []) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

test.run();
