// The repo shared by a group of servers: 3 real etcd members (Debian's etcd-server), 3
// `debpkg serve --etcd --shared-dir` processes on one shared directory, real apt in a trixie
// fleet-node chroot.
//   1. what one server is told (repo, upload, publish), every server answers and serves;
//   2. publishes of one distribution fired at all three servers at once are serialised by the
//      etcd lock: every one succeeds, and the tree stays whole;
//   3. 200 apt-get update runs spread over the three replicas during repeated publishes
//      (through all three): 0 failures;
//   4. a restarted server and a brand-new one serve the same tree and registry, no manual steps;
//   5. a lock holder killed -9 loses the lock within its lease TTL;
//   6. one etcd member down: repo writes and publishes go on; two down: reads and the apt tree
//      answer, writes are refused (503 naming etcd) within a bound; quorum back: writes again.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { EtcdLocks } from '../../repo-server/cluster/lock.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { FleetNode } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { startServerProcess, type ServerProcess, uploadAndAdd } from '../support/server-process.js';

const LEASE_TTL_S = 3;
let etcd: EtcdCluster;
let shared = '';
let project: Project;
const servers: ServerProcess[] = [];
let debs: string[] = [];

async function startServer(dataDir?: string): Promise<ServerProcess> {
  const s = await startServerProcess({
    args: ['--etcd', etcd.endpoints, '--shared-dir', shared, '--etcd-lease-ttl', `${LEASE_TTL_S}s`],
    ...(dataDir ? { dataDir } : {}),
    env: { DEBPKG_NODE_TOKEN: 'etcd-repo-node-token' },
  });
  servers.push(s);
  return s;
}

