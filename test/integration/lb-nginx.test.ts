// The nginx adapter against a real nginx on 127.0.0.1 and four small HTTP units (two blue,
// two green): preview routes, source restriction, skipped reloads, refused configs that leave
// the old one serving, and 20 swaps under bounded load with the failed requests counted.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LbState } from '../../repo-server/colors/lb/adapter.js';
import { NginxAdapter, NginxError, NginxReloadRefused } from '../../repo-server/colors/lb/nginx.js';
import { childrenOf, livePid } from '../../repo-server/colors/lb/nginx-proc.js';
import type { Color } from '../../repo-server/colors/model.js';
import { colorShare, failures, now, startLoad, switchTime, type Sample } from '../support/load.js';
import { freePort } from '../support/ports.js';

const SLOW_MS = 300;
const SWAPS = 20;
const KEEPALIVE_CLIENTS = 4;
const CLOSE_CLIENTS = 4;

interface Unit {
  name: string;
  color: Color;
  port: number;
  server: http.Server;
  /** When set, every request is answered with this status (a unit going away). */
  failWith?: number;
}

/** A unit: answers with its color and the path it got; /slow takes SLOW_MS. */
async function startUnit(name: string, color: Color): Promise<Unit> {
  const unit: Unit = { name, color, port: 0, server: http.createServer((req, res) => {
    if (unit.failWith !== undefined) {
      res.writeHead(unit.failWith, { 'x-color': color, 'x-unit': name });
      res.end();
      return;
    }
    const reply = (): void => {
      res.writeHead(200, { 'x-color': color, 'x-unit': name, 'x-path': req.url ?? '' });
      res.end(`${color} ${name}\n`);
    };
    if (req.url === '/slow') setTimeout(reply, SLOW_MS);
    else reply();
  }) };
  await new Promise<void>((r) => unit.server.listen(0, '127.0.0.1', r));
  unit.port = (unit.server.address() as AddressInfo).port;
  return unit;
}

function get(port: number, path: string, localAddress?: string): Promise<{ status: number; color: string | undefined; path: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000, ...(localAddress ? { localAddress } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, color: res.headers['x-color'] as string | undefined, path: res.headers['x-path'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

let dir = '';
let units: Unit[] = [];
let port = 0;
let lb: NginxAdapter;

function state(active: Color, extra: LbState['services'] = []): LbState {
  return {
    services: [
      {
        name: 'hello',
        listen: `127.0.0.1:${port}`,
        healthPath: '/healthz',
        previewAllow: ['127.0.0.1/32'],
        servers: units.map((u) => ({ name: `${u.color}-${u.name}`, color: u.color, address: '127.0.0.1', port: u.port, weight: u.color === active ? 100 : 0 })),
      },
      ...extra,
    ],
  };
}

async function workers(): Promise<number[]> {
  const master = await livePid(lb.pidFile);
  assert.ok(master, 'nginx master is running');
  return childrenOf(master);
}

test.before(async () => {
  dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'lb-nginx-'));
  await chmod(dir, 0o755); // nginx workers run as nobody and write their temp files under it
  units = await Promise.all([startUnit('b1', 'blue'), startUnit('b2', 'blue'), startUnit('g1', 'green'), startUnit('g2', 'green')]);
  port = await freePort();
  lb = await NginxAdapter.open({ runDir: dir, manage: true, tuning: { workerProcesses: 2, workerShutdownTimeoutS: 10 }, drainTimeoutMs: 15_000 });
});

test.after(async () => {
  const master = lb ? await livePid(lb.pidFile) : undefined;
  await lb?.close();
  if (master !== undefined) assert.is(await livePid(lb.pidFile), undefined, 'close() stopped the managed nginx');
  await Promise.all(units.map((u) => new Promise((r) => (u.server.listening ? u.server.close(r) : r(undefined)))));
  await rm(dir, { recursive: true, force: true });
});

test('apply starts nginx with blue active; traffic goes to blue only; preview routes reach one color each', async () => {
  await lb.apply(state('blue'));
  assert.is(lb.lastApply?.reloaded, true);
  for (let i = 0; i < 20; i++) assert.equal((await get(port, '/x')).color, 'blue');
  const g = await get(port, '/green/whoami?x=1');
  assert.equal([g.status, g.color, g.path], [200, 'green', '/whoami?x=1'], 'preview strips /green');
  const b = await get(port, '/blue/');
  assert.equal([b.status, b.color, b.path], [200, 'blue', '/']);
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) seen.add((await get(port, '/green/')).color ?? '');
  assert.equal([...seen], ['green']);
});

