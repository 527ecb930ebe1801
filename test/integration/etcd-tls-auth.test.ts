// A group on an etcd that asks for what production etcd asks for (issue 15: "TLS/client-cert and
// user/password options as etcd offers"): client URLs over TLS with client certificates required
// (--client-cert-auth) and etcd's user/password authentication enabled. One real member
// (Debian's etcd-server) with a CA, server and client certificates made by openssl here.
//   1. `debpkg serve --etcd https://… --etcd-cacert --etcd-cert --etcd-key --etcd-user` starts;
//      a unit's heartbeats keep it alive past its TTL (lease renewals on the HTTP/2 keepalive
//      stream carry the certificate and the auth token), it expires once they stop; a repo made
//      through the API is a key on etcd (read back with etcdctl as that user).
//   2. Without the client certificate, with a wrong password, or with a client certificate that
//      has a Common Name, `serve` exits non-zero at once with an error naming etcd (and for the
//      CN, the fix). etcd's JSON gateway, which the client speaks, refuses (HTTP 400) any client
//      certificate with a CN once auth is on (embed/serve.go; a CN would otherwise be an
//      identity the gateway cannot pass on): the user is --etcd-user, the certificate has no CN.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/ports.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const NODE_TOKEN = 'etcd-tls-node-token';
const PASSWORD = 'Tls-Auth-pw1';
const TTL_S = 3;

let dir = '';
let host = '';
let url = '';
let etcd: ChildProcess | undefined;
let etcdLog = '';
let server: ServerProcess | undefined;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** etcdctl over TLS with the client certificate (and the user, when given). */
function ctl(args: string[], user?: string): string {
  return sh('etcdctl', ['--endpoints', url, '--cacert', join(dir, 'ca.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-key.pem'), ...(user ? ['--user', user] : []), ...args]);
}

const tlsArgs = (): string[] => ['--etcd', url, '--etcd-cacert', join(dir, 'ca.pem'), '--etcd-cert', join(dir, 'client.pem'), '--etcd-key', join(dir, 'client-key.pem')];

test.before(async () => {
  dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-etcd-tls-'));
  host = `127.0.${100 + Math.floor(Math.random() * 150)}.9`;
  url = `https://${host}:${await freePort(host)}`;
  const peer = `http://${host}:${await freePort(host)}`;
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=debpkg test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem']);
  const issue = (name: string, subject: string, ext: string): void => {
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`]);
    spawnSync('sh', ['-c', `printf '%s\\n' '${ext}' > ${name}.ext`], { cwd: dir });
    sh('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  // clientAuth too: etcd's gateway calls its own gRPC server with the server certificate.
  issue('server', `/CN=${host}`, `subjectAltName=IP:${host}\nextendedKeyUsage=serverAuth,clientAuth`);
  issue('client', '/O=debpkg group', 'extendedKeyUsage=clientAuth');
  issue('client-cn', '/CN=debpkg-server', 'extendedKeyUsage=clientAuth');
  etcd = spawn(
    'etcd',
    [
      '--name', 'tls1', '--data-dir', join(dir, 'data'),
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `tls1=${peer}`,
      '--client-cert-auth', '--trusted-ca-file', join(dir, 'ca.pem'), '--cert-file', join(dir, 'server.pem'), '--key-file', join(dir, 'server-key.pem'),
      '--logger', 'zap', '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  etcd.stderr!.on('data', (b: Buffer) => (etcdLog = (etcdLog + b.toString()).slice(-4000)));
  for (let i = 0; ; i++) {
    try {
      ctl(['endpoint', 'health']);
      break;
    } catch (err) {
      if (i > 100) throw new Error(`etcd over TLS not healthy: ${(err as Error).message}\n${etcdLog}`);
      await sleep(200);
    }
  }
  ctl(['user', 'add', `root:${PASSWORD}`]);
  ctl(['auth', 'enable']);
  await mkdir(join(dir, 'shared'));
});

test.after(async () => {
  await server?.stop();
  etcd?.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function beat(node: string): Promise<number> {
  const r = await fetch(`${server!.url}/api/units/tls/${node}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ Address: '10.0.0.1', Port: 8080, Color: 'blue', Version: '1.0-1', Package: 'tls' }),
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  return r.status;
}

