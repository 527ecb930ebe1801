// The node side of color groups: a package with a color section, judged by dpkg-deb, lintian,
// dash and checkbashisms, installed on bookworm and trixie fleet nodes with real dpkg, and its
// agent (POSIX sh + curl, run inside the chroot) talking to a real repo server.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, isIP, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { Project, REPO_ROOT, sh } from '../support/project.js';
import { TEST_NODE_TOKEN, TestRepoServer } from '../support/repo-server.js';
import { freePort } from '../support/ports.js';

const EXAMPLE = join(REPO_ROOT, 'examples/hello-web/debpkg.yaml');
const SERVICE = 'color-node';
const AGENT = `/usr/lib/debpkg-agent/${SERVICE}/agent`;
const UNIT = `debpkg-agent-${SERVICE}.service`;
const WANTS = `/etc/systemd/system/multi-user.target.wants/${UNIT}`;
const TTL_MS = 4000;
const INTERVAL_S = 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listening(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

/** Accepts connections and never answers: a server that hangs. */
async function stalledServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s = createTcpServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
  });
  const port = await listening(s);
  return {
    port,
    close: () =>
      new Promise((r) => {
        for (const sock of sockets) sock.destroy();
        s.close(() => r());
      }),
  };
}

/** The unit's own HTTP service on the host (the chroot shares the network); /healthz follows `healthy`. */
async function unitService(): Promise<{ port: number; healthy: boolean; checks: number; close(): Promise<void> }> {
  const state = {
    port: 0,
    healthy: true,
    checks: 0,
    close: (): Promise<void> =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  const server = createHttpServer((req, res) => {
    if (req.url === '/healthz') state.checks++;
    res.writeHead(req.url === '/healthz' && !state.healthy ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(state.healthy ? 'ok\n' : 'failing\n');
  });
  state.port = await listening(server);
  return state;
}

function colorSpec(port: number, extra = ''): string {
  return `name: ${SERVICE}
version: 1.0.0
release: "1"
arch: all
maintainer: Fleet Tester <fleet@example.org>
description: |
  Color-group test unit
  Used by the color-node tests to exercise the registration agent.
license: MIT
color:
  port: ${port}
  health:
    path: /healthz
    interval: ${INTERVAL_S}s
    timeout: 500ms
  weight: 7
${extra}`;
}

async function buildColorPackage(port: number): Promise<{ p: Project; deb: string }> {
  const p = await Project.create();
  await p.spec(colorSpec(port));
  return { p, deb: await p.build([], { SOURCE_DATE_EPOCH: '1700000000' }) };
}

async function dpkg(node: FleetNode, args: string[]): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = Date.now();
  const r = await node.run(['dpkg', ...args], { allowFail: true });
  return { code: r.code, stderr: r.stdout + r.stderr, ms: Date.now() - t0 };
}

async function install(node: FleetNode, deb: string): Promise<{ code: number; stderr: string; ms: number }> {
  await node.copyIn(deb, '/tmp/pkg.deb');
  return dpkg(node, ['-i', '/tmp/pkg.deb']);
}

async function configure(node: FleetNode, color: string, conf: string): Promise<void> {
  await node.writeFile('/etc/debpkg/color', `${color}\n`);
  await node.writeFile('/etc/debpkg/agent.conf', conf);
}

// --- the package ------------------------------------------------------------------------

test('the hello-web example: agent, unit.env and unit shipped, Depends gains curl, POSIX sh, lintian clean', async () => {
  const p = await Project.create();
  try {
    const r = await p.cli(['build', '--config', EXAMPLE, '--output', 'out'], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.is(r.code, 0, r.stderr);
    const deb = r.stdout.trim().split('\n').pop()!;
    assert.is((await sh(`dpkg-deb --field ${deb} Depends`)).stdout, 'python3, curl\n');
    const listing = (await sh(`dpkg-deb --contents ${deb}`)).stdout;
    assert.match(listing, /^-rwxr-xr-x root\/root .* \.\/usr\/lib\/debpkg-agent\/hello-web\/agent$/m);
    assert.match(listing, /^-rw-r--r-- root\/root .* \.\/usr\/lib\/debpkg-agent\/hello-web\/unit\.env$/m);
    assert.match(listing, /^-rw-r--r-- root\/root .* \.\/usr\/lib\/systemd\/system\/debpkg-agent-hello-web\.service$/m);
    const conffiles = await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -t`);
    assert.not.match(conffiles.stdout, /conffiles/, 'nothing under /etc: node configuration is never packaged');

    const x = p.path('x');
    await sh(`dpkg-deb -x ${deb} ${x} && mkdir ${x}/DEBIAN-ctrl && dpkg-deb -e ${deb} ${x}/DEBIAN-ctrl`);
    const agentDir = `${x}/usr/lib/debpkg-agent/hello-web`;
    // unit.env is sourced by the agent: read it the same way.
    const env = await sh(`sh -c '. ${agentDir}/unit.env; echo "$SERVICE|$PACKAGE|$VERSION|$PORT|$HEALTH_PATH|$INTERVAL|$TIMEOUT|$WEIGHT"'`);
    assert.is(env.stdout, 'hello-web|hello-web|1.0.0-1|8080|/healthz|2|1|100\n');
    const unit = await sh(`cat ${x}/usr/lib/systemd/system/debpkg-agent-hello-web.service`);
    assert.match(unit.stdout, /^ExecStart=\/usr\/lib\/debpkg-agent\/hello-web\/agent run$/m);
    assert.match(unit.stdout, /^Restart=always$/m);
    assert.match(unit.stdout, /^WantedBy=multi-user\.target$/m);

    const scripts = ['postinst', 'prerm', 'postrm'].map((s) => `${x}/DEBIAN-ctrl/${s}`);
    for (const file of [`${agentDir}/agent`, ...scripts]) {
      const syntax = await sh(`dash -n ${file}`, { allowFail: true });
      assert.is(syntax.code, 0, `dash -n ${file}: ${syntax.stderr}`);
      const bashisms = await sh(`checkbashisms --posix --extra ${file} 2>&1`, { allowFail: true });
      assert.is(bashisms.code, 0, `checkbashisms ${file}: ${bashisms.stdout}`);
    }
    const prerm = await sh(`cat ${x}/DEBIAN-ctrl/prerm`);
    assert.ok(
      prerm.stdout.indexOf('agent\' deregister') < prerm.stdout.indexOf("stop 'hello-web.service'"),
      'the unit leaves the registry before the service stops',
    );

    const lint = await sh(`lintian --tag-display-limit 0 --fail-on error ${deb} 2>&1`, { allowFail: true });
    assert.is(lint.code, 0, lint.stdout);
    const warnings = lint.stdout.split('\n').filter((l) => /^W: /.test(l));
    // The generated changelog closes no bug; every example package has this one.
    assert.equal(warnings.filter((w) => !/ initial-upload-closes-no-bugs /.test(w)), [], lint.stdout);
  } finally {
    await p.destroy();
  }
});

test('a spec that already depends on curl keeps its own relation', async () => {
  const p = await Project.create();
  try {
    await p.spec(colorSpec(8080).replace('license: MIT\n', 'license: MIT\ndepends: ["curl (>= 7.88)", "dash"]\n'));
    const deb = await p.build();
    assert.is((await sh(`dpkg-deb --field ${deb} Depends`)).stdout, 'curl (>= 7.88), dash\n');
  } finally {
    await p.destroy();
  }
});

const BAD: { name: string; edit: (spec: string) => string; error: RegExp }[] = [
  { name: 'port out of range', edit: (s) => s.replace('port: 8080', 'port: 70000'), error: /:11:\d+: color\.port: '70000' is not a TCP port \(1-65535\)/ },
  { name: 'port not a number', edit: (s) => s.replace('port: 8080', 'port: http'), error: /color\.port: has an invalid value \(expected a TCP port/ },
  { name: 'port missing', edit: (s) => s.replace('  port: 8080\n', ''), error: /color\.port: is required/ },
  { name: 'weight too big', edit: (s) => s.replace('weight: 7', 'weight: 300'), error: /color\.weight: '300' is not a unit weight \(1-256\)/ },
  { name: 'interval too short', edit: (s) => s.replace('interval: 1s', 'interval: 100ms'), error: /color\.health\.interval: must be between 0\.5s and 60s/ },
  { name: 'bad duration', edit: (s) => s.replace('interval: 1s', 'interval: 1 hour'), error: /color\.health\.interval: has an invalid value \(expected a duration/ },
  { name: 'timeout above interval', edit: (s) => s.replace('timeout: 500ms', 'timeout: 3s'), error: /color\.health\.timeout: must be between 0\.1s and the interval \(1s\)/ },
  { name: 'health path with a query', edit: (s) => s.replace('path: /healthz', 'path: "/healthz?full=1"'), error: /color\.health\.path: has an invalid value/ },
  { name: 'unknown field', edit: (s) => s.replace('  weight: 7', '  wieght: 7'), error: /color\.wieght: unknown field/ },
  {
    name: 'package name that is no service name',
    edit: (s) => s.replace(`name: ${SERVICE}`, 'name: web.app'),
    error: /color\.service: the package name 'web\.app' is not a registry service name .*; set color\.service/,
  },
  { name: 'bad service name', edit: (s) => s.replace('color:\n', 'color:\n  service: Web_App\n'), error: /color\.service: has an invalid value \(expected a registry service name/ },
  {
    name: 'systemd unit with the agent unit name',
    edit: (s) => `${s}systemd:\n  - name: ${UNIT}\n    unit: { exec_start: /bin/true }\n`,
    error: new RegExp(`systemd\\[0\\]\\.name: '${UNIT.replace(/\./g, '\\.')}' is the color agent's unit`),
  },
];

test('bad color sections are refused with the field and line, exit 2, no package', async () => {
  const p = await Project.create();
  try {
    for (const c of BAD) {
      await p.spec(c.edit(colorSpec(8080)));
      const r = await p.cli(['build', '--output', 'out']);
      assert.is(r.code, 2, `${c.name}: exit ${r.code}, ${r.stderr}`);
      assert.match(r.stderr, c.error, `${c.name}: ${r.stderr}`);
      const left = await sh(`ls ${p.path('out')} 2>/dev/null || true`);
      assert.is(left.stdout, '', `${c.name}: nothing written`);
    }
  } finally {
    await p.destroy();
  }
});

// --- on fleet nodes, no server needed ----------------------------------------------------

function withoutServer(suite: Suite): void {
  test(`${suite}: install without node config enables the agent and registers nothing; remove, purge`, async () => {
    const port = await freePort();
    const { p, deb } = await buildColorPackage(port);
    const node = await FleetNode.create(suite);
    try {
      let r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      assert.is((await node.dpkgStatus(SERVICE))?.Status, 'install ok installed');
      assert.ok(await node.exists(WANTS), 'agent enabled through deb-systemd-helper');
      assert.ok(await node.exists('/usr/bin/curl'), 'curl on the node (Depends: curl)');

      // Not configured: register refuses clearly, deregister has nothing to do, check works.
      let a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.is(a.code, 1);
      assert.match(a.stderr, /\/etc\/debpkg\/agent\.conf is missing/);
      a = await node.run([AGENT, 'deregister'], { allowFail: true });
      assert.is(a.code, 0, a.stderr);
      assert.match(a.stderr, /never registered/);
      a = await node.run([AGENT, 'check'], { allowFail: true });
      assert.is(a.code, 1, 'nothing listens on the unit port');
      assert.match(a.stdout, /^unhealthy: curl: \(7\)/);
      a = await node.run([AGENT, 'frobnicate'], { allowFail: true });
      assert.is(a.code, 2);
      assert.match(a.stderr, /usage: .* run\|register\|drain\|undrain\|deregister\|check/);

      // Half-configured or bad configuration: a clear line naming the file and key.
      await configure(node, 'purple', `DEBPKG_SERVER=http://127.0.0.1:${port}\nDEBPKG_NODE_TOKEN=t\n`);
      a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.is(a.code, 1);
      assert.match(a.stderr, /\/etc\/debpkg\/color must hold blue or green, not 'purple'/);
      await configure(node, 'blue', `# no token\nDEBPKG_SERVER=http://127.0.0.1:${port}\n`);
      a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.match(a.stderr, /\/etc\/debpkg\/agent\.conf: DEBPKG_NODE_TOKEN is not set/);
      await configure(node, 'blue', `DEBPKG_SERVER=ftp://x\nDEBPKG_NODE_TOKEN=t\n`);
      a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.match(a.stderr, /DEBPKG_SERVER must be an http:\/\/ or https:\/\/ URL/);
      // agent.conf is parsed, never sourced: a command substitution in it runs nothing.
      await configure(node, 'blue', `DEBPKG_SERVER=http://127.0.0.1:${port}\nDEBPKG_NODE_TOKEN='x'\n$(touch /tmp/ran)\nDEBPKG_NODE_ID=$(touch /tmp/ran2)\n`);
      a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.is(a.code, 1);
      assert.match(a.stderr, /agent\.conf:3: not a KEY=value line; ignored/);
      assert.match(a.stderr, /node id '\$\(touch \/tmp\/ran2\)' is not valid/);
      assert.not.ok(await node.exists('/tmp/ran'));
      assert.not.ok(await node.exists('/tmp/ran2'));
      await node.run('rm -rf /etc/debpkg');

      r = await dpkg(node, ['--remove', SERVICE]);
      assert.is(r.code, 0, r.stderr);
      assert.not.ok(await node.exists(AGENT));
      assert.not.ok(await node.exists(`/usr/lib/systemd/system/${UNIT}`));
      assert.ok(await node.exists(`/etc/systemd/system/${UNIT}`), 'masked on remove');
      r = await dpkg(node, ['--purge', SERVICE]);
      assert.is(r.code, 0, r.stderr);
      assert.is(await node.dpkgStatus(SERVICE), null);
      assert.not.ok(await node.exists(WANTS));
      assert.not.ok(await node.exists(`/etc/systemd/system/${UNIT}`), 'mask removed on purge');
      assert.not.ok(await node.exists(`/var/lib/systemd/deb-systemd-helper-enabled/${UNIT}.dsh-also`), 'enablement state purged');
    } finally {
      await node.destroy();
      await p.destroy();
    }
  });

  test(`${suite}: an unreachable or stalled server never fails install or removal, and removal stays bounded`, async () => {
    const port = await freePort();
    const { p, deb } = await buildColorPackage(port);
    const node = await FleetNode.create(suite);
    const stalled = await stalledServer();
    try {
      const conf = (server: string): string => `DEBPKG_SERVER=${server}\nDEBPKG_NODE_TOKEN=${TEST_NODE_TOKEN}\nDEBPKG_NODE_ID=node-${suite}\n`;
      await configure(node, 'green', conf(`http://127.0.0.1:${await freePort()}`));
      let r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      const a = await node.run([AGENT, 'register'], { allowFail: true });
      assert.is(a.code, 1);
      assert.match(a.stderr, /heartbeat failed, will retry: cannot reach http:\/\/127\.0\.0\.1:\d+: curl: \(7\)/);

      r = await dpkg(node, ['--remove', SERVICE]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /could not deregister node-/);
      assert.ok(r.ms < 3000, `removal against a refusing server took ${r.ms} ms`);

      // A server that accepts and never answers: bounded by the agent's 5 s request limit.
      await configure(node, 'green', conf(`http://127.0.0.1:${stalled.port}`));
      r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      r = await dpkg(node, ['--purge', SERVICE]);
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /could not deregister node-.*timed out/);
      assert.ok(r.ms >= 4500 && r.ms < 9000, `removal against a stalled server took ${r.ms} ms`);
      assert.is(await node.dpkgStatus(SERVICE), null);
    } finally {
      await stalled.close();
      await node.destroy();
      await p.destroy();
    }
  });
}

// --- against a real repo server -----------------------------------------------------------

interface UnitJson {
  Node: string;
  Address: string;
  Port: number;
  Color: string;
  Version: string;
  Package: string;
  Health: string;
  Weight: number;
  HealthPath: string;
  Alive: boolean;
}

async function units(server: TestRepoServer): Promise<UnitJson[] | undefined> {
  const r = await server.api('GET', `/api/services/${SERVICE}`);
  if (r.status === 404) return undefined;
  assert.is(r.status, 200, r.text);
  return (r.json as { Units: UnitJson[] }).Units;
}

/** Polls until `ok` holds for the service's units; returns how long it took. */
async function until(server: TestRepoServer, what: string, ok: (u: UnitJson[] | undefined) => boolean, timeoutMs: number, log: () => string): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const u = await units(server);
    if (ok(u)) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.unreachable(`${what} within ${timeoutMs} ms; units: ${JSON.stringify(u)}\nagent log:\n${log()}`);
    await sleep(100);
  }
}