async function makeDebs(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    await project.write(`src/f${i}`, `file ${i}\n`);
    const yaml = `name: shared-pkg-${i}\nversion: "1.0"\nmaintainer: Shared Tester <shared@example.org>\ndescription: shared repo test package ${i}\ncontents:\n  - { src: src/f${i}, dst: /usr/share/shared-pkg-${i}/f }\n`;
    const loaded = parseSpec(yaml, 'debpkg.yaml', {}, { baseDir: project.dir, mtime: 1700000000 });
    out.push((await buildPackage(loaded, { outputDir: project.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path);
  }
  return out;
}

async function upload(s: ServerProcess, repo: string, files: string[]): Promise<void> {
  const u = await uploadAndAdd(s, repo, files);
  assert.is(u.status, 200, u.text);
}

const inRelease = async (s: ServerProcess, dist: string): Promise<string> => {
  const r = await fetch(`${s.url}/dists/${dist}/InRelease`);
  assert.is(r.status, 200, `${s.url}: InRelease of ${dist}`);
  return r.text();
};

/** Every server's InRelease of `dist` once they agree (a replica follows etcd within moments). */
async function agreedInRelease(dist: string): Promise<string> {
  const live = servers.filter((s) => s.alive());
  const deadline = Date.now() + 5000;
  for (;;) {
    const all = await Promise.all(live.map((s) => inRelease(s, dist)));
    if (all.every((t) => t === all[0])) return all[0]!;
    if (Date.now() > deadline) assert.unreachable(`servers disagree on dists/${dist}/InRelease`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(async () => {
  etcd = await startEtcdCluster();
  shared = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-shared-'));
  project = await Project.create();
  debs = await makeDebs(4);
  // The first server creates the signing key and tokens on the shared directory; the others load them.
  await startServer();
  await Promise.all([startServer(), startServer()]);
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await etcd?.stop();
  await project?.destroy();
  if (shared) await rm(shared, { recursive: true, force: true });
});

test('what one server is told, every server answers and serves', async () => {
  const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
  assert.is((await a.api('POST', '/api/repos', { Name: 'r' })).status, 201);
  await upload(b, 'r', debs.slice(0, 2));
  for (const s of [a, b, c]) {
    const keys = (await s.api('GET', '/api/repos/r/packages')).json as string[];
    assert.is(keys.length, 2, `${s.url} lists the packages uploaded through another server`);
  }
  const pub = await c.api('POST', '/api/publish/:.', { Sources: [{ Name: 'r' }], Distribution: 'shared', Architectures: ['amd64'] });
  assert.is(pub.status, 201, pub.text);
  const text = await agreedInRelease('shared');
  assert.match(text, /^Codename: shared$/m);
  // The pool file is served by every server from the shared blobs.
  const pkgs = await (await fetch(`${a.url}/dists/shared/main/binary-amd64/Packages`)).text();
  const filename = /^Filename: (.+)$/m.exec(pkgs)![1]!;
  for (const s of [a, b, c]) assert.is((await fetch(`${s.url}/${filename}`)).status, 200, `${s.url}/${filename}`);
});

test('publishes of one distribution fired at all three servers at once are serialised: every one succeeds', async () => {
  const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => servers[i % 3]!.api('PUT', '/api/publish/:./shared', {})));
  assert.equal(answers.map((a) => a.status), Array(9).fill(200), answers.map((a) => a.text).join('\n'));
  await agreedInRelease('shared');
});

test('200 apt-get update runs spread over the replicas during repeated publishes through all three: 0 failures', async () => {
  const node = await FleetNode.create('trixie');
  let stop = false;
  let publishes = 0;
  let publishFailures = '';
  try {
    const key = await (await fetch(`${servers[0]!.url}/keys/archive.asc`)).text();
    await node.writeFile('/etc/apt/keyrings/debpkg.asc', key);
    for (const [i, s] of servers.slice(0, 3).entries()) {
      await node.writeFile(`/root/s${i}.sources`, `Types: deb\nURIs: ${s.url}\nSuites: shared\nComponents: main\nSigned-By: /etc/apt/keyrings/debpkg.asc\n`);
    }
    await node.run('rm -f /etc/apt/sources.list.d/* /etc/apt/sources.list');
    const publisher = (async () => {
      for (let i = 0; !stop; i++) {
        // Alternate what the distribution holds, so each publish changes the indexes.
        const s = servers[i % 3]!;
        const r = await s.api('PUT', '/api/publish/:./shared', {});
        if (r.status !== 200) publishFailures += `${s.url}: ${r.status} ${r.text}\n`;
        publishes++;
        if (i % 4 === 0) await upload(servers[(i + 1) % 3]!, 'r', [debs[2 + ((i / 4) % 2)]!]).catch(() => undefined);
      }
    })();
    const loop = await node.aptUpdateRounds(200, 3);
    stop = true;
    await publisher;
    assert.match(loop.stdout, /FAILS=0\s*$/, loop.stdout.slice(-3000));
    assert.is(publishFailures, '');
    assert.ok(publishes >= 10, `only ${publishes} publishes happened during the loop`);
    process.stderr.write(`  [etcd-repo] 200 apt-get update over 3 replicas, ${publishes} publishes through all three meanwhile, 0 failures\n`);
    const inst = await node.run('apt-get install -y -q shared-pkg-0 && cat /usr/share/shared-pkg-0/f', { allowFail: true });
    assert.is(inst.code, 0, inst.stdout + inst.stderr);
  } finally {
    stop = true;
    await node.destroy();
  }
});

test('a restarted server and a brand-new one serve the same tree and registry without manual steps', async () => {
  const first = servers[0]!;
  first.kill('SIGKILL');
  await first.waitExit();
  await upload(servers[1]!, 'r', [debs[3]!]).catch(() => undefined);
  assert.is((await servers[2]!.api('PUT', '/api/publish/:./shared', {})).status, 200);
  const restarted = await startServer(first.dataDir);
  const fresh = await startServer();
  const want = ((await servers[1]!.api('GET', '/api/repos/r/packages')).json as string[]).sort();
  for (const s of [restarted, fresh]) {
    assert.equal(((await s.api('GET', '/api/repos/r/packages')).json as string[]).sort(), want, `${s.url}: the registry`);
    assert.equal(((await s.api('GET', '/api/publish')).json as { Distribution: string }[]).map((p) => p.Distribution), ['shared']);
  }
  await agreedInRelease('shared');
});

test('a lock holder killed -9 loses the lock within its lease TTL', async () => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../support/etcd-lock-holder.js', import.meta.url)), etcd.endpoints, 'held-by-child', String(LEASE_TTL_S)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.once('exit', () => reject(new Error('lock holder exited before holding the lock')));
  });
  const client = new EtcdClient({ endpoints: etcd.endpoints.split(',') });
  try {
    const locks = new EtcdLocks(client, { ttlSeconds: LEASE_TTL_S, waitMs: 2000 });
    // While the holder lives, nobody else gets it.
    const early = await locks.run('held-by-child', async () => 'got').catch((e: Error) => e.message);
    assert.match(early, /held by another server/);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const waiting = new EtcdLocks(client, { ttlSeconds: LEASE_TTL_S, waitMs: (LEASE_TTL_S + 5) * 1000 });
    await waiting.run('held-by-child', async () => undefined);
    const ms = Date.now() - killedAt;
    assert.ok(ms <= LEASE_TTL_S * 1000 + 1500, `the lock came free ${ms} ms after its holder died (TTL ${LEASE_TTL_S} s)`);
    process.stderr.write(`  [etcd-repo] a killed lock holder's lock came free after ${ms} ms (TTL ${LEASE_TTL_S} s)\n`);
  } finally {
    client.close();
  }
});

