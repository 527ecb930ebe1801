// Color swaps through a real HAProxy under bounded load: 4 units (2 per color) on 127.0.0.x,
// the registry driving HAProxy's runtime API. Heartbeats here come from the test (the same
// PUT the node agent sends); color-e2e.test.ts runs the packaged agent itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/color-backends.js';
import { colorShare, failures, now, startLoad, switchTime, type Sample } from '../support/load.js';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';
import { runtimeCommand, parseServersState } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { lbPaths } from '../../repo-server/colors/lb/index.js';
import { freePort } from '../support/ports.js';

const TTL_MS = 3000;
const SWAPS = 20;

let server: TestRepoServer;
let backends: Backend[] = [];
let lbUrl = '';
const beating = new Set<string>();
let heartbeats: Promise<void> | undefined;
let stopBeats = false;

async function beat(b: Backend): Promise<void> {
  await server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web', Health: b.healthy ? 'healthy' : 'unhealthy' }, TEST_NODE_TOKEN);
}

async function heartbeatLoop(): Promise<void> {
  while (!stopBeats) {
    await Promise.all(backends.filter((b) => beating.has(b.node)).map((b) => beat(b).catch(() => undefined)));
    await sleep(500);
  }
}

async function haproxyServers(backend = 'web'): Promise<string[]> {
  const socket = lbPaths({ adapter: 'haproxy', manage: true }, server.dataDir).socket;
  return parseServersState(await runtimeCommand(socket, `show servers state ${backend}`)).map((s) => `${s.name}:${s.weight}`);
}

async function get(path: string, localAddress?: string): Promise<{ status: number; color: string | null }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const u = new URL(path, lbUrl);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, color: (res.headers['x-color'] as string | undefined) ?? null }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function swap(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await server.api('POST', '/api/services/web/swap', body);
  return { status: r.status, json: r.json as Record<string, unknown> };
}

async function active(): Promise<string> {
  return ((await server.api('GET', '/api/services/web')).json as { Active: string }).Active;
}

test.before(async () => {
  server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, lb: { adapter: 'haproxy', manage: true } } });
  backends = await Promise.all([
    startBackend('b1', 'blue', '127.0.0.2'),
    startBackend('b2', 'blue', '127.0.0.3'),
    startBackend('g1', 'green', '127.0.0.4'),
    startBackend('g2', 'green', '127.0.0.5'),
  ]);
  const port = await freePort();
  lbUrl = `http://127.0.0.1:${port}`;
  const cfg = await server.api('PUT', '/api/services/web', { Listen: `127.0.0.1:${port}`, PreviewAllow: ['127.0.0.1/32'] });
  assert.is(cfg.status, 200, cfg.text);
  // Blue first, so blue becomes the active color; then green joins at weight 0.
  for (const b of backends.filter((x) => x.color === 'blue')) beating.add(b.node);
  await Promise.all(backends.filter((x) => x.color === 'blue').map(beat));
  for (const b of backends) beating.add(b.node);
  heartbeats = heartbeatLoop();
  await sleep(1500); // HAProxy's first checks (inter 1s, rise 1)
});

test.after(async () => {
  stopBeats = true;
  await heartbeats;
  await server?.stop();
  await Promise.all(backends.map((b) => b.close()));
});

test('blue is active; preview routes reach one color and are limited by source address', async () => {
  assert.is(await active(), 'blue');
  for (let i = 0; i < 8; i++) assert.is((await get('/')).color, 'blue');
  assert.equal((await haproxyServers()).sort(), ['blue-b1:256', 'blue-b2:256', 'green-g1:0', 'green-g2:0']);
  for (let i = 0; i < 4; i++) assert.is((await get('/green/x')).color, 'green');
  for (let i = 0; i < 4; i++) assert.is((await get('/blue/x')).color, 'blue');
  assert.is((await get('/green/x', '127.0.0.9')).status, 403, 'preview from a source outside PreviewAllow');
  assert.is((await get('/x', '127.0.0.9')).color, 'blue', 'normal traffic from anywhere');
});

