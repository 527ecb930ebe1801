// The heartbeat answer's Interval follows the server's TTL (a fifth of it unless set): an agent
// that heartbeats as told keeps its lease through four missed heartbeats, whatever --unit-ttl is.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TEST_NODE_TOKEN, TestRepoServer } from '../support/repo-server.js';

const UNIT = { Address: '127.0.0.1', Port: 8080, Color: 'blue', Version: '1.0-1', Package: 'hb-demo', Health: 'healthy', Weight: 100, HealthPath: '/healthz' };

async function answerFor(color: { ttlMs: number; intervalMs?: number }): Promise<{ Ttl: number; Interval: number }> {
  const server = await TestRepoServer.start({ color: { probe: false, probeTimeoutMs: 1000, ...color } });
  try {
    const r = await server.api('PUT', '/api/units/hb-demo/node-1', UNIT, TEST_NODE_TOKEN);
    assert.is(r.status, 200, r.text);
    return r.json as { Ttl: number; Interval: number };
  } finally {
    await server.stop();
  }
}

test('heartbeat answer: Interval is a fifth of the TTL by default (10 s → 2 s, 30 s → 6 s, 3 s → 0.6 s)', async () => {
  for (const [ttlMs, interval] of [
    [10_000, 2],
    [30_000, 6],
    [3_000, 0.6],
  ] as const) {
    const a = await answerFor({ ttlMs });
    assert.is(a.Ttl, ttlMs / 1000);
    assert.is(a.Interval, interval, `TTL ${ttlMs / 1000} s`);
    assert.ok(a.Interval * 4 < a.Ttl, 'four missed heartbeats fit in the TTL');
  }
});

test('heartbeat answer: an interval the operator configured is kept', async () => {
  const a = await answerFor({ ttlMs: 30_000, intervalMs: 1_500 });
  assert.is(a.Ttl, 30);
  assert.is(a.Interval, 1.5);
});

test.run();
