// /metrics: who may scrape it, that Debian's promtool accepts the text, and that the values
// move with what the server does (requests by route pattern, upload/add/publish, generations,
// heartbeats, weights through a swap, gate refusals, expiries). Real units answer the gate's
// health probes (color-backends.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/color-backends.js';
import { debFileName, makeDeb } from '../support/deb-fixture.js';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';
import { startAll } from '../support/start-all.js';

const METRICS_TOKEN = 'test-metrics-token';
const TTL_MS = 1500;

let server: TestRepoServer;
let backends: Backend[] = [];

async function scrape(token: string | null = METRICS_TOKEN): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`${server.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** The value of one sample, by metric name and exact label set (in any order); 0 when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (have.size === want.length && want.every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

async function beat(b: Backend): Promise<number> {
  const r = await server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web' }, TEST_NODE_TOKEN);
  return r.status;
}

test.before(async () => {
  server = await TestRepoServer.start({ metricsToken: METRICS_TOKEN, color: { ttlMs: TTL_MS } });
  backends = await startAll([startBackend('b1', 'blue', '127.0.0.2'), startBackend('g1', 'green', '127.0.0.3')]);
});

test.after(async () => {
  await server?.stop();
  await Promise.all(backends.map((b) => b.close()));
});

test('only the admin and the metrics token may scrape; the metrics token opens nothing else', async () => {
  assert.is((await scrape(null)).status, 401);
  assert.is((await scrape(TEST_NODE_TOKEN)).status, 403);
  assert.is((await scrape('wrong')).status, 401);
  assert.is((await scrape(TEST_TOKEN)).status, 200);
  const ok = await scrape();
  assert.is(ok.status, 200);
  assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
  assert.is((await server.api('GET', '/api/repos', undefined, METRICS_TOKEN)).status, 403, 'the metrics token is no reader');
  assert.is((await server.api('POST', '/api/repos', { Name: 'x' }, METRICS_TOKEN)).status, 403);
});

test('requests are counted by route pattern and status, never by raw URL', async () => {
  const before = await scrape();
  const label = { method: 'GET', route: '/api/repos/:name', status: '404' };
  const n0 = value(before.text, 'debpkg_http_request_duration_seconds_count', label);
  for (const name of ['a', 'b', 'c']) assert.is((await server.api('GET', `/api/repos/${name}`)).status, 404);
  const after = await scrape();
  assert.is(value(after.text, 'debpkg_http_request_duration_seconds_count', label), n0 + 3);
  assert.not.match(after.text, /route="\/api\/repos\/a"/);
  assert.ok(value(after.text, 'debpkg_process_resident_memory_bytes') > 0, 'process metrics');
});

test('uploads, adds and publishes are timed; the publish generation moves', async () => {
  const form = new FormData();
  form.append('file', new Blob([makeDeb({ name: 'metered' })]), debFileName('metered'));
  assert.is((await server.api('POST', '/api/files/m', form)).status, 200);
  assert.is((await server.api('POST', '/api/repos', { Name: 'main' })).status, 201);
  assert.is((await server.api('POST', '/api/repos/main/file/m')).status, 200);
  assert.is((await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'main' }], Distribution: 'stable', Architectures: ['amd64'] })).status, 201);
  let t = (await scrape()).text;
  assert.is(value(t, 'debpkg_repo_operation_duration_seconds_count', { operation: 'upload', outcome: 'ok' }), 1);
  assert.is(value(t, 'debpkg_repo_operation_duration_seconds_count', { operation: 'add', outcome: 'ok' }), 1);
  assert.is(value(t, 'debpkg_repo_operation_duration_seconds_count', { operation: 'publish', outcome: 'ok' }), 1);
  const g1 = value(t, 'debpkg_publish_generation', { prefix: '.', distribution: 'stable' });
  assert.ok(g1 >= 1, `generation ${g1}`);
  await sleep(1100); // one publish per second per distribution (strictly increasing Release Date)
  assert.is((await server.api('PUT', '/api/publish/:./stable', {})).status, 200);
  t = (await scrape()).text;
  assert.is(value(t, 'debpkg_publish_generation', { prefix: '.', distribution: 'stable' }), g1 + 1);
  assert.is(value(t, 'debpkg_repo_operation_duration_seconds_count', { operation: 'publish', outcome: 'ok' }), 2);
});

test('units, heartbeats, weights through a swap, gate refusals and expiries', async () => {
  const [blue, green] = backends as [Backend, Backend];
  assert.is(await beat(blue), 200);
  assert.is(await beat(green), 200);
  assert.is(await beat(green), 200);
  let t = (await scrape()).text;
  assert.is(value(t, 'debpkg_unit_heartbeats_total', { service: 'web', color: 'blue' }), 1);
  assert.is(value(t, 'debpkg_unit_heartbeats_total', { service: 'web', color: 'green' }), 2);
  assert.is(value(t, 'debpkg_units', { service: 'web', color: 'green', state: 'alive' }), 1);
  assert.is(value(t, 'debpkg_units', { service: 'web', color: 'green', state: 'healthy' }), 1);
  assert.is(value(t, 'debpkg_color_weight_percent', { service: 'web', color: 'blue' }), 100);
  assert.is(value(t, 'debpkg_color_active', { service: 'web', color: 'blue' }), 1);

  // A canary: the scrape shows the weights move.
  assert.is((await server.api('POST', '/api/services/web/swap', { To: 'green', Strategy: 'canary', Weight: 25 })).status, 200);
  t = (await scrape()).text;
  assert.is(value(t, 'debpkg_color_weight_percent', { service: 'web', color: 'green' }), 25);
  assert.is(value(t, 'debpkg_color_weight_percent', { service: 'web', color: 'blue' }), 75);
  assert.is(value(t, 'debpkg_swaps_total', { service: 'web', kind: 'swap', result: 'done' }), 1);

  // Green's health check fails: the gate refuses a full swap.
  green.healthy = false;
  const refused = await server.api('POST', '/api/services/web/swap', { To: 'green' });
  assert.is(refused.status, 409, refused.text);
  green.healthy = true;
  t = (await scrape()).text;
  assert.is(value(t, 'debpkg_gate_refusals_total', { service: 'web', color: 'green' }), 1);
  assert.is(value(t, 'debpkg_swaps_total', { service: 'web', kind: 'swap', result: 'refused' }), 1);
  assert.is(value(t, 'debpkg_color_weight_percent', { service: 'web', color: 'green' }), 25, 'a refused swap moves nothing');

  // No more heartbeats: both leases run out.
  const end = Date.now() + TTL_MS * 4;
  while (Date.now() < end && value(t, 'debpkg_unit_expiries_total', { service: 'web', color: 'green' }) < 1) {
    await sleep(250);
    t = (await scrape()).text;
  }
  assert.is(value(t, 'debpkg_unit_expiries_total', { service: 'web', color: 'green' }), 1);
  assert.is(value(t, 'debpkg_unit_expiries_total', { service: 'web', color: 'blue' }), 1);
  assert.is(value(t, 'debpkg_units', { service: 'web', color: 'green', state: 'alive' }), 0);
});

test('promtool check metrics accepts the text', async () => {
  const { text } = await scrape();
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.is(r.error, undefined, 'promtool (Debian package prometheus) is installed');
  // promtool lints too (exit 3 for lint-only findings); problems are listed either way.
  assert.is(r.status, 0, `${r.stdout}${r.stderr}`);
});

test.run();
