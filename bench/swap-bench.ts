// Color swaps under load through each LB adapter, measured the same way: 4 units (2 per color)
// on 127.0.0.x, keep-alive and Connection: close clients with slow requests in flight,
// 20 redblack swaps, then a 10% canary. Writes the `swap` section of docs/benchmarks.md.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRepoServer } from '../repo-server/server.js';
import { startBackend } from '../test/support/color-backends.js';
import { colorShare, failures, now, startLoad, switchTime } from '../test/support/load.js';
import { updateSection } from './report.js';
import { freePort } from '../test/support/ports.js';

const SWAPS = Number(process.env.SWAPS ?? 20);
const TOKEN = 'bench-admin';
const NODE_TOKEN = 'bench-node';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Result {
  adapter: string;
  requests: number;
  slow: number;
  close: number;
  failed: number;
  failedKinds: string;
  switchMedian: number;
  switchMax: number;
  apiMedian: number;
  apiMax: number;
  canary: number;
}

async function run(adapter: 'haproxy' | 'nginx'): Promise<Result> {
  const data = await mkdtemp(join(tmpdir(), `debpkg-swap-${adapter}-`));
  const server = await createRepoServer({ dataDir: data, adminToken: TOKEN, nodeTokens: [NODE_TOKEN], logger: false, color: { ttlMs: 5000, lb: { adapter, manage: true } } });
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const api = async (method: string, path: string, body?: unknown, token = TOKEN) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, text: await res.text() };
  };
  const backends = await Promise.all([
    startBackend('b1', 'blue', '127.0.0.2'),
    startBackend('b2', 'blue', '127.0.0.3'),
    startBackend('g1', 'green', '127.0.0.4'),
    startBackend('g2', 'green', '127.0.0.5'),
  ]);
  const port = await freePort();
  await api('PUT', '/api/services/web', { Listen: `127.0.0.1:${port}` });
  let beating = true;
  const beat = async () => {
    while (beating) {
      await Promise.all(backends.map((b) => api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1' }, NODE_TOKEN)));
      await sleep(1000);
    }
  };
  const beats = beat();
  await sleep(1500);
  try {
    const url = `http://127.0.0.1:${port}`;
    const load = startLoad({ url, keepaliveClients: 6, closeClients: 4, slowEvery: 10, ratePerSecond: 300, durationMs: 110_000 });
    await sleep(500);
    const sw: number[] = [];
    const apiMs: number[] = [];
    let to: 'blue' | 'green' = 'green';
    for (let i = 0; i < SWAPS; i++) {
      const t0 = now();
      const r = await api('POST', '/api/services/web/swap', { To: to });
      apiMs.push(now() - t0);
      if (r.status !== 200) throw new Error(`${adapter} swap ${i}: ${r.status} ${r.text}`);
      await sleep(800);
      sw.push(switchTime(load.samples, to, t0) ?? NaN);
      to = to === 'green' ? 'blue' : 'green';
    }
    const samples = await load.stop();
    const failed = failures(samples);
    const kinds = new Map<string, number>();
    for (const f of failed) kinds.set(f.error ?? `HTTP ${f.status}`, (kinds.get(f.error ?? `HTTP ${f.status}`) ?? 0) + 1);
    // Canary 10%: measured share over 5 s.
    if ((await api('POST', '/api/services/web/swap', { To: to, Strategy: 'canary', Weight: 10 })).status !== 200) throw new Error('canary refused');
    const c0 = now();
    const canaryRun = await startLoad({ url, keepaliveClients: 4, closeClients: 4, ratePerSecond: 400, durationMs: 5000 }).done;
    const share = colorShare(canaryRun, c0, now())[to] ?? 0;
    return {
      adapter,
      requests: samples.length,
      slow: samples.filter((s) => s.slow).length,
      close: samples.filter((s) => !s.keepalive).length,
      failed: failed.length,
      failedKinds: [...kinds].map(([k, n]) => `${n}× ${k}`).join(', ') || '—',
      switchMedian: median(sw),
      switchMax: Math.max(...sw),
      apiMedian: median(apiMs),
      apiMax: Math.max(...apiMs),
      canary: share * 100,
    };
  } finally {
    beating = false;
    await beats;
    await server.close();
    await Promise.all(backends.map((b) => b.close()));
    await rm(data, { recursive: true, force: true });
  }
}

const results: Result[] = [];
for (const adapter of ['haproxy', 'nginx'] as const) {
  process.stderr.write(`swap bench: ${adapter}…\n`);
  results.push(await run(adapter));
}
const f = (n: number): string => n.toFixed(0);
const body = [
  '## Color swaps under load (`npm run bench:swap`)',
  '',
  `4 units (2 blue, 2 green, Node http on 127.0.0.2-5), 10 clients at 300 req/s in all (6 keep-alive, 4 \`Connection: close\`, every 10th request 300 ms slow), ${SWAPS} redblack swaps 0.8 s apart, then a 10% canary measured over 5 s at 400 req/s. Switch = from the swap command to the first request after which only the new color answers (requests in flight at the command count against it).`,
  '',
  '| Adapter | Requests (slow / close) | Failed | Switch median / max | Swap API median / max | Canary 10% share |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.adapter} | ${r.requests} (${r.slow} / ${r.close}) | ${r.failed} (${r.failedKinds}) | ${f(r.switchMedian)} / ${f(r.switchMax)} ms | ${f(r.apiMedian)} / ${f(r.apiMax)} ms | ${r.canary.toFixed(1)}% |`),
  '',
  'HAProxy moves weights over the runtime API (no reload), so in-flight and keep-alive requests are never cut. nginx needs a reload per swap; the swap reports done only after the old workers have exited.',
].join('\n');
await updateSection(join(process.cwd(), 'docs/benchmarks.md'), 'swap', body);
process.stdout.write(`${body}\n`);
