// Pool blobs on S3 (`debpkg serve --blobs s3://…`), on a real radosgw (test/support/s3-server.ts):
//   1. one server: uploads become content-addressed objects on the bucket before the API
//      answers; apt-get update && install from a trixie fleet node works; with the server's
//      local cache wiped, the pool is still served (the bucket is the truth);
//   2. two servers (etcd + a shared directory for the published trees, blobs on S3, each with
//      its own cache): what one ingests, the other serves to apt;
//   3. S3 failing mid-upload → a 5xx JSON error and nothing named; bad credentials or a
//      missing bucket at start → a clear error and a non-zero exit.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { S3Bytes } from '../../repo-server/storage/bytes-s3.js';
import { blobKey } from '../../repo-server/storage/bytes.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { FleetNode } from '../support/fleet-node.js';
import { CLI, Project } from '../support/project.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { startServerProcess, type ServerProcess, uploadAndAdd } from '../support/server-process.js';
import { freePort } from '../support/ports.js';

let s3: S3Server;
let etcd: EtcdCluster | undefined;
let project: Project;
let debs: string[] = [];
const servers: ServerProcess[] = [];
const tmp = process.env.DEBPKG_TEST_TMP ?? tmpdir();
const BUCKET = `debpkg-s3-repo-${process.pid}`;

const s3Env = (): Record<string, string> => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, DEBPKG_S3_ENDPOINT: s3.endpoint });
const s3Args = (prefix: string, bucket = BUCKET): string[] => ['--blobs', `s3://${bucket}/${prefix}`];
const bytesOn = (prefix: string, bucket = BUCKET): S3Bytes =>
  new S3Bytes({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, prefix });

async function serve(args: string[], dataDir?: string): Promise<ServerProcess> {
  const s = await startServerProcess({ args, env: s3Env(), ...(dataDir ? { dataDir } : {}) });
  servers.push(s);
  return s;
}

const upload = uploadAndAdd;

async function aptInstall(s: ServerProcess, dist: string, pkg: string): Promise<string> {
  const node = await FleetNode.create('trixie');
  try {
    await node.writeFile('/etc/apt/keyrings/debpkg.asc', await (await fetch(`${s.url}/keys/archive.asc`)).text());
    await node.writeFile('/etc/apt/sources.list.d/debpkg.sources', `Types: deb\nURIs: ${s.url}\nSuites: ${dist}\nComponents: main\nSigned-By: /etc/apt/keyrings/debpkg.asc\n`);
    const r = await node.run(`apt-get -q update && apt-get install -y -q ${pkg} && cat /usr/share/${pkg}/f`, { allowFail: true });
    assert.is(r.code, 0, r.stdout + r.stderr);
    return r.stdout;
  } finally {
    await node.destroy();
  }
}

