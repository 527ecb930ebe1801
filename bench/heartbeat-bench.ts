// Heartbeats at fleet scale (issue 15): UNITS simulated units (default 10,000, in 100 services)
// each sending the agent's PUT /api/units/<svc>/<node> every 2 s, against one embedded server
// and against 3 servers on a 3-member etcd (units spread over the servers). Measures heartbeat
// latency (p50/p99 of answered requests after the first round), the servers' CPU and RSS (and
// etcd's), expiry accuracy (100 units stop at once, TTL + 5 s before the end: each must be gone within TTL + 1 s of its
// last heartbeat, seen from another server) and false expiries (a beating unit seen not alive).
// Bounded: DURATION seconds of steady state per setup (default 60). The host is shared, so the
// load average is reported with the figures. Writes the `heartbeat` section of docs/benchmarks.md
// (`heartbeat-<UNITS>` for another unit count). PROFILE=<dir>: V8 CPU profiles of the servers;
// NODE_FLAGS: more node flags for them; TRACE=1: a per-second trace of the answers.
// MODEL=agent (default) beats as the product's agent does: one heartbeat in flight per unit (the
// agent's curl waits for its answer, up to SERVER_TIMEOUT 5 s, before it sleeps for the next), so
// a due beat of a unit still waiting is skipped and counted; an answer later than 5 s counts as
// failed and frees the unit. MODEL=open sends every beat on time whatever is still unanswered (a
// stricter load than any agent makes: a slow phase leaves a queue the server must drain).

import { loadavg, cpus } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcdCluster, type EtcdCluster } from '../test/support/etcd-cluster.js';
import { statusKb } from '../test/support/proc.js';
import { startServerProcess, type ServerProcess } from '../test/support/server-process.js';
import { updateSection } from './report.js';
import { Pipe } from './heartbeat-pipe.js';

const UNITS = Number(process.env.UNITS ?? 10_000);
const DURATION_S = Number(process.env.DURATION ?? 60);
const INTERVAL_MS = 2000;
const TTL_S = 10;
const SERVICES = 100;
const STOPPERS = 100;
const NODE_TOKEN = 'bench-heartbeat-node';
/** Keep-alive connections per server (agents each hold their own; this is the load generator's). */
const CONNECTIONS = 16;
/** The registration phase gives up after this long (the run then measures what it has). */
const REGISTER_LIMIT_S = 180;
const MODEL = process.env.MODEL === 'open' ? 'open' : 'agent';
/** The agent's curl -m: an answer later than this is a failure to it. */
const AGENT_TIMEOUT_MS = 5000;

/**
 * TRACE=1: p50/p99/max per second of answers on stderr, to tell stalls from steady queueing; `wall`
 * (Unix time mod 1000 s) lines it up with a server-side probe's log.
 */
const TRACE = process.env.TRACE === '1';
let traceAt = 0;
let traceLat: number[] = [];
function traceSecond(now: number, ms: number): void {
  traceLat.push(ms);
  if (now - traceAt < 1000) return;
  const l = traceLat;
  traceLat = [];
  traceAt = now;
  process.stderr.write(`t=${(now / 1000).toFixed(0)} wall=${((Date.now() / 1000) % 1000).toFixed(1)} n=${l.length} p50=${pct(l, 50).toFixed(1)} p99=${pct(l, 99).toFixed(1)} max=${Math.max(...l).toFixed(0)} load=${loadavg()[0]!.toFixed(1)}\n`);
}

/** Seconds of CPU (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Result {
  setup: string;
  /** Seconds until every unit had an answer (registered), or REGISTER_LIMIT_S with how many. */
  registered: string;
  sent: number;
  /** Due beats not sent because the unit's previous one was unanswered (MODEL=agent). */
  skipped: number;
  failed: number;
  lateMsP99: number;
  p50: number;
  p99: number;
  max: number;
  serverCpuPct: number;
  serverRssMb: number;
  serverHwmMb: number;
  etcdCpuPct: number;
  etcdRssMb: number;
  /** This process (the simulated units and the observer), % of one core over the window. */
  clientCpuPct: number;
  expiryMinS: number;
  expiryMaxS: number;
  expiredInTime: string;
  falseExpiries: number;
  /** Keep-alive connections the servers closed during the run (reopened at once). */
  closedConnections: number;
  /** Observer reads (false-expiry samples, the stopped units) that failed or timed out. */
  observerErrors: number;
  load: string;
}