test('preview from a source outside PreviewAllow is refused (403); the main route still serves it', async () => {
  assert.is((await get(port, '/green/', '127.0.0.5')).status, 403);
  assert.is((await get(port, '/blue/x', '127.0.0.5')).status, 403);
  const main = await get(port, '/', '127.0.0.5');
  assert.equal([main.status, main.color], [200, 'blue']);
});

test('an unchanged state does not reload', async () => {
  const before = await workers();
  await lb.apply(state('blue'));
  assert.is(lb.lastApply?.reloaded, false);
  assert.equal(await workers(), before);
});

test('a config nginx -t refuses changes nothing: same file, same workers, old traffic', async () => {
  const file = await readFile(lb.configFile, 'utf8');
  const before = await workers();
  // 192.0.2.1 (TEST-NET) is not a local address: nginx -t cannot bind it.
  const bad = state('green', [{ name: 'other', listen: `192.0.2.1:${port}`, healthPath: '/healthz', previewAllow: [], servers: [] }]);
  await lb.apply(bad).then(
    () => assert.unreachable('apply must fail'),
    (err: unknown) => {
      assert.instance(err, NginxError);
      assert.match((err as Error).message, /nginx -t refused the new config: .*bind\(\) to 192\.0\.2\.1/);
    },
  );
  assert.is(await readFile(lb.configFile, 'utf8'), file);
  assert.equal(await workers(), before);
  assert.is((await get(port, '/')).color, 'blue');
});

test('a config the master refuses at reload (listen address taken) is rolled back on disk; old workers keep serving', async () => {
  const taken = http.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const file = await readFile(lb.configFile, 'utf8');
    const before = await workers();
    const bad = state('green', [{ name: 'other', listen: `127.0.0.1:${(taken.address() as AddressInfo).port}`, healthPath: '/healthz', previewAllow: [], servers: [] }]);
    await lb.apply(bad).then(
      () => assert.unreachable('apply must fail'),
      (err: unknown) => {
        assert.instance(err, NginxReloadRefused);
        assert.match((err as Error).message, /kept its old config: bind\(\) to 127\.0\.0\.1:\d+ failed \(98/);
      },
    );
    assert.is(await readFile(lb.configFile, 'utf8'), file, 'the file matches what runs');
    assert.equal(await workers(), before);
    for (let i = 0; i < 5; i++) assert.is((await get(port, '/')).color, 'blue');
  } finally {
    await new Promise((r) => taken.close(r));
  }
  // The refused state was not recorded as applied: applying blue again must not be skipped wrongly.
  await lb.apply(state('blue'));
  assert.is((await get(port, '/')).color, 'blue');
});

interface SwapFigures {
  requests: number;
  failed: Sample[];
}

/**
 * SWAPS swaps under bounded load, checking after each one that the old workers are gone and
 * that every request started after apply() resolved reached the new color; prints the figures.
 */
