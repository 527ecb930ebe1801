// The heartbeat fast path (http/unit-front.ts): agents' heartbeats answered before fastify must
// answer exactly as the fastify route does (the same request with a query string still goes
// through fastify: the two are compared byte for byte), be counted in both metrics endpoints,
// and cost no log line each when they succeed (10,000 units would write 5,000 lines a second).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const NODE_TOKEN = 'unit-front-node-token';
let server: ServerProcess | undefined;

test.before(async () => {
  server = await startServerProcess({ env: { DEBPKG_NODE_TOKEN: NODE_TOKEN, DEBPKG_LOG_LEVEL: 'info' } });
});

test.after(async () => {
  await server?.stop();
});

async function put(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(`${server!.url}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json', ...headers }, body });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

const good = (color: string): string => JSON.stringify({ Address: '10.1.2.3', Port: 8080, Color: color, Version: '1.0-1', Package: 'front' });

test('a heartbeat answers as the fastify route does, for good and bad bodies alike', async () => {
  const bodies = [
    '{bad json',
    '',
    '[]',
    '{"Address":"10.1.2.3"}',
    '{"Address":"10.1.2.3","Port":8080,"Color":"red","Version":"1"}',
    '{"Address":"10.1.2.3","Port":8080,"Color":"blue","Version":"1","Weight":999}',
    '{"__proto__":{"x":1},"Address":"10.1.2.3","Port":8080,"Color":"blue","Version":"1"}',
    '{"Address":"10.1.2.3","Port":8080,"Color":"blue","Version":"1","Surprise":true}',
    '{"Address":"10.1.2.3","Port":"8080","Color":"blue","Version":"1"}',
    '{"Address":"10.1.2.3","Port":8080,"Color":"blue","Version":"1","Health":"meh"}',
  ];
  for (const body of bodies) {
    const fast = await put('/api/units/front/n1', body);
    const routed = await put('/api/units/front/n1?via=fastify', body);
    assert.is(fast.status, 400, `${body}: ${fast.text}`);
    assert.equal({ status: fast.status, type: fast.type, text: fast.text }, routed, `same answer for ${JSON.stringify(body)}`);
  }
  // A good heartbeat: the same record both ways (LastSeen aside).
  const a = JSON.parse((await put('/api/units/front/n2', good('blue'))).text) as { Unit: Record<string, unknown>; Ttl: number };
  const b = JSON.parse((await put('/api/units/front/n2?via=fastify', good('blue'))).text) as { Unit: Record<string, unknown>; Ttl: number };
  delete a.Unit.LastSeen;
  delete b.Unit.LastSeen;
  assert.equal(a, b);
  assert.is(a.Unit.Node, 'n2');
  // Refused tokens and other shapes still reach fastify's answers.
  assert.is((await put('/api/units/front/n2', good('blue'), { authorization: 'Bearer wrong' })).status, 401);
  const plain = await put('/api/units/front/n2', good('blue'), { 'content-type': 'text/plain' });
  assert.equal(plain, await put('/api/units/front/n2?via=fastify', good('blue'), { 'content-type': 'text/plain' }));
  assert.is(plain.status, 400);
});

test('fast-path heartbeats are counted in /metrics and /api/metrics and log nothing when they succeed', async () => {
  const before = server!.output();
  for (let i = 0; i < 40; i++) assert.is((await put('/api/units/counted/n1', good(i % 2 ? 'blue' : 'green'))).status, 200);
  assert.is((await put('/api/units/counted/n1', '{bad')).status, 400);
  const m = (await server!.api('GET', '/metrics')).text;
  assert.match(m, /debpkg_unit_heartbeats_total\{service="counted",color="blue"\} 20\b/);
  assert.match(m, /debpkg_unit_heartbeats_total\{service="counted",color="green"\} 20\b/);
  assert.match(m, /debpkg_http_request_duration_seconds_count\{method="PUT",route="\/api\/units\/:service\/:node",status="400"\} [1-9]/);
  const aptly = (await server!.api('GET', '/api/metrics')).text;
  assert.match(aptly, /aptly_api_http_requests_total\{code="200",method="PUT",path="\/api\/units"\} [1-9]/);
  assert.match(aptly, /aptly_api_http_requests_in_flight\{method="PUT",path="\/api\/units"\} 0\b/);
  await new Promise((r) => setTimeout(r, 300));
  const log = server!.output().slice(before.length);
  const writes = log.split('\n').filter((l) => l.includes('/api/units/counted/'));
  assert.is(writes.length, 1, `one log line (the refused heartbeat), got:\n${writes.join('\n')}`);
  assert.match(writes[0]!, /"status":400/);
});

test.run();