function heartbeatBytes(url: URL, path: string, body: string): Buffer {
  return Buffer.from(`PUT ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${NODE_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/** Reads a service's units as an operator would; an unanswered read counts and reads nothing. */
let observerErrors = 0;
async function units(base: string, token: string, svc: string): Promise<{ Node: string; Alive: boolean }[]> {
  try {
    const r = await fetch(`${base}/api/services/${svc}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    if (r.status !== 200) return [];
    return ((await r.json()) as { Units: { Node: string; Alive: boolean }[] }).Units;
  } catch {
    observerErrors++;
    return [];
  }
}

async function run(setup: string, servers: ServerProcess[], etcd: EtcdCluster | undefined): Promise<Result> {
  const urls = servers.map((s) => new URL(s.url));
  const pipes = urls.map((u) => Array.from({ length: CONNECTIONS }, () => new Pipe(u)));
  const latencies: number[] = [];
  const lateness: number[] = [];
  let sent = 0;
  let skipped = 0;
  let failed = 0;
  /** When each unit's unanswered beat was sent (0: none in flight). */
  const inFlightSince = new Float64Array(UNITS);
  let measuring = false;
  const lastOk = new Float64Array(UNITS);
  const stopped = new Uint8Array(UNITS);
  const body = (i: number): string => JSON.stringify({ Address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, Port: 8080, Color: i % 2 ? 'blue' : 'green', Version: '1.0-1', Package: 'web', Health: 'healthy' });
  const svcOf = (i: number): string => (i < STOPPERS ? 'expiry' : `svc${i % SERVICES}`);
  observerErrors = 0;
  const requests = Array.from({ length: UNITS }, (_, i) => heartbeatBytes(urls[i % servers.length]!, `/api/units/${svcOf(i)}/n${i}`, body(i)));
  const t0 = performance.now();
  let running = true;
  // Each unit beats at its own phase of the 2 s interval, as a fleet's agents do.
  const next = Float64Array.from({ length: UNITS }, (_, i) => t0 + (i * INTERVAL_MS) / UNITS);
  const scheduler = (async () => {
    let cursor = 0;
    while (running) {
      const now = performance.now();
      // Units are in phase order; walk the ring from where we stopped.
      for (let n = 0; n < UNITS && next[cursor]! <= now; n++) {
        const i = cursor;
        cursor = (cursor + 1) % UNITS;
        const due = next[i]!;
        next[i] = due + INTERVAL_MS;
        if (stopped[i]) continue;
        const k = i % servers.length;
        const start = performance.now();
        if (MODEL === 'agent' && inFlightSince[i]! > 0) {
          if (start - inFlightSince[i]! < AGENT_TIMEOUT_MS) {
            if (measuring) skipped++;
            continue;
          }
          // The agent's curl gave up on that one (a failure, counted when it answers) and beats again.
        }
        inFlightSince[i] = start;
        if (measuring) lateness.push(start - due);
        sent++;
        const pipe = pipes[k]![i % CONNECTIONS]!;
        void pipe.send(requests[i]!).then((status) => {
          const end = performance.now();
          if (inFlightSince[i] === start) inFlightSince[i] = 0;
          // Every answer's latency counts, a late one too; to an agent a late one is also a failure.
          const late = MODEL === 'agent' && end - start > AGENT_TIMEOUT_MS;
          if (status === 200 || status === 201) {
            if (!late) lastOk[i] = Date.now();
            if (measuring) latencies.push(end - start);
            if (TRACE) traceSecond(end, end - start);
          }
          if (measuring && (late || (status !== 200 && status !== 201))) failed++;
        });
      }
      await sleep(5);
    }
  })();
  // Registration first (every unit answered once: on etcd a lease grant and a transaction each,
  // so 10,000 units starting at once take a while), reported on its own; steady state one
  // interval after that (at least two intervals after the start).
  let registered = 0;
  while (performance.now() - t0 < REGISTER_LIMIT_S * 1000) {
    registered = 0;
    for (let i = 0; i < UNITS; i++) if (lastOk[i]! > 0) registered++;
    if (registered === UNITS) break;
    await sleep(250);
  }
  const registerS = (performance.now() - t0) / 1000;
  await sleep(Math.max(INTERVAL_MS, 2 * INTERVAL_MS + 1000 - (performance.now() - t0)));
  measuring = true;
  const cpu0 = servers.map((s) => cpuSeconds(s.pid));
  const etcdPids = etcd?.members.map((m) => m.child?.pid ?? 0) ?? [];
  const ecpu0 = etcdPids.map(cpuSeconds);
  const client0 = process.cpuUsage();
  const w0 = performance.now();
  let falseExpiries = 0;
  const expiry: number[] = [];
  let expiredLate = 0;
  const watchFrom = servers[servers.length - 1]!;
  // Late enough for a steady state, early enough to see them go (TTL + a few seconds).
  const stopTime = w0 + Math.max(DURATION_S / 3, DURATION_S - TTL_S - 5) * 1000;
  let stopAt = 0;
  const gone = new Map<string, number>();
  while (performance.now() - w0 < DURATION_S * 1000) {
    if (!stopAt && performance.now() > stopTime) {
      stopAt = Date.now();
      for (let i = 0; i < STOPPERS; i++) stopped[i] = 1;
    }
    if (stopAt) {
      for (const u of await units(watchFrom.url, watchFrom.token, 'expiry')) {
        const i = Number(u.Node.slice(1));
        // A unit never answered (not registered in time) has no last beat to measure from.
        if (!u.Alive && !gone.has(u.Node) && lastOk[i]! > 0) gone.set(u.Node, Date.now() - lastOk[i]!);
      }
    }
    // False expiries: a sample of beating services, each unit must be alive.
    const svc = `svc${Math.floor(Math.random() * SERVICES)}`;
    for (const u of await units(watchFrom.url, watchFrom.token, svc)) if (!u.Alive) falseExpiries++;
    await sleep(200);
  }
  const seconds = (performance.now() - w0) / 1000;
  const cpu = servers.reduce((n, s, i) => n + cpuSeconds(s.pid) - cpu0[i]!, 0);
  const ecpu = etcdPids.reduce((n, p, i) => n + cpuSeconds(p) - ecpu0[i]!, 0);
  const client = process.cpuUsage(client0);
  measuring = false;
  running = false;
  await scheduler;
  for (const v of gone.values()) expiry.push(v / 1000);
  for (const v of expiry) if (v > TTL_S + 1) expiredLate++;
  const rss = servers.reduce((n, s) => n + (statusKb(s.pid, 'VmRSS') ?? 0), 0);
  const hwm = servers.reduce((n, s) => n + (statusKb(s.pid, 'VmHWM') ?? 0), 0);
  const erss = etcdPids.reduce((n, p) => n + (statusKb(p, 'VmRSS') ?? 0), 0);
  for (const list of pipes) for (const p of list) p.close();
  return {
    setup,
    registered: registered === UNITS ? registerS.toFixed(1) : `${registered}/${UNITS} in ${registerS.toFixed(0)}`,
    sent,
    skipped,
    failed,
    lateMsP99: Math.round(pct(lateness, 99)),
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: latencies.reduce((m, x) => Math.max(m, x), 0),
    serverCpuPct: Math.round((cpu / seconds) * 100),
    serverRssMb: Math.round(rss / 1024),
    serverHwmMb: Math.round(hwm / 1024),
    etcdCpuPct: Math.round((ecpu / seconds) * 100),
    clientCpuPct: Math.round((client.user + client.system) / 1e4 / seconds),
    etcdRssMb: Math.round(erss / 1024),
    expiryMinS: expiry.length ? Math.min(...expiry) : NaN,
    expiryMaxS: expiry.length ? Math.max(...expiry) : NaN,
    expiredInTime: `${expiry.length - expiredLate}/${STOPPERS}`,
    falseExpiries,
    observerErrors,
    closedConnections: pipes.flat().reduce((n, p) => n + p.closed, 0),
    load: loadavg().map((l) => l.toFixed(1)).join(' '),
  };
}

