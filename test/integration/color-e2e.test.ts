// The whole deploy flow on 127.0.0.0/8: a small HTTP service packaged by debpkg with a color
// section, installed with real dpkg on four fleet nodes (blue on bookworm, green on trixie),
// each unit run from its installed files on its own 127.0.0.x address, the packaged agents
// registering (one installed while the server is down), a real HAProxy in front, swaps under load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetNode, type Suite } from '../support/fleet-node.js';
import { failures, now, startLoad, switchTime } from '../support/load.js';
import { Project } from '../support/project.js';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';
import { freePort } from '../support/ports.js';

const SERVICE = 'shop';
const TTL_MS = 4000;

// The unit: plain node:http (the test host runs it from the node's installed files; fleet
// nodes themselves need no Node.js for the agent).
const SERVER_JS = `import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
const root = process.env.ROOT ?? '';
const color = readFileSync(root + '/etc/debpkg/color', 'utf8').trim();
const version = readFileSync(root + '/usr/share/shop/VERSION', 'utf8').trim();
createServer((req, res) => {
  const h = { 'x-color': color, 'x-version': version, 'content-type': 'text/plain' };
  if (req.url === '/healthz') { res.writeHead(200, h); return res.end('ok'); }
  if (req.url.startsWith('/slow')) return setTimeout(() => { res.writeHead(200, h); res.end('slow ' + color); }, 300);
  res.writeHead(200, h);
  res.end('shop ' + color + ' ' + version + '\\n');
}).listen(Number(process.env.PORT), process.env.ADDRESS);
`;

interface Unit {
  name: string;
  color: 'blue' | 'green';
  address: string;
  node: FleetNode;
  service?: ChildProcess;
  agent?: ChildProcess;
  agentLog: string;
}

let project: Project;
let deb = '';
let unitPort = 0;
let serverPort = 0;
let server: TestRepoServer | undefined;
let lbUrl = '';
const units: Unit[] = [];

function startUnit(u: Unit): void {
  u.service = spawn(process.execPath, [`${u.node.root}/usr/share/shop/server.mjs`], {
    env: { ROOT: u.node.root, PORT: String(unitPort), ADDRESS: u.address },
    stdio: 'ignore',
  });
  // The packaged agent, exactly as systemd would run it, inside the node's root.
  u.agent = spawn('chroot', [u.node.root, `/usr/lib/debpkg-agent/${SERVICE}/agent`, 'run'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
  u.agent.stderr?.on('data', (b: Buffer) => (u.agentLog += b.toString()));
}

async function stopChild(c: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await Promise.race([exited, sleep(5000)]);
}

async function serviceJson(): Promise<{ Active: string; Units: { Node: string; Color: string; Health: string; Alive: boolean; Version: string }[] }> {
  const r = await server!.api('GET', `/api/services/${SERVICE}`);
  return r.status === 200 ? (r.json as never) : { Active: '', Units: [] };
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}; agent logs:\n${units.map((u) => `${u.name}: ${u.agentLog.trim().split('\n').slice(-3).join(' | ')}`).join('\n')}`);
}

async function get(path: string): Promise<string | null> {
  const res = await fetch(`${lbUrl}${path}`, { headers: { connection: 'close' } });
  await res.text();
  return res.headers.get('x-color');
}

test.before(async () => {
  unitPort = await freePort();
  serverPort = await freePort();
  project = await Project.create({ 'server.mjs': SERVER_JS, VERSION: '1.0-1\n' });
  await project.spec(`name: shop
version: 1.0
release: "1"
arch: all
maintainer: debpkg tests <tests@debpkg.dev>
description: |
  Test shop service in a color group
  A tiny HTTP unit used by the end-to-end color-group test.
license: MIT
contents:
  - src: server.mjs
    dst: /usr/share/shop/server.mjs
  - src: VERSION
    dst: /usr/share/shop/VERSION
color:
  service: ${SERVICE}
  port: ${unitPort}
  health:
    path: /healthz
    interval: 1s
    timeout: 1s
`);
  deb = await project.build([], { SOURCE_DATE_EPOCH: '1700000000' });
  const plan: [string, 'blue' | 'green', Suite, string][] = [
    ['b1', 'blue', 'bookworm', '127.0.0.21'],
    ['b2', 'blue', 'bookworm', '127.0.0.22'],
    ['g1', 'green', 'trixie', '127.0.0.23'],
    ['g2', 'green', 'trixie', '127.0.0.24'],
  ];
  for (const [name, color, suite, address] of plan) units.push({ name, color, address, node: await FleetNode.create(suite), agentLog: '' });
});

test.after(async () => {
  for (const u of units) {
    await stopChild(u.agent, 'SIGKILL');
    await stopChild(u.service, 'SIGKILL');
    await u.node.destroy();
  }
  await server?.stop();
  await project?.destroy();
});

test('installed with dpkg while the server is down: install succeeds, agents register once it is up', async () => {
  for (const u of units) {
    await u.node.copyIn(deb, '/tmp/shop.deb');
    const r = await u.node.run(['dpkg', '-i', '/tmp/shop.deb'], { allowFail: true });
    assert.is(r.code, 0, `${u.name}: ${r.stdout}${r.stderr}`);
    // First boot: what boot.yml / cloud-init writes.
    await u.node.writeFile('/etc/debpkg/color', `${u.color}\n`);
    await u.node.writeFile('/etc/debpkg/agent.conf', `DEBPKG_SERVER=http://127.0.0.1:${serverPort}\nDEBPKG_NODE_TOKEN=${TEST_NODE_TOKEN}\nDEBPKG_NODE_ID=${u.name}\nDEBPKG_ADDRESS=${u.address}\n`);
    startUnit(u);
  }
  await sleep(2500); // agents heartbeat into the void
  assert.ok(units.every((u) => u.agent!.exitCode === null), 'agents keep retrying while the server is down');
  server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, lb: { adapter: 'haproxy', manage: true } } }, undefined, serverPort);
  const lbPort = await freePort();
  lbUrl = `http://127.0.0.1:${lbPort}`;
  assert.is((await server.api('PUT', `/api/services/${SERVICE}`, { Listen: `127.0.0.1:${lbPort}` })).status, 200);
  await waitFor('four healthy units', async () => (await serviceJson()).Units.filter((x) => x.Alive && x.Health === 'healthy').length === 4);
  const svc = await serviceJson();
  assert.equal(svc.Units.map((x) => `${x.Node}:${x.Color}:${x.Version}`).sort(), ['b1:blue:1.0-1', 'b2:blue:1.0-1', 'g1:green:1.0-1', 'g2:green:1.0-1']);
  assert.ok(svc.Active === 'blue' || svc.Active === 'green');
});