async function alive(node: string): Promise<boolean> {
  const s = (await server!.api('GET', '/api/services/tls')).json as { Units: { Node: string; Alive: boolean }[] };
  return s.Units.some((u) => u.Node === node && u.Alive);
}

test('serve on TLS with client certificates and user/password auth: heartbeats renew, a stopped unit expires, repos live on etcd', async () => {
  assert.throws(() => ctl(['get', '/', '--prefix', '--keys-only']), /user name is empty|authentication|permission/i, 'etcd refuses a request without a user');
  // --shared-dir: the repo metadata on etcd too, not only the registry.
  server = await startServerProcess({ args: [...tlsArgs(), '--etcd-user', `root:${PASSWORD}`, '--etcd-lease-ttl', `${TTL_S}s`, '--unit-ttl', `${TTL_S}s`, '--shared-dir', join(dir, 'shared')], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN } });
  // Beating through twice the TTL: the lease is renewed on the keepalive stream (TLS + token).
  for (let i = 0; i < 2 * TTL_S * 2; i++) {
    assert.is(await beat('n1'), 200);
    await sleep(500);
  }
  assert.ok(await alive('n1'), 'alive after beating past its TTL');
  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })).text();
  assert.match(metrics, new RegExp(`debpkg_etcd_keepalive_member\\{[^}]*${host.replace(/\./g, '\\.')}`), 'the keepalive stream is on the TLS member');
  const stoppedAt = Date.now();
  await (async () => {
    while (Date.now() - stoppedAt < (TTL_S + 3) * 1000) {
      if (!(await alive('n1'))) return;
      await sleep(100);
    }
    assert.unreachable('the unit did not expire after its heartbeats stopped');
  })();
  const gone = Date.now() - stoppedAt;
  console.log(`  unit expired ${gone} ms after its last heartbeat (TTL ${TTL_S} s)`);
  assert.ok(gone <= (TTL_S + 1.5) * 1000, `${gone} ms`);

  const repo = await server.api('POST', '/api/repos', { Name: 'tls-repo' });
  assert.is(repo.status, 201, repo.text);
  const keys = ctl(['get', '/', '--prefix', '--keys-only'], `root:${PASSWORD}`);
  assert.match(keys, /tls-repo/, 'the repo is a key on etcd');
});

test('a missing client certificate or a wrong password: serve exits non-zero naming etcd', async () => {
  await server?.stop();
  server = undefined;
  for (const [what, args] of [
    ['no client certificate', ['--etcd', url, '--etcd-cacert', join(dir, 'ca.pem'), '--etcd-user', `root:${PASSWORD}`]],
    ['wrong password', [...tlsArgs(), '--etcd-user', 'root:not-the-password']],
    ['a client certificate with a Common Name', ['--etcd', url, '--etcd-cacert', join(dir, 'ca.pem'), '--etcd-cert', join(dir, 'client-cn.pem'), '--etcd-key', join(dir, 'client-cn-key.pem'), '--etcd-user', `root:${PASSWORD}`]],
  ] as const) {
    const t0 = Date.now();
    const err = await startServerProcess({ args: [...args], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN }, startTimeoutMs: 40_000 }).then(
      async (s) => {
        await s.stop();
        return undefined;
      },
      (e: Error) => e.message,
    );
    assert.ok(err !== undefined, `${what}: serve started`);
    assert.match(err, /server exited before it answered \(\{"code":[1-9]/, `${what}: ${err.slice(0, 300)}`);
    assert.match(err, /etcd/i, `${what}: names etcd`);
    assert.ok(Date.now() - t0 < 20_000, `${what}: exited after ${Date.now() - t0} ms`);
    if (what.includes('Common Name')) assert.match(err, /without a CN/, 'the fix is named');
    if (what.includes('password')) assert.match(err, /authentication failed/, 'etcd\'s reason is passed on');
    console.log(`  ${what}: ${err.split('\n').find((l) => /etcd/i.test(l) && !/exited before/.test(l))?.slice(0, 200) ?? ''}`);
  }
});

test.run();