test(`${SWAPS} swaps under load: 0 failed requests, traffic on the new color within 1 s`, async () => {
  const load = startLoad({ url: lbUrl, keepaliveClients: 6, closeClients: 4, slowEvery: 10, ratePerSecond: 300, durationMs: 60_000 });
  await sleep(500);
  const results: { to: string; apiMs: number; switchMs: number | undefined }[] = [];
  let to: 'blue' | 'green' = 'green';
  for (let i = 0; i < SWAPS; i++) {
    const t0 = now();
    const r = await swap({ To: to });
    const apiMs = now() - t0;
    assert.is(r.status, 200, JSON.stringify(r.json));
    await sleep(700);
    results.push({ to, apiMs, switchMs: switchTime(load.samples, to, t0) });
    to = to === 'green' ? 'blue' : 'green';
  }
  const samples: Sample[] = await load.stop();
  const failed = failures(samples);
  const slow = samples.filter((s) => s.slow).length;
  const worst = Math.max(...results.map((r) => r.switchMs ?? Infinity));
  const worstApi = Math.max(...results.map((r) => r.apiMs));
  console.log(`haproxy: ${samples.length} requests (${slow} slow, ${samples.filter((s) => !s.keepalive).length} Connection: close), ${SWAPS} swaps, ${failed.length} failed; switch max ${worst.toFixed(0)} ms, swap API max ${worstApi.toFixed(0)} ms`);
  assert.is(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 5))}`);
  assert.ok(samples.length > 1000, 'the load was real');
  assert.ok(worst <= 1000, `traffic switched within 1 s of every command (worst ${worst} ms)`);
});

test('canary 10% → measured share 10 ± 2 %', async () => {
  assert.is(await active(), 'blue');
  const r = await swap({ To: 'green', Strategy: 'canary', Weight: 10 });
  assert.is(r.status, 200, JSON.stringify(r.json));
  const t0 = now();
  const load = startLoad({ url: lbUrl, keepaliveClients: 4, closeClients: 4, ratePerSecond: 400, durationMs: 5000 });
  const samples = await load.done;
  const share = colorShare(samples, t0, now());
  console.log(`canary: ${samples.length} requests, green share ${((share.green ?? 0) * 100).toFixed(1)}%`);
  assert.is(failures(samples).length, 0);
  assert.ok(samples.length >= 1000);
  assert.ok(Math.abs((share.green ?? 0) * 100 - 10) <= 2, `green share ${(share.green ?? 0) * 100}%`);
  // Back to all-blue for the next tests.
  assert.is((await server.api('POST', '/api/services/web/rollback')).status, 200);
  assert.equal((await haproxyServers()).sort(), ['blue-b1:256', 'blue-b2:256', 'green-g1:0', 'green-g2:0']);
});

test('swap to a failing or dead color is refused and traffic stays', async () => {
  const green = backends.filter((b) => b.color === 'green');
  green[0]!.healthy = false; // one of two failing: the default gate needs all
  await sleep(600);
  const r = await swap({ To: 'green' });
  assert.is(r.status, 409);
  assert.is(r.json.Code, 'gate_refused');
  assert.is(await active(), 'blue');
  assert.equal((await haproxyServers()).sort(), ['blue-b1:256', 'blue-b2:256', 'green-g1:0', 'green-g2:0']);
  for (let i = 0; i < 6; i++) assert.is((await get('/')).color, 'blue');
  // The gate checks live, not only the last heartbeat: a unit that dies between two beats is caught.
  green[0]!.healthy = true;
  await sleep(600);
  await green[1]!.close();
  const dead = await swap({ To: 'green' });
  assert.is(dead.status, 409, 'dead unit found by the live probe');
  assert.match(String(dead.json.error), /ECONNREFUSED/);
  assert.is(await active(), 'blue');
  // Restart it for what follows.
  backends[backends.indexOf(green[1]!)] = await startBackend('g2', 'green', '127.0.0.5', green[1]!.port);
});

test('a unit that stops heartbeating leaves the pool within the TTL', async () => {
  beating.delete('g2');
  const t0 = now();
  let gone = Infinity;
  while (now() - t0 < TTL_MS + 3000) {
    if (!(await haproxyServers()).some((s) => s.startsWith('green-g2'))) {
      gone = now() - t0;
      break;
    }
    await sleep(100);
  }
  console.log(`unit left the HAProxy pool ${gone.toFixed(0)} ms after its last heartbeat (TTL ${TTL_MS} ms)`);
  assert.ok(gone <= TTL_MS + 1500, `left after ${gone} ms`);
  const svc = (await server.api('GET', '/api/services/web')).json as { Units: { Node: string; Alive: boolean }[] };
  assert.is(svc.Units.find((u) => u.Node === 'g2')?.Alive, false);
  beating.add('g2');
  await sleep(1500);
  assert.ok((await haproxyServers()).some((s) => s.startsWith('green-g2')), 'back in the pool after it heartbeats again');
});

test('rollback restores the previous color in ≤ 1 s', async () => {
  assert.is((await swap({ To: 'green' })).status, 200);
  const load = startLoad({ url: lbUrl, keepaliveClients: 4, closeClients: 2, ratePerSecond: 200, durationMs: 4000 });
  await sleep(500);
  const t0 = now();
  const r = await server.api('POST', '/api/services/web/rollback');
  const apiMs = now() - t0;
  assert.is(r.status, 200, r.text);
  const samples = await load.done;
  const sw = switchTime(samples, 'blue', t0);
  console.log(`rollback: API ${apiMs.toFixed(0)} ms, traffic back on blue after ${sw?.toFixed(0)} ms`);
  assert.is(failures(samples).length, 0);
  assert.ok(apiMs <= 1000 && sw !== undefined && sw <= 1000);
  assert.is(await active(), 'blue');
  const history = (await server.api('GET', '/api/services/web/history')).json as { Kind: string; Result: string; User: string }[];
  assert.ok(history.some((h) => h.Kind === 'rollback' && h.Result === 'done'));
  assert.ok(history.some((h) => h.Result === 'refused'));
});

test('a reload (new service) keeps the running state; swaps never reload', async () => {
  const socket = lbPaths({ adapter: 'haproxy', manage: true }, server.dataDir).socket;
  const pid = /Pid: (\d+)/.exec(await runtimeCommand(socket, 'show info'))![1];
  assert.is((await swap({ To: 'green' })).status, 200);
  assert.is(/Pid: (\d+)/.exec(await runtimeCommand(socket, 'show info'))![1], pid, 'no reload for a swap');
  const port = await freePort();
  assert.is((await server.api('PUT', '/api/services/other', { Listen: `127.0.0.1:${port}` })).status, 200);
  assert.is.not(/Pid: (\d+)/.exec(await runtimeCommand(socket, 'show info'))![1], pid, 'a new frontend needs a reload');
  assert.equal((await haproxyServers()).sort(), ['blue-b1:0', 'blue-b2:0', 'green-g1:256', 'green-g2:256']);
  for (let i = 0; i < 6; i++) assert.is((await get('/')).color, 'green');
});

test.run();