test('one etcd member down: repo writes and publishes go on; two down: reads and the apt tree answer, writes 503 naming etcd; quorum back: writes again', async () => {
  const live = servers.filter((s) => s.alive());
  assert.ok(live.length >= 3, `${live.length} servers alive`);
  const [a, b, c] = live as [ServerProcess, ServerProcess, ServerProcess];
  await etcd.kill(0);
  try {
    assert.is((await a.api('POST', '/api/repos', { Name: 'q' })).status, 201);
    await upload(b, 'q', [debs[0]!]);
    const pub = await c.api('POST', '/api/publish/:.', { Sources: [{ Name: 'q' }], Distribution: 'quorum', Architectures: ['amd64'] });
    assert.is(pub.status, 201, pub.text);
    const before = await agreedInRelease('quorum');

    await etcd.kill(1);
    try {
      // Writes are refused, each with a clear error, within a bound (no request hangs on etcd).
      for (const [what, s, send] of [
        ['a repo create', a, () => a.api('POST', '/api/repos', { Name: 'no-quorum' })],
        ['a publish', b, () => b.api('PUT', '/api/publish/:./quorum', {})],
        ['an upload', c, () => uploadAndAdd(c, 'q', [debs[1]!])],
        ['a snapshot', a, () => a.api('POST', '/api/repos/q/snapshots', { Name: 'snap-no-quorum' })],
        ['a repo edit', b, () => b.api('PUT', '/api/repos/q', { Comment: 'edited without quorum' })],
        ['a drop', c, () => c.api('DELETE', '/api/publish/:./quorum')],
        ['a db cleanup', a, () => a.api('POST', '/api/db/cleanup')],
      ] as const) {
        const t0 = Date.now();
        const r = await send().catch((e: Error) => {
          throw new Error(`${what}: ${e.message} (${e.cause instanceof Error ? e.cause.message : ''}); server ${s.alive() ? 'alive' : `gone ${JSON.stringify(s.exit())}`}:\n${s.output().slice(-4000)}`);
        });
        const ms = Date.now() - t0;
        assert.is(r.status, 503, `${what} without quorum: ${r.status} ${r.text}`);
        assert.match(r.text, /etcd/, `${what}: the error names etcd`);
        assert.ok(ms < 30_000, `${what} took ${ms} ms to be refused`);
        process.stderr.write(`  [etcd-repo] no quorum: ${what} refused (503) after ${ms} ms\n`);
      }
      // As aptly tasks (`_async`): accepted (202), and the task fails naming etcd.
      for (const [what, s, path, method] of [
        ['an async publish', b, '/api/publish/:./quorum?_async=true', 'PUT'],
        ['an async snapshot', c, '/api/repos/q/snapshots?_async=true', 'POST'],
      ] as const) {
        const r = await s.api(method, path, method === 'PUT' ? {} : { Name: 'async-no-quorum' });
        assert.is(r.status, 202, `${what}: ${r.text}`);
        const id = (r.json as { ID: number }).ID;
        const done = (await s.api('GET', `/api/tasks/${id}/wait`)).json as { State: number };
        const output = (await s.api('GET', `/api/tasks/${id}/output`)).json as string;
        assert.is(done.State, 3, `${what}: task state ${done.State}: ${output}`);
        assert.match(output, /etcd/, `${what}: ${output}`);
      }
      // Reads answer from each server's replica, and the published tree is served unchanged.
      for (const s of live) {
        assert.ok(s.alive(), `${s.url} still runs: ${s.output().slice(-2000)}`);
        const keys = (await s.api('GET', '/api/repos/q/packages')).json as string[];
        assert.is(keys.length, 1, `${s.url} reads the repo without quorum`);
        assert.is(await inRelease(s, 'quorum'), before, `${s.url} serves the same InRelease`);
      }
    } finally {
      await etcd.restart(1);
    }
    await etcd.waitQuorum();
    // Writes work again once quorum is back (servers may take a moment to reconnect).
    let again = { status: 0, text: '' };
    for (let i = 0; i < 20 && again.status !== 201; i++) {
      again = await a.api('POST', '/api/repos', { Name: 'after-quorum' });
      if (again.status !== 201) await new Promise((r) => setTimeout(r, 500));
    }
    assert.is(again.status, 201, again.text);
    assert.is((await b.api('PUT', '/api/publish/:./quorum', {})).status, 200);
  } finally {
    await etcd.restart(0);
  }
});

test.run();
