// The dry runs behind the dashboard's confirmation: POST .../swap/preview and
// .../rollback/preview plan the weights of each step and run the swap's own gate, and move
// nothing; a refused gate is answered with its reasons (200, Passed: false).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';

let server: TestRepoServer;
const unit = (node: string, color: string, health: string) =>
  server.api('PUT', `/api/units/web/${node}`, { Address: '127.0.0.1', Port: 9, Color: color, Version: '1.0-1', Package: 'web', Health: health }, TEST_NODE_TOKEN);

interface Preview {
  Kind: string; To: string; Passed: boolean; Reason?: string;
  From: { Active: string | null; Weights: Record<string, number> };
  Steps: Array<{ Weight: number; Traffic: { Active: string | null; Weights: Record<string, number> } }>;
  Gate: { Color: string; Required: number; Healthy: number; Units: Array<{ Node: string; Detail?: string }> } | null;
}
const weights = async () => ((await server.api('GET', '/api/services/web')).json as { Weights: Record<string, number> }).Weights;

test.before(async () => {
  server = await TestRepoServer.start({ color: { probe: false } });
  assert.is((await unit('b1', 'blue', 'healthy')).status, 200);
  assert.is((await unit('g1', 'green', 'unhealthy')).status, 200);
});
test.after(() => server?.stop());

test('a refused gate: its reasons, Passed false, and traffic untouched', async () => {
  const r = await server.api('POST', '/api/services/web/swap/preview', { To: 'green', Strategy: 'canary', Weight: 25 });
  assert.is(r.status, 200, r.text);
  const p = r.json as Preview;
  assert.is(p.Passed, false);
  assert.match(p.Reason ?? '', /0 of 1 required green units healthy \(g1: reports unhealthy\)/);
  assert.equal([p.Gate?.Color, p.Gate?.Healthy, p.Gate?.Required], ['green', 0, 1]);
  assert.equal(p.Steps, [{ Weight: 25, Traffic: { Active: 'blue', Weights: { blue: 75, green: 25 } } }]);
  assert.equal(await weights(), { blue: 100, green: 0 });
  // The real swap agrees with its preview.
  assert.is((await server.api('POST', '/api/services/web/swap', { To: 'green', Strategy: 'canary', Weight: 25 })).status, 409);
  // Nothing else was recorded by the preview: history holds the initial record and the refusal.
  const history = (await server.api('GET', '/api/services/web/history')).json as Array<{ Result: string }>;
  assert.equal(history.map((h) => h.Result), ['done', 'refused']);
});

test('a passing gate: every step of a rolling swap, before → after', async () => {
  assert.is((await unit('g1', 'green', 'healthy')).status, 200);
  const p = (await server.api('POST', '/api/services/web/swap/preview', { To: 'green', Strategy: 'rolling', Steps: [20, 60, 100] })).json as Preview;
  assert.is(p.Passed, true);
  assert.is(p.Reason, undefined);
  assert.equal(p.From, { Active: 'blue', Weights: { blue: 100, green: 0 } });
  assert.equal(p.Steps.map((s) => [s.Weight, s.Traffic.Active, s.Traffic.Weights.green]), [[20, 'blue', 20], [60, 'blue', 60], [100, 'green', 100]]);
  assert.equal(await weights(), { blue: 100, green: 0 });
});

test('rollback preview: nothing to roll back to, then the way back after a canary', async () => {
  const none = (await server.api('POST', '/api/services/web/rollback/preview', {})).json as Preview;
  assert.is(none.Passed, false);
  assert.match(none.Reason ?? '', /no earlier traffic state/);
  assert.is((await server.api('POST', '/api/services/web/swap', { To: 'green', Strategy: 'canary', Weight: 30 })).status, 200);
  const back = (await server.api('POST', '/api/services/web/rollback/preview', {})).json as Preview;
  assert.is(back.Passed, true);
  assert.equal([back.From.Weights.green, back.Steps[0]!.Traffic.Weights.green, back.To], [30, 0, 'blue']);
  assert.is((await unit('b1', 'blue', 'draining')).status, 200);
  const refused = (await server.api('POST', '/api/services/web/rollback/preview', {})).json as Preview;
  assert.is(refused.Passed, false);
  assert.match(refused.Reason ?? '', /b1: reports draining/);
  assert.equal(await weights(), { blue: 70, green: 30 });
});

test('bad bodies name the field; the node token may not preview', async () => {
  const bad = await server.api('POST', '/api/services/web/swap/preview', { To: 'red' });
  assert.is(bad.status, 400);
  assert.match(String((bad.json as { error: string }).error), /To must be one of/);
  assert.is((await server.api('POST', '/api/services/nope/swap/preview', { To: 'green' })).status, 404);
  assert.is((await server.api('POST', '/api/services/web/swap/preview', { To: 'green' }, TEST_NODE_TOKEN)).status, 403);
});

test.run();