test.before(async () => {
  s3 = await startS3Server();
  await bytesOn('').checkAccess(true);
  project = await Project.create();
  for (let i = 0; i < 3; i++) {
    await project.write(`src/f${i}`, `s3 file ${i}\n`);
    const yaml = `name: s3-pkg-${i}\nversion: "1.0"\nmaintainer: S3 Tester <s3@example.org>\ndescription: s3 test package ${i}\ncontents:\n  - { src: src/f${i}, dst: /usr/share/s3-pkg-${i}/f }\n`;
    const loaded = parseSpec(yaml, 'debpkg.yaml', {}, { baseDir: project.dir, mtime: 1700000000 });
    debs.push((await buildPackage(loaded, { outputDir: project.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path);
  }
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await etcd?.stop();
  await project?.destroy();
  await s3?.stop();
});

test('one server on S3: uploads are objects on the bucket, apt installs, and a wiped cache is refilled from S3', async () => {
  const s = await serve(s3Args('single'));
  assert.is((await s.api('POST', '/api/repos', { Name: 'r', DefaultDistribution: 'one' })).status, 201);
  const up = await upload(s, 'r', debs.slice(0, 2));
  assert.is(up.status, 200, up.text);
  const bucket = bytesOn('single');
  const objects: string[] = [];
  for await (const k of bucket.list('pool/')) objects.push(k);
  const { createHash } = await import('node:crypto');
  const want = await Promise.all(debs.slice(0, 2).map(async (d) => blobKey(createHash('sha256').update(await readFile(d)).digest('hex'))));
  assert.equal(objects.sort(), want.sort(), 'every uploaded file is one content-addressed object');
  const pub = await s.api('POST', '/api/publish/:.', { Sources: [{ Name: 'r' }], Distribution: 'one', Architectures: ['amd64'] });
  assert.is(pub.status, 201, pub.text);
  assert.match(await aptInstall(s, 'one', 's3-pkg-0'), /s3 file 0/);
  // The local pool is only a cache: without it, the server fetches from the bucket.
  await rm(join(s.dataDir, 'pool'), { recursive: true, force: true });
  const pkgs = await (await fetch(`${s.url}/dists/one/main/binary-amd64/Packages`)).text();
  const filename = /^Filename: (.*s3-pkg-1.*)$/m.exec(pkgs)![1]!;
  const got = Buffer.from(await (await fetch(`${s.url}/${filename}`)).arrayBuffer());
  assert.ok(got.equals(await readFile(debs[1]!)), 'the pool file, fetched again from S3');
  const ranged = await fetch(`${s.url}/${filename}`, { headers: { range: 'bytes=100-199' } });
  assert.is(ranged.status, 206);
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals((await readFile(debs[1]!)).subarray(100, 200)));
});

test('two servers on one bucket (etcd + a shared directory for the trees, own caches): what one ingests the other serves to apt', async () => {
  etcd = await startEtcdCluster();
  const shared = await mkdtemp(join(tmp, 'debpkg-s3-shared-'));
  try {
    const group = [...s3Args('group'), '--etcd', etcd.endpoints, '--shared-dir', shared];
    const a = await serve(group);
    const b = await serve(group);
    assert.is((await a.api('POST', '/api/repos', { Name: 'g' })).status, 201);
    const up = await upload(a, 'g', [debs[2]!]);
    assert.is(up.status, 200, up.text);
    const pub = await a.api('POST', '/api/publish/:.', { Sources: [{ Name: 'g' }], Distribution: 'two', Architectures: ['amd64'] });
    assert.is(pub.status, 201, pub.text);
    // b never received the bytes: its cache is empty until apt asks, then filled from S3.
    assert.match(await aptInstall(b, 'two', 's3-pkg-2'), /s3 file 2/);
    // apt-get update alternating between the two while both publish and ingest (new blobs on
    // S3 each time, installed through the server that did not ingest them): 0 failures.
    const node = await FleetNode.create('trixie');
    let stop = false;
    let publishes = 0;
    let failures = '';
    try {
      await node.writeFile('/etc/apt/keyrings/debpkg.asc', await (await fetch(`${a.url}/keys/archive.asc`)).text());
      for (const [i, s] of [a, b].entries()) await node.writeFile(`/root/s${i}.sources`, `Types: deb\nURIs: ${s.url}\nSuites: two\nComponents: main\nSigned-By: /etc/apt/keyrings/debpkg.asc\n`);
      const publisher = (async () => {
        for (let i = 0; !stop; i++) {
          const s = [a, b][i % 2]!;
          if (i % 3 === 0) {
            const u = await upload([b, a][i % 2]!, 'g', [debs[(i / 3) % 2]!]);
            if (u.status !== 200) failures += `upload: ${u.status} ${u.text}\n`;
          }
          const r = await s.api('PUT', '/api/publish/:./two', {});
          if (r.status !== 200) failures += `${s.url}: ${r.status} ${r.text}\n`;
          publishes++;
        }
      })();
      const loop = await node.aptUpdateRounds(40, 2);
      stop = true;
      await publisher;
      assert.match(loop.stdout, /FAILS=0\s*$/, loop.stdout.slice(-3000));
      assert.is(failures, '');
      assert.ok(publishes >= 5, `only ${publishes} publishes during the loop`);
      process.stderr.write(`  [s3-repo] 40 apt-get update over 2 servers on S3, ${publishes} publishes meanwhile, 0 failures\n`);
      for (const pkg of ['s3-pkg-0', 's3-pkg-1']) {
        const r = await node.run(`apt-get install -y -q ${pkg} && cat /usr/share/${pkg}/f`, { allowFail: true });
        assert.is(r.code, 0, r.stdout + r.stderr);
      }
    } finally {
      stop = true;
      await node.destroy();
    }
  } finally {
    await rm(shared, { recursive: true, force: true });
  }
});

test('S3 failing under an upload: a 5xx JSON error naming S3, and nothing is named', async () => {
  const bucket = `debpkg-s3-gone-${process.pid}`;
  await bytesOn('', bucket).checkAccess(true);
  const s = await serve(s3Args('x', bucket));
  assert.is((await s.api('POST', '/api/repos', { Name: 'f' })).status, 201);
  // Take the bucket away behind the running server's back.
  const client = bytesOn('', bucket).client;
  const del = await client.send({ method: 'DELETE', key: '' });
  del.resume();
  assert.is(del.statusCode, 204);
  const form = new FormData();
  form.append('file', new Blob([await readFile(debs[0]!)]), 'a.deb');
  const res = await fetch(`${s.url}/api/files/lost`, { method: 'POST', body: form, headers: { authorization: `Bearer ${s.token}` } });
  assert.ok(res.status >= 500, `status ${res.status}`);
  const body = (await res.json()) as { error?: string };
  assert.match(body.error ?? '', /S3|NoSuchBucket/, JSON.stringify(body));
  assert.is((await s.api('GET', '/api/files')).text.includes('lost'), false, 'the failed upload directory is not listed');
});

async function runServe(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const port = await freePort();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

test('start-up: wrong secret, missing bucket, no credentials → a clear error and a non-zero exit', async () => {
  const data = await mkdtemp(join(tmp, 'debpkg-s3-bad-'));
  try {
    const wrong = await runServe(['--data', data, ...s3Args('y')], { ...s3Env(), AWS_SECRET_ACCESS_KEY: 'wrong' });
    assert.ok(wrong.code !== 0 && wrong.code !== null, `exit ${wrong.code}`);
    assert.match(wrong.stderr, /access denied.*AWS_SECRET_ACCESS_KEY/, wrong.stderr);
    const missing = await runServe(['--data', data, ...s3Args('y', 'no-such-bucket-here')], s3Env());
    assert.ok(missing.code !== 0 && missing.code !== null, `exit ${missing.code}`);
    assert.match(missing.stderr, /no-such-bucket-here.*does not exist/, missing.stderr);
    const none = await runServe(['--data', data, ...s3Args('y')], { DEBPKG_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    assert.is(none.code, 2);
    assert.match(none.stderr, /needs credentials in \$AWS_ACCESS_KEY_ID/, none.stderr);
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});

test.run();
