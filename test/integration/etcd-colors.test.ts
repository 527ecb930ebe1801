// Color groups on etcd: 3 real etcd members (Debian's etcd-server) + 3 `debpkg serve --etcd`
// processes + one HAProxy they share (run by the test; only the elected server drives it),
// under continuous bounded load through HAProxy. Heartbeats come from the test (the agent's
// PUT), spread over the servers and failing over between them as the agent does.
//   1. kill -9 the LB-driving server during a rolling swap: 0 failed requests, the new leader
//      finishes the swap within 2 × lease TTL, and the audit log tells it once.
//   2. one etcd member down: heartbeats and swaps go on. Two down: reads answer, writes get a
//      503 naming etcd, HAProxy keeps its weights; when quorum returns no unit has expired, and
//      the 503'd swap etcd commits then is refused at once (a new swap is accepted, no 409).
//   3. a new server joins and serves the same registry.
//   4. a takeover that fails at first (the LB's admin socket is gone when the new leader comes)
//      is tried again: the half-done swap waits, and finishes once the socket is back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/color-backends.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { failures, startLoad, type LoadRun } from '../support/load.js';
import { freePort } from '../support/ports.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { parseServersState, runtimeCommand } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { renderHaproxy } from '../../repo-server/colors/lb/haproxy-config.js';

const NODE_TOKEN = 'etcd-test-node-token';
const UNIT_TTL_S = 3;
const LEASE_TTL_S = 3;

let etcd: EtcdCluster;
let dir = '';
let haproxy: ChildProcess | undefined;
let socket = '';
let configFile = '';
let lbUrl = '';
const servers: ServerProcess[] = [];
let backends: Backend[] = [];
let load: LoadRun | undefined;
let stopBeats = false;
let beats: Promise<void> | undefined;
/** Heartbeat answers by status, to see writes refused and resumed. */
const beatStatus = new Map<number, number>();

interface ServiceJson {
  Active: string | null;
  Weights: { blue: number; green: number };
  Units: { Node: string; Alive: boolean; Color: string }[];
}
interface SwapJson {
  Id: number;
  Kind: string;
  Result: string;
  Steps: { Weight: number }[];
  Finished: string;
}

function serverArgs(): string[] {
  return ['--etcd', etcd.endpoints, '--etcd-lease-ttl', `${LEASE_TTL_S}s`, '--unit-ttl', `${UNIT_TTL_S}s`, '--lb', 'haproxy', '--no-lb-manage', '--lb-dir', dir, '--lb-config', configFile, '--lb-socket', socket, '--lb-reload', `kill -USR2 ${haproxy!.pid}`];
}

async function startServer(): Promise<ServerProcess> {
  const s = await startServerProcess({ args: serverArgs(), env: { DEBPKG_NODE_TOKEN: NODE_TOKEN, DEBPKG_LOG_LEVEL: 'info' } });
  servers.push(s);
  return s;
}