const serverArgs = ['--unit-ttl', `${TTL_S}s`];
/** PROFILE=<dir>: each server writes a V8 CPU profile there (node --cpu-prof) when it stops. */
// NODE_FLAGS: more node flags for the servers, space-separated (e.g. `--trace-gc`, or `--import
// <file>` of a probe that logs the event loop's delay), to find what stalls a server.
const nodeFlags = [...(process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : []), ...(process.env.NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
/** SERVER_LOG=<dir>: each server's log (at info level) is written there when the run ends. */
const LOG_DIR = process.env.SERVER_LOG;
const LOG_LEVEL = LOG_DIR ? 'info' : 'warn';
function keepLog(s: ServerProcess, name: string): void {
  if (LOG_DIR) writeFileSync(`${LOG_DIR}/${name}.log`, s.output());
}
const results: Result[] = [];
const only = process.env.SETUP;
if (!only || only === 'embedded') {
  const s = await startServerProcess({ nodeFlags, args: serverArgs, env: { DEBPKG_NODE_TOKEN: NODE_TOKEN, DEBPKG_LOG_LEVEL: LOG_LEVEL } });
  try {
    results.push(await run('1 server, embedded', [s], undefined));
  } finally {
    keepLog(s, 'embedded');
    await s.stop();
  }
  process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
}
if (!only || only === 'etcd') {
  const etcd = await startEtcdCluster();
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await startServerProcess({ nodeFlags, args: [...serverArgs, '--etcd', etcd.endpoints], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN, DEBPKG_LOG_LEVEL: LOG_LEVEL } }));
    results.push(await run('3 servers on etcd (3 members)', servers, etcd));
  } finally {
    servers.forEach((s, i) => keepLog(s, `etcd-${i + 1}`));
    await Promise.all(servers.map((s) => s.stop()));
    await etcd.stop();
  }
  process.stderr.write(`${JSON.stringify(results.at(-1))}\n`);
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '–');
const table = [
  `${UNITS.toLocaleString('en')} units, a heartbeat every 2 s each (${UNITS / 2}/s), unit TTL ${TTL_S} s, ${MODEL === 'agent' ? 'as the agent beats (one heartbeat in flight per unit: a due beat of a unit still waiting is skipped; an answer after 5 s is a failure)' : 'open loop (MODEL=open: every beat sent on time whatever is unanswered)'}; all start at once, and once every unit is registered (time in the table) ${DURATION_S} s of steady state per setup; ${STOPPERS} units stop ${TTL_S + 5} s before the end. ${cpus().length} cores, shared with other work (load average at the end of each run in the table). CPU is % of one core over the window; the load generator runs on the same host.`,
  '',
  '| setup | all registered after s | heartbeats sent | skipped (previous unanswered) | failed | p50 ms | p99 ms | max ms | client lateness p99 ms | server CPU % | server RSS MB (peak) | etcd CPU % | etcd RSS MB | load generator CPU % | expired within TTL+1 s | expiry after last beat s (min–max) | false expiries | load avg |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.setup} | ${r.registered} | ${r.sent} | ${r.skipped} | ${r.failed}${r.closedConnections ? ` (${r.closedConnections} connections closed by a server)` : ''} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max, 0)} | ${r.lateMsP99} | ${r.serverCpuPct} | ${r.serverRssMb} (${r.serverHwmMb}) | ${r.etcdCpuPct || '–'} | ${r.etcdRssMb || '–'} | ${r.clientCpuPct} | ${r.expiredInTime} | ${f(r.expiryMinS)}–${f(r.expiryMaxS)} | ${r.falseExpiries}${r.observerErrors ? ` (${r.observerErrors} reads unanswered)` : ''} | ${r.load} |`),
].join('\n');
process.stdout.write(`${table}\n`);
// The goal's size (10,000) has the section; another UNITS gets a section of its own beside it.
// MODEL=open gets sections of its own; a diagnostic run (NODE_FLAGS, PROFILE) writes none.
const open = MODEL === 'open' ? '-open' : '';
const openTitle = MODEL === 'open' ? ', open loop' : '';
if (process.env.NODE_FLAGS || process.env.PROFILE) process.stderr.write('diagnostic run (NODE_FLAGS/PROFILE): docs/benchmarks.md not written\n');
else if (!only && UNITS === 10_000) await updateSection('docs/benchmarks.md', `heartbeat${open}`, `## Heartbeats at fleet scale (npm run bench:heartbeat)${openTitle}\n\n${table}`);
else if (!only) await updateSection('docs/benchmarks.md', `heartbeat-${UNITS}${open}`, `### The same at ${UNITS.toLocaleString('en')} units${openTitle} (UNITS=${UNITS} npm run bench:heartbeat)\n\n${table}`);
// One setup alone (SETUP=embedded|etcd): a section of its own, so a run on a quiet host (or a
// re-run of one setup after a change) is recorded without replacing the paired tables.
else await updateSection('docs/benchmarks.md', `heartbeat-${only}-${UNITS}${open}`, `### ${results[0]?.setup ?? only} alone, ${UNITS.toLocaleString('en')} units${openTitle} (SETUP=${only} UNITS=${UNITS}${MODEL === 'open' ? ' MODEL=open' : ''} npm run bench:heartbeat)\n\n${table}`);
