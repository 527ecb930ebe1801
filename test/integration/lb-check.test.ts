// A service's own health check (PUT /api/services/<svc> {"Check": …}) reaches a real HAProxy:
// both in the rendered config (a reload, since the runtime API cannot change a server's check
// interval) and on servers added at runtime. Proved by what HAProxy does, not by its config
// text alone: with a fast check a failing unit is out within about a second; with a slow one
// (20 s, 3 failures) it is still in after 3 s, where the default check (1 s, 2 failures) would
// have taken it out. Bad values get a 400 naming the field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/color-backends.js';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';
import { runtimeCommand, parseServersState } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { lbPaths } from '../../repo-server/colors/lb/index.js';
import { freePort } from '../support/ports.js';
import { startAll } from '../support/start-all.js';

let server: TestRepoServer;
let backends: Backend[] = [];
let stopBeats = false;
let heartbeats: Promise<void> | undefined;
const beating = new Set<string>();

const paths = (): ReturnType<typeof lbPaths> => lbPaths({ adapter: 'haproxy', manage: true }, server.dataDir);

async function beat(b: Backend): Promise<void> {
  await server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web', Health: 'healthy' }, TEST_NODE_TOKEN);
}

async function heartbeatLoop(): Promise<void> {
  while (!stopBeats) {
    await Promise.all(backends.filter((b) => beating.has(b.node)).map((b) => beat(b).catch(() => undefined)));
    await sleep(500);
  }
}

/** HAProxy's operational state of a server of the traffic backend: 2 running, 0 stopped. */
async function opState(name: string): Promise<number | undefined> {
  return parseServersState(await runtimeCommand(paths().socket, 'show servers state web')).find((s) => s.name === name)?.opState;
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await ok().catch(() => false)) return Date.now() - t0;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

async function configure(check: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const r = await server.api('PUT', '/api/services/web', { Check: check });
  return { status: r.status, json: r.json as Record<string, unknown>, text: r.text };
}

test.before(async () => {
  server = await TestRepoServer.start({ color: { ttlMs: 5000, lb: { adapter: 'haproxy', manage: true } } });
  backends = await startAll([startBackend('b1', 'blue', '127.0.0.2'), startBackend('b2', 'blue', '127.0.0.3'), startBackend('b3', 'blue', '127.0.0.4')]);
  const cfg = await server.api('PUT', '/api/services/web', { Listen: `127.0.0.1:${await freePort()}` });
  assert.is(cfg.status, 200, cfg.text);
  for (const b of backends.slice(0, 2)) beating.add(b.node);
  await Promise.all(backends.slice(0, 2).map(beat));
  heartbeats = heartbeatLoop();
  await until('b1 and b2 running on HAProxy', 10_000, async () => (await opState('blue-b1')) === 2 && (await opState('blue-b2')) === 2);
});

test.after(async () => {
  stopBeats = true;
  await heartbeats;
  await server?.stop();
  await Promise.all(backends.map((b) => b.close()));
});

test('the default check is shown; bad Check values are refused naming the field, and nothing changes', async () => {
  const s = (await server.api('GET', '/api/services/web')).json as { Check: unknown };
  assert.equal(s.Check, { Interval: '1s', Fall: 2, Rise: 1, Timeout: '2s' });
  const before = await readFile(paths().configFile, 'utf8');
  for (const [check, field] of [
    [{ Interval: '50ms' }, 'Check.Interval'],
    [{ Interval: 'soon' }, 'Check.Interval'],
    [{ Timeout: '2m' }, 'Check.Timeout'],
    [{ Fall: 0 }, 'Check.Fall'],
    [{ Rise: 101 }, 'Check.Rise'],
    [{ Every: '1s' }, 'Every'],
    ['1s', 'Check'],
  ] as const) {
    const r = await configure(check);
    assert.is(r.status, 400, `${JSON.stringify(check)}: ${r.text}`);
    assert.ok(String(r.json.error).includes(field), `${JSON.stringify(check)}: '${String(r.json.error)}' names ${field}`);
  }
  assert.is(await readFile(paths().configFile, 'utf8'), before, 'the config is untouched');
});

test('a fast check (200ms, 2 failures) takes a failing unit out within about a second', async () => {
  const r = await configure({ Interval: '200ms', Fall: 2 });
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.Check, { Interval: '200ms', Fall: 2, Rise: 1, Timeout: '2s' }, 'fields left out keep their value');
  const config = await readFile(paths().configFile, 'utf8');
  assert.match(config, /server blue-b1 \S+ weight \d+ check inter 200ms fastinter 100ms downinter 200ms fall 2 rise 1/);
  assert.is(await opState('blue-b1'), 2);
  backends[0]!.healthy = false;
  const took = await until('b1 stopped by HAProxy', 3000, async () => (await opState('blue-b1')) === 0);
  console.log(`  failing unit out after ${took} ms (Interval 200ms, Fall 2)`);
  assert.ok(took <= 1500, `${took} ms`);
  backends[0]!.healthy = true;
  await until('b1 back', 3000, async () => (await opState('blue-b1')) === 2);
});

test('a slow check (20s, 3 failures) keeps a failing unit for 3 s, in the config and on a server added at runtime', async () => {
  const r = await configure({ Interval: '20s', Fall: 3, Rise: 2, Timeout: '1s' });
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.Check, { Interval: '20s', Fall: 3, Rise: 2, Timeout: '1s' });
  assert.match(await readFile(paths().configFile, 'utf8'), /timeout check 1000ms/);
  // b3 joins now: HAProxy gets it over the runtime API (add server), with the service's check.
  beating.add('b3');
  await beat(backends[2]!);
  await until('b3 on HAProxy', 5000, async () => (await opState('blue-b3')) === 2);
  backends[1]!.healthy = false;
  backends[2]!.healthy = false;
  await sleep(3000);
  assert.is(await opState('blue-b2'), 2, 'b2 (from the config) still running after 3 s');
  assert.is(await opState('blue-b3'), 2, 'b3 (added at runtime) still running after 3 s');
  backends[1]!.healthy = true;
  backends[2]!.healthy = true;
});

test('Check null puts the defaults back', async () => {
  const r = await configure(null);
  assert.is(r.status, 200, r.text);
  assert.equal(r.json.Check, { Interval: '1s', Fall: 2, Rise: 1, Timeout: '2s' });
  assert.match(await readFile(paths().configFile, 'utf8'), /check inter 1000ms fastinter 250ms downinter 1000ms fall 2 rise 1/);
});

test.run();