async function measureSwaps(label: string): Promise<SwapFigures> {
  await lb.apply(state('blue'));
  const load = startLoad({
    url: `http://127.0.0.1:${port}`,
    path: '/',
    slowPath: '/slow',
    durationMs: 30_000,
    keepaliveClients: KEEPALIVE_CLIENTS,
    closeClients: CLOSE_CLIENTS,
    slowEvery: 10,
    ratePerSecond: 300,
  });
  const swaps: { to: Color; start: number; resolved: number; applyMs: number; switchMs: number | undefined }[] = [];
  let active: Color = 'blue';
  try {
    await sleep(400);
    for (let i = 0; i < SWAPS; i++) {
      const to: Color = active === 'blue' ? 'green' : 'blue';
      const old = await workers();
      const start = now();
      await lb.apply(state(to));
      const resolved = now();
      assert.is(lb.lastApply?.reloaded, true);
      const current = await workers();
      for (const pid of old) assert.not.ok(current.includes(pid), `old worker ${pid} exited before apply() resolved`);
      assert.equal([...(lb.lastApply?.oldWorkers ?? [])].sort(), [...old].sort());
      swaps.push({ to, start, resolved, applyMs: resolved - start, switchMs: undefined });
      active = to;
      // Requests (slow ones too) run on the new generation; the varying pause keeps swaps from
      // falling into step with the clients' rhythm.
      await sleep(250 + ((i * 37) % 200));
    }
  } finally {
    await load.stop();
  }
  const samples = load.samples;
  const end = now();
  swaps.forEach((s, i) => {
    const windowEnd = swaps[i + 1]?.start ?? end;
    const inWindow = samples.filter((x) => x.at >= s.start && x.at < windowEnd);
    s.switchMs = switchTime(inWindow, s.to, s.start);
    // The guarantee: once apply() resolved, every request goes to the new color.
    const after = inWindow.filter((x) => x.at >= s.resolved);
    assert.ok(after.length > 0, `swap ${i + 1}: requests after apply resolved`);
    const wrong = after.filter((x) => x.error === undefined && x.color !== s.to);
    assert.is(wrong.length, 0, `swap ${i + 1} to ${s.to}: ${wrong.length} requests after apply() resolved reached ${wrong[0]?.color}`);
    assert.equal(colorShare(after, s.resolved, windowEnd), { [s.to]: 1 });
    assert.ok(s.switchMs !== undefined, `swap ${i + 1}: requests reached ${s.to}`);
  });

  const failed = failures(samples);
  const count = (f: (x: Sample) => boolean): number => failed.filter(f).length;
  const applyMs = swaps.map((s) => s.applyMs).sort((a, b) => a - b);
  const switchMs = swaps.map((s) => s.switchMs ?? NaN).sort((a, b) => a - b);
  const pct = (xs: number[], p: number): number => Math.round(xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!);
  const errors = [...new Set(failed.map((x) => x.error ?? `HTTP ${x.status}`))];
  const durationS = (samples.at(-1)!.end - samples[0]!.at) / 1000;
  console.log(
    `nginx, ${label}: ${SWAPS} swaps, ${samples.length} requests in ${durationS.toFixed(1)} s (${samples.filter((x) => x.slow).length} slow), ` +
      `${failed.length} failed (keep-alive clients ${count((x) => x.keepalive)}, Connection: close clients ${count((x) => !x.keepalive)}, slow ${count((x) => x.slow)}; ${errors.join(', ') || 'none'}); ` +
      `apply() ms median ${pct(applyMs, 0.5)} max ${pct(applyMs, 1)}; switch ms median ${pct(switchMs, 0.5)} max ${pct(switchMs, 1)}`,
  );
  assert.ok(samples.length > SWAPS * 50, `enough load: ${samples.length} requests`);
  return { requests: samples.length, failed };
}

test(`${SWAPS} swaps under load, client keep-alive on: failures bounded, counted and printed`, async () => {
  const { failed } = await measureSwaps('client keep-alive on');
  // An old worker closes its idle client keep-alive connections when it quits; a request the
  // client sends on one at that moment is reset (ECONNRESET). At most one per keep-alive
  // connection per swap; new connections are never refused (the listen socket stays open).
  assert.ok(failed.length <= SWAPS * KEEPALIVE_CLIENTS, `failed requests bounded: ${failed.length}`);
  assert.equal([...new Set(failed.map((x) => `${x.keepalive ? 'keep-alive' : 'close'} ${x.error ?? x.status}`))].filter((k) => k !== 'keep-alive ECONNRESET'), []);
});

test(`${SWAPS} swaps under load, client keep-alive off: no request fails`, async () => {
  await lb.close();
  lb = await NginxAdapter.open({ runDir: dir, manage: true, tuning: { workerProcesses: 2, workerShutdownTimeoutS: 10, clientKeepaliveTimeoutS: 0 }, drainTimeoutMs: 15_000 });
  const { failed } = await measureSwaps('client keep-alive off');
  assert.is(failed.length, 0, `failed: ${failed.map((x) => x.error ?? x.status).join(', ')}`);
});

test('units of the active color answering 503 or refusing connections: GETs go on to the other unit (proxy_next_upstream)', async () => {
  await lb.apply(state('green'));
  const g1 = units.find((u) => u.name === 'g1')!;
  g1.failWith = 503;
  const answers = await Promise.all(Array.from({ length: 20 }, () => get(port, '/')));
  assert.equal([...new Set(answers.map((a) => `${a.status} ${a.color}`))], ['200 green']);
  g1.server.closeAllConnections();
  await new Promise((r) => g1.server.close(r));
  const again = await Promise.all(Array.from({ length: 20 }, () => get(port, '/')));
  assert.equal([...new Set(again.map((a) => `${a.status} ${a.color}`))], ['200 green']);
});

test.run();
