// The one table from domain errors to HTTP: the statuses and bodies aptly's clients (and our
// CLI) rely on, including the swap gate's refusal with its recorded attempt.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorBody } from '../../repo-server/http/errors.js';
import { Conflict, Corrupt, DomainError, Invalid, NotFound, Refused, TooLarge, Unsatisfiable, UpstreamFailed } from '../../repo-server/model/errors.js';
import { GateRefused } from '../../repo-server/colors/swap.js';
import type { SwapRecord } from '../../repo-server/colors/model.js';

test('each kind answers with the status aptly uses for it, body {"error": message}', () => {
  const cases: Array<[DomainError, number]> = [
    [new Invalid('bad field'), 400],
    [new NotFound('no such repo'), 404],
    [new Conflict('in use'), 409],
    [new Refused('gate said no'), 409],
    [new TooLarge('upload exceeds the limit'), 413],
    [new Unsatisfiable('no package found'), 422],
    [new Corrupt('stored value'), 500],
    [new UpstreamFailed('load balancer did not take the change'), 502],
  ];
  for (const [err, status] of cases) {
    const r = errorBody(err);
    assert.is(r.status, status, err.constructor.name);
    assert.is(JSON.stringify(r.body), JSON.stringify({ error: err.message }), err.constructor.name);
  }
});

test('details follow the message in the body, in order (the import report, the gate evidence)', () => {
  const r = errorBody(new Invalid('unable to import: x', { FailedFiles: ['a.deb'], Report: { Warnings: ['x'], Added: [], Removed: [] } }));
  assert.is(r.status, 400);
  assert.is(JSON.stringify(r.body), '{"error":"unable to import: x","FailedFiles":["a.deb"],"Report":{"Warnings":["x"],"Added":[],"Removed":[]}}');
});

test('a refused swap answers 409 with Code gate_refused and the recorded attempt', () => {
  const record: SwapRecord = {
    id: 7,
    service: 'web',
    kind: 'swap',
    user: 'admin@127.0.0.1',
    started: '2026-01-01T00:00:00.000Z',
    finished: '2026-01-01T00:00:01.000Z',
    from: { active: 'blue', weights: { blue: 100, green: 0 } },
    to: 'green',
    strategy: 'redblack',
    steps: [{ weight: 100, at: '2026-01-01T00:00:00.500Z', gate: { color: 'green', required: 1, healthy: 0, passed: false, units: [{ node: 'n1', alive: false, reported: 'healthy', probe: 'skipped', detail: 'lease expired' }] } }],
    result: 'refused',
    reason: '0 of 1 required green units healthy (n1: lease expired)',
  };
  const r = errorBody(new GateRefused(record));
  assert.is(r.status, 409);
  const body = r.body as { error: string; Code: string; Record: { Id: number; Result: string; Steps: Array<{ Gate: { Units: Array<{ Detail: string }> } }> } };
  assert.equal(Object.keys(body), ['error', 'Code', 'Record']);
  assert.is(body.error, `swap of web to green refused: ${record.reason}`);
  assert.is(body.Code, 'gate_refused');
  assert.is(body.Record.Id, 7);
  assert.is(body.Record.Result, 'refused');
  assert.is(body.Record.Steps[0]!.Gate.Units[0]!.Detail, 'lease expired');
});

test('anything else is a 500 without its message; a framework 4xx keeps its status', () => {
  assert.equal(errorBody(new Error('secret path /var/x')), { status: 500, body: { error: 'internal error' } });
  assert.equal(errorBody(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 })), { status: 400, body: { error: 'Body is not valid JSON' } });
});

test.run();