interface RunningAgent {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** `agent run` inside the chroot, as its systemd unit would run it (chroot shares the host network). */
function startAgent(node: FleetNode): RunningAgent {
  const child = spawn('chroot', [node.root, AGENT, 'run'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  child.stderr!.on('data', (b: Buffer) => lines.push(b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, log: () => lines.join(''), exited };
}

function withServer(suite: Suite): void {
  test(`${suite}: agent registers with its health, expires after the TTL when killed, drains for an upgrade, deregisters on SIGTERM and on removal; a chroot install never registers`, async () => {
    const service = await unitService();
    const { p, deb } = await buildColorPackage(service.port);
    const node = await FleetNode.create(suite);
    let server: TestRepoServer | undefined;
    const agents: RunningAgent[] = [];
    try {
      const machineId = randomBytes(16).toString('hex');
      await node.writeFile('/etc/machine-id', `${machineId}\n`);
      const conf = (url: string): string => `# written at first boot\nDEBPKG_SERVER="${url}/"\nDEBPKG_NODE_TOKEN=${TEST_NODE_TOKEN}\n`;

      // Server down: the install succeeds, and an agent started now only logs and retries.
      await configure(node, 'blue', conf(`http://127.0.0.1:${await freePort()}`));
      let r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      const first = startAgent(node);
      agents.push(first);
      await sleep(2500);
      assert.match(first.log(), /heartbeat failed, will retry: cannot reach/);
      assert.is(first.log().match(/cannot reach/g)?.length, 1, `one log line however many retries:\n${first.log()}`);

      // The server comes up.
      server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, intervalMs: INTERVAL_S * 1000, probe: false, probeTimeoutMs: 1000 } });
      first.child.kill('SIGKILL');
      await first.exited;
      // An install in a chroot with node config and a live server (a Packer chroot bake) registers nothing.
      await configure(node, 'blue', conf(server.url));
      r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      await sleep(1500);
      assert.is(await units(server), undefined, 'nothing registered by the maintainer scripts');

      const agent = startAgent(node);
      agents.push(agent);
      const took = await until(server, 'registered and healthy', (u) => u?.[0]?.Alive === true && u[0].Health === 'healthy', 5000, agent.log);
      const [u] = (await units(server))!;
      assert.is(u!.Node, machineId, 'node id from /etc/machine-id');
      assert.ok(isIP(u!.Address) !== 0, `address from hostname -I: ${u!.Address}`);
      assert.equal(
        { Port: u!.Port, Color: u!.Color, Version: u!.Version, Package: u!.Package, Weight: u!.Weight, HealthPath: u!.HealthPath },
        { Port: service.port, Color: 'blue', Version: '1.0.0-1', Package: SERVICE, Weight: 7, HealthPath: '/healthz' },
      );
      assert.ok(took < 3000, `registered ${took} ms after start`);
      assert.ok(service.checks > 0, 'the agent checked the unit health');

      // The health check fails: the registry learns it within about an interval.
      service.healthy = false;
      await until(server, 'reported unhealthy', (u) => u?.[0]?.Health === 'unhealthy' && u[0].Alive, 3000, agent.log);
      service.healthy = true;
      await until(server, 'healthy again', (u) => u?.[0]?.Health === 'healthy', 3000, agent.log);

      // Killed without a chance to deregister: the unit drops out after the TTL.
      agent.child.kill('SIGKILL');
      await agent.exited;
      const t0 = Date.now();
      await until(server, 'not alive after the TTL', (u) => u?.[0]?.Alive === false, TTL_MS + 3000, agent.log);
      const expired = Date.now() - t0;
      assert.ok(expired > TTL_MS - INTERVAL_S * 1000 - 500 && expired < TTL_MS + 2000, `expired ${expired} ms after the kill (TTL ${TTL_MS})`);

      // A new agent re-registers; a changed color file is picked up while it runs.
      const second = startAgent(node);
      agents.push(second);
      await until(server, 're-registered', (u) => u?.length === 1 && u[0]!.Alive, 5000, second.log);
      await node.writeFile('/etc/debpkg/color', 'green\n');
      await until(server, 'green', (u) => u?.length === 1 && u[0]!.Alive && u[0]!.Color === 'green', 3000, second.log);
      // SIGTERM deregisters and exits 0 at once (the sleep between heartbeats is interrupted).
      const t1 = Date.now();
      second.child.kill('SIGTERM');
      assert.is(await second.exited, 0, second.log());
      assert.ok(Date.now() - t1 < 2000, `SIGTERM to exit took ${Date.now() - t1} ms`);
      assert.equal(await units(server), [], `deregistered:\n${second.log()}`);
      assert.match(second.log(), new RegExp(`deregistered ${machineId}`));

      // An upgrade's drain (prerm): `agent drain` reports the unit draining (the LB gives it
      // weight 0) and the running agent keeps reporting it so; a SIGTERM meanwhile (the upgrade
      // restarting the agent) keeps the registration; `agent undrain` (postinst) ends it.
      const third = startAgent(node);
      agents.push(third);
      await until(server, 'registered again', (u) => u?.[0]?.Alive === true && u[0].Health === 'healthy', 5000, third.log);
      const drain = await node.run([AGENT, 'drain'], { allowFail: true });
      assert.is(drain.code, 0, drain.stderr);
      assert.is((await units(server))?.[0]?.Health, 'draining', 'draining once drain returns');
      await sleep(2500); // two heartbeats of the running agent
      assert.is((await units(server))?.[0]?.Health, 'draining', `the running agent keeps it draining:\n${third.log()}`);
      third.child.kill('SIGTERM');
      assert.is(await third.exited, 0, third.log());
      assert.is((await units(server))?.[0]?.Health, 'draining', `a restart during the drain keeps the registration:\n${third.log()}`);
      const fourth = startAgent(node);
      agents.push(fourth);
      await sleep(1500);
      assert.is((await units(server))?.[0]?.Health, 'draining', 'the new agent keeps draining until the drain ends');
      assert.is((await node.run([AGENT, 'undrain'], { allowFail: true })).code, 0);
      await until(server, 'healthy after undrain', (u) => u?.[0]?.Health === 'healthy' && u[0].Alive, 3000, fourth.log);
      fourth.child.kill('SIGTERM');
      assert.is(await fourth.exited, 0, fourth.log());
      assert.equal(await units(server), [], 'without a drain in progress SIGTERM deregisters');

      // Removal deregisters a registered unit.
      const once = await node.run([AGENT, 'register'], { allowFail: true });
      assert.is(once.code, 0, once.stderr);
      assert.is((await units(server))?.length, 1);
      r = await dpkg(node, ['--purge', SERVICE]);
      assert.is(r.code, 0, r.stderr);
      assert.equal(await units(server), [], 'prerm deregistered');
    } finally {
      for (const a of agents) a.child.kill('SIGKILL');
      await Promise.all(agents.map((a) => a.exited));
      await server?.stop();
      await service.close();
      await node.destroy();
      await p.destroy();
    }
  });
}

for (const suite of SUITES) {
  withoutServer(suite);
  withServer(suite);
}

test.run();