/** The agent's view: try its server, move to the next on a failed connection or a 5xx. */
async function beat(b: Backend, i: number): Promise<void> {
  const live = servers.filter((s) => s.alive());
  for (let k = 0; k < live.length; k++) {
    const s = live[(i + k) % live.length]!;
    try {
      const res = await fetch(`${s.url}/api/units/web/${b.node}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web', Health: 'healthy' }),
        signal: AbortSignal.timeout(6000),
      });
      await res.arrayBuffer();
      beatStatus.set(res.status, (beatStatus.get(res.status) ?? 0) + 1);
      if (res.status < 500) return;
    } catch {
      // next server
    }
  }
}

async function heartbeatLoop(): Promise<void> {
  while (!stopBeats) {
    await Promise.all(backends.map((b, i) => beat(b, i)));
    await sleep(700);
  }
}

async function service(s: ServerProcess): Promise<ServiceJson> {
  const r = await s.api('GET', '/api/services/web');
  assert.is(r.status, 200, r.text);
  return r.json as ServiceJson;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function leaderPid(): Promise<number> {
  const id = (await etcd.ctl('get', '/debpkg/colors/leader', '--print-value-only')).trim();
  const m = /-(\d+)-[0-9a-f]+$/.exec(id);
  assert.ok(m, `leader key holds a server id: '${id}'`);
  return Number(m[1]);
}

async function lbWeights(at = socket): Promise<Record<string, number>> {
  const state = parseServersState(await runtimeCommand(at, 'show servers state web'));
  return Object.fromEntries(state.map((s) => [s.name, s.weight]));
}

function colorWeight(w: Record<string, number>, color: string): number {
  return Object.entries(w).filter(([n]) => n.startsWith(`${color}-`)).reduce((n, [, v]) => n + v, 0);
}

test.before(async () => {
  etcd = await startEtcdCluster();
  dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-etcd-lb-'));
  socket = join(dir, 'admin.sock');
  configFile = join(dir, 'haproxy.cfg');
  const listen = `127.0.0.1:${await freePort()}`;
  lbUrl = `http://${listen}`;
  // The LB starts with the service's frontend and no servers: the leader adds them at runtime.
  const state = { services: [{ name: 'web', listen, healthPath: '/healthz', previewAllow: ['127.0.0.0/8'], servers: [] }] };
  await writeFile(configFile, renderHaproxy(state, { socket, stateFile: join(dir, 'server-state') }));
  haproxy = spawn('haproxy', ['-W', '-db', '-f', configFile], { stdio: 'ignore' });
  await waitFor('haproxy admin socket', async () => /Pid:/.test(await runtimeCommand(socket, 'show info', 500)));
  for (let i = 0; i < 3; i++) await startServer();
  const r = await servers[0]!.api('PUT', '/api/services/web', { Listen: listen });
  assert.is(r.status, 200, r.text);
  backends = [
    await startBackend('b1', 'blue', '127.0.0.1'),
    await startBackend('b2', 'blue', '127.0.0.1'),
    await startBackend('g1', 'green', '127.0.0.1'),
    await startBackend('g2', 'green', '127.0.0.1'),
  ];
  // Blue first, so that blue is the service's first healthy color.
  await Promise.all(backends.slice(0, 2).map((b, i) => beat(b, i)));
  await waitFor('blue active', async () => (await service(servers[1]!)).Active === 'blue');
  beats = heartbeatLoop();
  await waitFor('4 units alive on every server', async () => {
    for (const s of servers) if ((await service(s)).Units.filter((u) => u.Alive).length !== 4) return false;
    return true;
  });
  await waitFor('HAProxy holds all 4 units', async () => Object.keys(await lbWeights()).length === 4);
  load = startLoad({ url: lbUrl, durationMs: 110_000, keepaliveClients: 2, closeClients: 2, ratePerSecond: 60, timeoutMs: 5000 });
});

test.after(async () => {
  stopBeats = true;
  await load?.stop();
  await beats;
  for (const s of servers) await s.stop();
  await Promise.all(backends.map((b) => b.close()));
  haproxy?.kill('SIGKILL');
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('kill -9 the LB-driving server during a rolling swap: the new leader finishes it, no request fails', async () => {
  const pid = await leaderPid();
  const leader = servers.find((s) => s.pid === pid)!;
  assert.ok(leader, 'the leader is one of our servers');
  const asker = servers.find((s) => s !== leader)!;
  const swap = asker.api('POST', '/api/services/web/swap', { To: 'green', Strategy: 'rolling', Steps: [20, 50, 100], Wait: '500ms' });
  await waitFor('the first step on HAProxy', async () => colorWeight(await lbWeights(), 'green') > 0, 10_000);
  process.kill(leader.pid, 'SIGKILL');
  const killedAt = Date.now();
  const r = await swap;
  assert.is(r.status, 200, r.text);
  const rec = r.json as SwapJson;
  assert.is(rec.Result, 'done');
  assert.equal(rec.Steps.map((s) => s.Weight), [20, 50, 100], 'each step recorded once');
  const tookMs = Date.parse(rec.Finished) - killedAt;
  console.log(`  the new leader finished the swap ${tookMs} ms after the kill (bound ${2 * LEASE_TTL_S * 1000} ms)`);
  if (tookMs > 2 * LEASE_TTL_S * 1000) {
    // Seen once in CI (28 s): what the surviving servers logged is what tells where it waited.
    for (const s of servers.filter((x) => x.alive())) process.stderr.write(`--- server ${s.pid} (log tail) ---\n${s.output().split('\n').slice(-60).join('\n')}\n`);
  }
  assert.ok(tookMs <= 2 * LEASE_TTL_S * 1000, `finished ${tookMs} ms after the kill (≤ ${2 * LEASE_TTL_S} s)`);
  const newLeader = await leaderPid();
  assert.is.not(newLeader, pid);
  const w = await lbWeights();
  assert.is(colorWeight(w, 'blue'), 0, JSON.stringify(w));
  assert.ok(colorWeight(w, 'green') > 0, JSON.stringify(w));
  // One story, the same on every live server: the initial color, then this swap, once.
  for (const s of servers.filter((x) => x.alive())) {
    const h = (await s.api('GET', '/api/services/web/history')).json as SwapJson[];
    assert.equal(h.map((x) => `${x.Id}:${x.Kind}:${x.Result}`), ['1:initial:done', '2:swap:done']);
  }
  await sleep(500);
  assert.equal(failures(load!.samples).length, 0, `failed requests: ${JSON.stringify(failures(load!.samples).slice(0, 3))}`);
  assert.ok(load!.samples.length > 100, `load ran (${load!.samples.length} requests)`);
});

test('one etcd member down: heartbeats and swaps go on; two down: reads answer, writes 503, LB static, no mass expiry', async () => {
  await etcd.kill(0);
  const live = servers.filter((s) => s.alive());
  const before503 = beatStatus.get(503) ?? 0;
  const r = await live[0]!.api('POST', '/api/services/web/swap', { To: 'blue' });
  assert.is(r.status, 200, r.text);
  await waitFor('blue on HAProxy', async () => colorWeight(await lbWeights(), 'green') === 0 && colorWeight(await lbWeights(), 'blue') > 0, 10_000);
  await sleep(UNIT_TTL_S * 1000 + 500);
  for (const s of live) assert.is((await service(s)).Units.filter((u) => u.Alive).length, 4, 'heartbeats renew with 2 of 3 members');

  // The member that stays leads when the other goes: a write it takes now sits in its log,
  // uncommitted, and commits when quorum returns (a follower's would be lost). So the swap
  // answered 503 below does reach etcd later, every run.
  await etcd.moveLeader(2);
  const weights = await lbWeights();
  await etcd.kill(1);
  // At once: the leader steps down 1–2 election timeouts after losing its quorum (CheckQuorum).
  const swap = await live[1]!.api('POST', '/api/services/web/swap', { To: 'green' });
  assert.is(swap.status, 503, swap.text);
  assert.match((swap.json as { error: string }).error, /etcd/);
  // Other writes are refused too, and no server goes down over them (a publish did, in the repo).
  for (const [what, r] of [
    ['a service edit', await live[0]!.api('PUT', '/api/services/web', { MinHealthy: 2 })],
    ['a rollback', await live[1]!.api('POST', '/api/services/web/rollback', {})],
  ] as const) {
    assert.is(r.status, 503, `${what} without quorum: ${r.status} ${r.text}`);
    assert.match(r.text, /etcd/, what);
  }
  for (const s of live) assert.ok(s.alive(), `${s.url} still runs: ${s.output().slice(-2000)}`);
  const read = await service(live[0]!);
  assert.is(read.Active, 'blue');
  // Past the unit TTL without quorum: leases cannot be renewed, nor can they expire.
  await sleep(UNIT_TTL_S * 1000 + 2000);
  assert.ok((beatStatus.get(503) ?? 0) > before503, 'heartbeats were refused while quorum was lost');
  assert.equal(await lbWeights(), weights, 'HAProxy kept its weights (fail static)');
  for (const s of live) assert.is((await service(s)).Units.filter((u) => u.Alive).length, 4, 'no unit dropped while etcd was down');

  // One member back first: the quorum is then {1, 2}, and member 1 cannot be elected without
  // the vote of member 2, whose log is longer (it holds the 503'd swap): member 2 leads again and
  // commits that swap. (With both back, 0 and 1 may elect each other and drop it.)
  await etcd.restart(1);
  await etcd.waitQuorum();
  const quorumAt = Date.now();
  // etcd's new leader gives every lease a fresh TTL: the agents' next heartbeats renew them.
  let minAlive = 4;
  const watching = (async () => {
    while (Date.now() < quorumAt + UNIT_TTL_S * 1000 + 3000) {
      for (const s of live) minAlive = Math.min(minAlive, (await service(s).catch(() => ({ Units: [] }) as unknown as ServiceJson)).Units.filter((u) => u.Alive).length);
      await sleep(200);
    }
  })();
  // At once, no retry: the swap answered 503 has just committed (with quorum) and nobody drives
  // it; it must not hold this one off with a 409 "in flight".
  const again = await live[1]!.api('POST', '/api/services/web/swap', { To: 'green' });
  const acceptedMs = Date.now() - quorumAt;
  await etcd.restart(0);
  assert.is(again.status, 200, again.text);
  console.log(`  a new swap was accepted (answered 200) ${acceptedMs} ms after etcd's quorum returned`);
  await watching;
  assert.is(minAlive, 4, 'no unit expired when quorum returned');
  // The swap etcd took only after answering 503 is in the audit log once: refused, never run.
  const h = (await live[0]!.api('GET', '/api/services/web/history')).json as (SwapJson & { Reason?: string })[];
  const refused = h.filter((x) => x.Result === 'refused');
  assert.is(refused.length, 1, JSON.stringify(h));
  assert.match(refused[0]!.Reason ?? '', /requester had given up/);
  assert.equal(failures(load!.samples).length, 0, `failed requests: ${JSON.stringify(failures(load!.samples).slice(0, 3))}`);
});

test('a new server joins and serves the same registry without manual steps', async () => {
  const s = await startServer();
  const ref = await service(servers.find((x) => x.alive() && x !== s)!);
  await waitFor('the same registry on the new server', async () => {
    const mine = await service(s);
    return mine.Active === ref.Active && JSON.stringify(mine.Weights) === JSON.stringify(ref.Weights) && mine.Units.filter((u) => u.Alive).length === 4;
  }, 10_000);
  const h = (await s.api('GET', '/api/services/web/history')).json as (SwapJson & { Reason?: string })[];
  const other = (await servers.find((x) => x.alive() && x !== s)!.api('GET', '/api/services/web/history')).json as SwapJson[];
  assert.equal(h, other, 'the same audit log on every server');
  assert.equal(h.filter((x) => x.Result === 'done').map((x) => x.Kind), ['initial', 'swap', 'swap', 'swap']);
  // The swap answered 503 while quorum was lost reached etcd once quorum was back: recorded as
  // refused, once, never run.
  assert.equal(h.filter((r) => r.Result !== 'done').map((r) => `${r.Result}: ${r.Reason ?? ''}`), ['refused: etcd committed the request only after the requester had given up (answered 503): nothing was moved']);
});

test('a failed takeover is tried again: the half-done swap finishes once the LB answers', async () => {
  assert.is((await service(servers.find((x) => x.alive())!)).Active, 'green');
  const pid = await leaderPid();
  const leader = servers.find((s) => s.pid === pid)!;
  const asker = servers.find((s) => s !== leader && s.alive())!;
  const swap = asker.api('POST', '/api/services/web/swap', { To: 'blue', Strategy: 'rolling', Steps: [20, 50, 100], Wait: '500ms' });
  await waitFor('the first step on HAProxy', async () => colorWeight(await lbWeights(), 'blue') > 0, 10_000);
  process.kill(leader.pid, 'SIGKILL');
  // Within the lease TTL, so before any server can take over: the path the servers use is gone
  // (HAProxy keeps its listener; only new connections by that name fail).
  const away = `${socket}.away`;
  await rename(socket, away);
  let settled = false;
  // Never left unhandled: on a failure the servers are stopped under a request still waiting.
  swap.then(() => (settled = true), () => (settled = true));
  try {
    await sleep(2 * LEASE_TTL_S * 1000 + 2000);
    assert.is(settled, false, 'the swap waits while the new leader cannot reach the LB');
    const w = await lbWeights(away);
    assert.ok(colorWeight(w, 'blue') > 0 && colorWeight(w, 'green') > 0, `HAProxy kept the first step's weights: ${JSON.stringify(w)}`);
  } finally {
    await rename(away, socket);
  }
  const backAt = Date.now();
  // The bound's timer is cancelled once the swap answers (else it holds the process 20 s).
  const bound = new AbortController();
  const r = await Promise.race([
    swap,
    sleep(20_000, undefined, { signal: bound.signal }).then((): never => {
      throw new Error('the swap did not finish within 20 s of the socket coming back');
    }),
  ]).finally(() => bound.abort());
  assert.is(r.status, 200, r.text);
  const rec = r.json as SwapJson;
  const tookMs = Date.parse(rec.Finished) - backAt;
  console.log(`  the swap finished ${tookMs} ms after the LB's socket came back`);
  assert.is(rec.Result, 'done');
  assert.equal(rec.Steps.map((s) => s.Weight), [20, 50, 100], 'each step recorded once');
  assert.ok(tookMs <= 5000, `finished ${tookMs} ms after the socket came back`);
  const w = await lbWeights();
  assert.is(colorWeight(w, 'green'), 0, JSON.stringify(w));
  assert.ok(colorWeight(w, 'blue') > 0, JSON.stringify(w));
  assert.equal(failures(load!.samples).length, 0, `failed requests: ${JSON.stringify(failures(load!.samples).slice(0, 3))}`);
});

test.run();