test('20 swaps under load through HAProxy: 0 failed requests, traffic moves within 1 s', async () => {
  await sleep(1200); // HAProxy's first health checks
  let to: 'blue' | 'green' = (await serviceJson()).Active === 'blue' ? 'green' : 'blue';
  const load = startLoad({ url: lbUrl, keepaliveClients: 4, closeClients: 4, slowEvery: 8, ratePerSecond: 200, durationMs: 60_000 });
  await sleep(400);
  const switches: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = now();
    const r = await server!.api('POST', `/api/services/${SERVICE}/swap`, { To: to });
    assert.is(r.status, 200, r.text);
    await sleep(700);
    switches.push(switchTime(load.samples, to, t0) ?? Infinity);
    to = to === 'blue' ? 'green' : 'blue';
  }
  const samples = await load.stop();
  console.log(`e2e: ${samples.length} requests through HAProxy during 20 swaps, ${failures(samples).length} failed, switch max ${Math.max(...switches).toFixed(0)} ms`);
  assert.is(failures(samples).length, 0, JSON.stringify(failures(samples).slice(0, 3)));
  assert.ok(Math.max(...switches) <= 1000);
});

test('a killed unit leaves the pool within the TTL; its color is then refused by the gate', async () => {
  const active = (await serviceJson()).Active;
  const idle = units.filter((u) => u.color !== active);
  const victim = idle[0]!;
  await stopChild(victim.agent, 'SIGKILL');
  await stopChild(victim.service, 'SIGKILL');
  const t0 = Date.now();
  await waitFor('the dead unit to expire', async () => (await serviceJson()).Units.find((x) => x.Node === victim.name)?.Alive === false, TTL_MS + 3000);
  console.log(`e2e: killed unit expired after ${Date.now() - t0} ms (TTL ${TTL_MS} ms)`);
  // The default gate wants every registered unit of the color; an expired one is not healthy.
  const r = await server!.api('POST', `/api/services/${SERVICE}/swap`, { To: victim.color });
  assert.is(r.status, 409, r.text);
  assert.is((await serviceJson()).Active, active);
  for (let i = 0; i < 4; i++) assert.is(await get('/'), active);
  // With MinHealthy 1 the surviving unit may take the traffic.
  const ok = await server!.api('POST', `/api/services/${SERVICE}/swap`, { To: victim.color, MinHealthy: 1 });
  assert.is(ok.status, 200, ok.text);
  for (let i = 0; i < 4; i++) assert.is(await get('/'), victim.color);
  victim.agentLog = '';
  startUnit(victim);
  await waitFor('the unit back', async () => (await serviceJson()).Units.find((x) => x.Node === victim.name)?.Alive === true);
});

test('SIGTERM to an agent (systemctl stop) deregisters its unit; dpkg -r deregisters too', async () => {
  const u = units[3]!;
  await stopChild(u.agent, 'SIGTERM');
  assert.is(u.agent!.exitCode, 0, u.agentLog);
  assert.not.ok((await serviceJson()).Units.some((x) => x.Node === u.name), 'gone at once, not after the TTL');
  const w = units[2]!;
  await stopChild(w.agent, 'SIGKILL'); // no systemd in a chroot: prerm's deregister does the job
  assert.ok((await serviceJson()).Units.some((x) => x.Node === w.name));
  const r = await w.node.run(['dpkg', '-r', 'shop'], { allowFail: true });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.ok((await serviceJson()).Units.some((x) => x.Node === w.name), 'prerm deregistered the unit');
});

test.run();
