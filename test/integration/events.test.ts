// GET /api/events: the registry's changes as server-sent events (the dashboard's live view).
// Read with fetch() and the token in the Authorization header, as the dashboard does; a raw
// socket that never reads plays the slow client. Bounds are set small so each one is reached.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseReader } from '../support/sse.js';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';

const LIMITS = { perToken: 3, heartbeatMs: 300, maxQueuedBytes: 256 << 10, coalesceMs: 0, beatMs: 500 };
let server: TestRepoServer;
const readers: SseReader[] = [];

const open = async (query = '', token: string | null = TEST_TOKEN): Promise<SseReader> => {
  const r = await SseReader.open(`${server.url}/api/events${query}`, token);
  readers.push(r);
  return r;
};
const unit = (service: string, node: string, color: string, version = '1.0-1') =>
  server.api('PUT', `/api/units/${service}/${node}`, { Address: '127.0.0.1', Port: 9, Color: color, Version: version, Package: service }, TEST_NODE_TOKEN);

async function metric(name: string, labels = ''): Promise<number> {
  const text = (await server.api('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

test.before(async () => {
  server = await TestRepoServer.start({ color: { ttlMs: 60_000, probe: false }, events: LIMITS });
});

test.after(async () => {
  for (const r of readers) r.close();
  await server?.stop();
});

interface Svc { Name: string; Active: string | null; Weights: Record<string, number>; Units: Array<{ Node: string; Version: string }> }

test('no token: 401 JSON; a bad service name: 400 naming it', async () => {
  const r = await open('', null);
  assert.is(r.status, 401);
  const bad = await server.api('GET', '/api/events?service=Bad_Name');
  assert.is(bad.status, 400);
  assert.match(String((bad.json as { error: string }).error), /service name 'Bad_Name'/);
});

test('a service view sees its units, weights, swaps and history change live', async () => {
  const r = await open('?service=web');
  assert.is(r.status, 200);
  assert.match(r.contentType, /^text\/event-stream/);
  await r.next('services');
  await r.next('removed', (d: { Name: string }) => d.Name === 'web');
  assert.is((await unit('web', 'b1', 'blue')).status, 200);
  const first = await r.next<Svc>('service', (s) => s.Units.some((u) => u.Node === 'b1') && s.Active === 'blue');
  assert.equal(first.Weights, { blue: 100, green: 0 });
  await r.next<Array<{ Name: string; Units: number }>>('services', (l) => l.some((s) => s.Name === 'web' && s.Units === 1));
  const initial = await r.next<{ Kind: string; To: string }>('swap', (s) => s.Kind === 'initial');
  assert.is(initial.To, 'blue');
  assert.is((await unit('web', 'g1', 'green', '2.0-1')).status, 200);
  await r.next<Svc>('service', (s) => s.Units.some((u) => u.Node === 'g1' && u.Version === '2.0-1'));
  const at = r.events.length;
  const swap = await server.api('POST', '/api/services/web/swap', { To: 'green', Strategy: 'canary', Weight: 30 });
  assert.is(swap.status, 200, swap.text);
  const rec = await r.next<{ Kind: string; Result: string; Strategy: string }>('swap', (s) => s.Kind === 'swap', at);
  assert.equal([rec.Result, rec.Strategy], ['done', 'canary']);
  await r.next<Svc>('service', (s) => s.Weights.green === 30 && s.Weights.blue === 70, at);
  // A new stream starts with the history.
  const late = await open('?service=web');
  const history = await late.next<Array<{ Kind: string }>>('history');
  assert.equal(history.map((h) => h.Kind), ['initial', 'swap']);
  // Lease renewals alone refresh LastSeen too (at most every beatMs).
  const before = r.events.length;
  await unit('web', 'b1', 'blue');
  await r.next<Svc>('service', () => true, before, LIMITS.beatMs + 2000);
  r.close();
  late.close();
});

test('heartbeat comments keep an idle stream visibly alive', async () => {
  const r = await open();
  await r.until('two pings', () => r.comments.filter((c) => c === 'ping').length >= 2, LIMITS.heartbeatMs * 5);
  r.close();
});

test('one token holds at most perToken streams; closing one frees its place', async () => {
  await sleep(200); // earlier tests' closed streams are released
  const held = [await open(), await open(), await open()];
  for (const h of held) assert.is(h.status, 200);
  const over = await open();
  assert.is(over.status, 429);
  // Another token is counted on its own.
  const node = await open('', TEST_NODE_TOKEN);
  assert.is(node.status, 403);
  held[0]!.close();
  const again = await (async () => {
    for (let i = 0; i < 50; i++) {
      const r = await open();
      if (r.status === 200) return r;
      await sleep(50);
    }
    return undefined;
  })();
  assert.ok(again, 'a place came free after a stream closed');
  for (const h of [...held, again!]) h.close();
});

test('a client that stops reading is cut once its backlog passes the bound; others keep theirs', async () => {
  await sleep(200);
  // 300 units make each `service` event of "big" about 60 kB.
  for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, (_, j) => unit('big', `n${i + j}`, 'blue')));
  const slowBefore = await metric('debpkg_event_streams_closed_total', '{reason="slow"}');
  // Earlier tests' streams are released first: the bound per token must not refuse this one.
  for (let i = 0; i < 50 && (await metric('debpkg_event_streams')) > 0; i++) await sleep(50);
  const sock: Socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(`GET /api/events?service=big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
  // Reads the answer's head, then stops reading for good.
  const head = await new Promise<string>((resolve) => sock.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  sock.pause();
  assert.match(head, /^HTTP\/1\.1 200 /);
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  const fast = await open('?service=big');
  assert.is(fast.status, 200);
  // Each configuration change sends every "big" viewer the whole service again.
  let sent = 0;
  const deadline = Date.now() + 30_000;
  while ((await metric('debpkg_event_streams_closed_total', '{reason="slow"}')) === slowBefore && Date.now() < deadline) {
    await Promise.all(Array.from({ length: 20 }, (_, k) => server.api('PUT', '/api/services/big', { MinHealthy: 1 + ((sent + k) % 50) })));
    sent += 20;
  }
  assert.is(await metric('debpkg_event_streams_closed_total', '{reason="slow"}'), slowBefore + 1, `the slow stream was not cut after ${sent} changes`);
  // The fast reader is still open and sees the last change.
  const last = 1 + ((sent - 1) % 50);
  await fast.next<{ MinHealthy: number }>('service', (s) => s.MinHealthy === last);
  assert.not.ok(fast.ended);
  sock.resume();
  await new Promise<void>((resolve) => (closed ? resolve() : sock.once('close', () => resolve())));
  fast.close();
});

test('server shutdown ends open streams instead of waiting on them', async () => {
  const other = await TestRepoServer.start({ color: { probe: false }, events: LIMITS });
  const r = await SseReader.open(`${other.url}/api/events`, TEST_TOKEN);
  await r.next('services');
  const t0 = Date.now();
  const stopped = await Promise.race([other.stop().then(() => 'stopped'), sleep(3000).then(() => 'still waiting')]);
  assert.is(stopped, 'stopped', `close did not finish in ${Date.now() - t0} ms`);
  await r.until('stream end', () => r.ended, 2000);
});

test.run();
