// Foundation images (packer/, ansible/) with the real tools of the host (Debian's packer,
// ansible-core + community.general's chroot connection, ansible-lint): the template validates
// on every image type and source, the Ansible content passes the production profile, and
// bake.yml runs for real against bookworm and trixie roots, installing a pinned package from
// a repo server on loopback; a second bake changes nothing and nothing registers until a
// simulated first boot (boot.yml, or cloud-init user-data) starts the agent.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import type { Suite } from '../support/fleet-node.js';
import { startBackend, type Backend } from '../support/color-backends.js';
import { execCollect, ImageRoot, prefetchImageTarballs } from '../support/image-root.js';
import { Project, REPO_ROOT } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';
import { runtimeCommand } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { freePort } from '../support/ports.js';

const ANSIBLE_DIR = join(REPO_ROOT, 'ansible');
const PACKER_DIR = join(REPO_ROOT, 'packer');
const NODE_TOKEN = 'images-node-token';
const SERVICE = 'img-demo';
const AGENT = `/usr/lib/debpkg-agent/${SERVICE}/agent`;
const PINNED = '1.0-1';
const TOOL_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8', HOME: process.env.HOME ?? '/root' };

// A fresh machine builds both base-image tarballs (~1 min each) side by side, starting when this
// file's tests start (not at import: uvu imports every file before running any).
test.before(() => prefetchImageTarballs(['bookworm', 'trixie']));

async function scratch(prefix: string): Promise<string> {
  return mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), prefix));
}

// ---------------------------------------------------------------------------------------------
// Packer

/** [major, minor] of the packer on PATH. */
async function packerVersion(): Promise<[number, number]> {
  const r = await execCollect(['packer', 'version'], TOOL_ENV);
  const m = /Packer v(\d+)\.(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`cannot tell the packer version from: ${r.stdout}${r.stderr}`);
  return [Number(m[1]), Number(m[2])];
}

/**
 * A copy of packer/ next to a link to ansible/ (the template finds the playbooks at
 * ${path.root}/../ansible). Packer before 1.7 rejects required_plugins, so it gets the
 * template without plugins.pkr.hcl; newer Packer gets everything and `packer init`.
 */
async function templateDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const base = await scratch('debpkg-packer-');
  const dir = join(base, 'packer');
  const [major, minor] = await packerVersion();
  const legacy = major === 1 && minor < 7;
  await cp(PACKER_DIR, dir, { recursive: true, filter: (src) => !(legacy && src.endsWith('/plugins.pkr.hcl')) });
  await symlink(ANSIBLE_DIR, join(base, 'ansible'));
  if (!legacy) {
    const init = await execCollect(['packer', 'init', dir], TOOL_ENV);
    if (init.code !== 0) throw new Error(`packer init failed: ${init.stdout}${init.stderr}`);
  }
  return { dir, cleanup: () => rm(base, { recursive: true, force: true }) };
}

// validate must not reach cloud.debian.org for SHA512SUMS: CI passes the base image checksum.
const BASE_IMAGE_CHECKSUM = `sha512:${createHash('sha512').update('debian-genericcloud.qcow2').digest('hex')}`;

const packerValidate = (dir: string, vars: Record<string, string>, only?: string) =>
  execCollect(
    ['packer', 'validate', ...Object.entries({ base_image_checksum: BASE_IMAGE_CHECKSUM, ...vars }).flatMap(([k, v]) => ['-var', `${k}=${v}`]), ...(only ? [`-only=${only}`] : []), dir],
    TOOL_ENV,
  );

test('packer: fmt -check passes and validate passes for every image type on the qemu and amazon-ebs sources', async () => {
  const fmt = await execCollect(['packer', 'fmt', '-check', PACKER_DIR], TOOL_ENV);
  assert.is(fmt.code, 0, `packer fmt -check lists files that need formatting: ${fmt.stdout}${fmt.stderr}`);

  const { dir, cleanup } = await templateDir();
  try {
    const packages = JSON.stringify({ [SERVICE]: PINNED });
    const variants: Array<[Record<string, string>, string | undefined]> = [[{}, undefined]];
    for (const image_type of ['os', 'foundation', 'immutable']) {
      for (const only of ['qemu.debian', 'amazon-ebs.debian']) {
        variants.push([{ image_type, packages, color: image_type === 'immutable' ? 'green' : '' }, only]);
      }
    }
    variants.push([{ image_type: 'immutable', debian_release: 'trixie', packages, color: 'blue', repo_url: 'https://repo.example.org' }, undefined]);
    for (const [vars, only] of variants) {
      const r = await packerValidate(dir, vars, only);
      assert.is(r.code, 0, `packer validate ${JSON.stringify(vars)} ${only ?? ''}: ${r.stdout}${r.stderr}`);
    }

    // The variables' own validation names the variable.
    for (const [name, value, message] of [
      ['image_type', 'golden', /image_type must be os, foundation or immutable/],
      ['color', 'red', /color must be blue, green or empty/],
      ['debian_release', 'jessie', /debian_release must be bookworm or trixie/],
      ['repo_url', 'ftp://repo.example.org', /repo_url must be an http:\/\/ or https:\/\/ URL/],
    ] as const) {
      const r = await packerValidate(dir, { [name]: value });
      assert.is.not(r.code, 0, `packer validate accepted ${name}=${value}`);
      assert.match(r.stdout + r.stderr, message);
    }
  } finally {
    await cleanup();
  }
});

// ---------------------------------------------------------------------------------------------
// Ansible

test('ansible-lint --profile production passes on ansible/', async () => {
  const r = await execCollect(['ansible-lint', '--nocolor', '--profile', 'production'], { ...TOOL_ENV, NO_COLOR: '1' }, ANSIBLE_DIR);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
});

interface HostResult {
  changed?: boolean;
  failed?: boolean;
  skipped?: boolean;
  msg?: string;
}
interface PlaybookJson {
  plays: Array<{ tasks: Array<{ task: { name: string }; hosts: Record<string, HostResult> }> }>;
  stats: Record<string, { changed: number; failures: number; unreachable: number; ok: number }>;
}
interface PlaybookRun {
  changed: number;
  /** Names of the tasks that reported a change. */
  changedTasks: string[];
  output: string;
}

/**
 * ansible-playbook against one chroot (or localhost) with the json stdout callback; throws
 * with the failed tasks unless every host finished without failures.
 */
async function playbook(work: string, file: string, host: string, vars: Record<string, unknown>, groups: string[] = []): Promise<PlaybookRun> {
  const inventory = join(work, `inventory-${Math.random().toString(36).slice(2, 8)}.json`);
  const hostVars =
    host === 'localhost'
      ? { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' }
      : // Root already; become would need sudo inside the image.
        { ansible_connection: 'community.general.chroot', ansible_python_interpreter: '/usr/bin/python3', ansible_become: false };
  const children = Object.fromEntries(groups.map((g) => [g, { hosts: { [host]: {} } }]));
  await writeFile(inventory, JSON.stringify({ all: { hosts: { [host]: hostVars }, children } }));
  const varsFile = join(work, `vars-${Math.random().toString(36).slice(2, 8)}.json`);
  await writeFile(varsFile, JSON.stringify(vars));
  const r = await execCollect(['ansible-playbook', '-i', inventory, '-e', `@${varsFile}`, join(ANSIBLE_DIR, file)], {
    ...TOOL_ENV,
    ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
    ANSIBLE_STDOUT_CALLBACK: 'json',
    ANSIBLE_NOCOLOR: '1',
  });
  const output = `${file} exited ${r.code}\n${r.stdout}\n${r.stderr}`;
  let json: PlaybookJson;
  try {
    json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as PlaybookJson;
  } catch {
    throw new Error(`no JSON from ansible-playbook: ${output}`);
  }
  const tasks = json.plays.flatMap((p) => p.tasks);
  const failed = tasks.filter((t) => Object.values(t.hosts).some((h) => h.failed)).map((t) => `${t.task.name}: ${Object.values(t.hosts).map((h) => h.msg ?? '').join(' ')}`);
  const stats = json.stats[host];
  if (r.code !== 0 || !stats || stats.failures > 0 || stats.unreachable > 0) throw new Error(`${file} failed: ${failed.join('; ') || output}`);
  return {
    changed: stats.changed,
    changedTasks: tasks.filter((t) => Object.values(t.hosts).some((h) => h.changed)).map((t) => t.task.name),
    output,
  };
}

// ---------------------------------------------------------------------------------------------
// The repo server and a color-group package

/** img-demo: a static site (python3 -m http.server serves /healthz) in a color group. */
async function buildDemo(p: Project, version: string, port: number): Promise<string> {
  await p.write('www/healthz', 'ok\n');
  await p.write('www/index.html', `img-demo ${version}\n`);
  await p.write(
    'debpkg.yaml',
    `name: ${SERVICE}
version: "${version}"
release: "1"
arch: all
maintainer: Image Tester <images@example.org>
description: |
  Package baked into images by the images test
  A static site in a blue/green color group.
license: MIT
depends: [python3]
contents:
  - { src: www/, dst: /usr/share/${SERVICE}/www, type: tree }
color:
  service: ${SERVICE}
  port: ${port}
  health: { path: /healthz, interval: 1s, timeout: 1s }
`,
  );
  return p.build(['--output', `out-${version}`], { SOURCE_DATE_EPOCH: '1700000000' });
}

interface Fixture {
  server: TestRepoServer;
  project: Project;
  work: string;
  port: number;
}

/** A repo server publishing img-demo 1.0-1 and 1.1-1 (so a pin is visible) as `stable`. */
async function fixture(): Promise<Fixture> {
  const project = await Project.create();
  const server = await TestRepoServer.start({ nodeTokens: [NODE_TOKEN] });
  const work = await scratch('debpkg-images-');
  const port = await freePort();
  const debs = [await buildDemo(project, '1.0', port), await buildDemo(project, '1.1', port)];
  assert.is((await server.api('POST', '/api/repos', { Name: 'fleet' })).status, 201);
  await server.addPackages('fleet', debs);
  const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable' });
  assert.is(pub.status, 201, pub.text);
  return { server, project, work, port };
}

async function teardown(f: Fixture, image?: ImageRoot): Promise<void> {
  await image?.destroy();
  await f.server.stop();
  await f.project.destroy();
  await rm(f.work, { recursive: true, force: true });
}

const bakeVars = (f: Fixture, imageType: string) => ({
  debpkg_image_type: imageType,
  debpkg_image_color: 'green',
  debpkg_repo_url: f.server.url,
  debpkg_repo_distribution: 'stable',
  debpkg_unit_packages: [{ name: SERVICE, version: PINNED }],
});

const nodeVars = (f: Fixture, suite: Suite) => ({
  debpkg_unit_color: 'green',
  debpkg_unit_server: f.server.url,
  debpkg_unit_node_token: NODE_TOKEN,
  debpkg_unit_node_id: `img-${suite}`,
  debpkg_unit_address: '127.0.0.1',
});

async function installedVersion(image: ImageRoot, pkg: string): Promise<string | null> {
  const r = await image.run(['dpkg-query', '-W', '-f', '${Status}|${Version}', pkg], { allowFail: true });
  if (r.code !== 0 || !r.stdout.includes('installed')) return null;
  return r.stdout;
}

/** After a bake: no node identity, no registration, no process running inside the image. */
async function assertNothingRegistered(f: Fixture, image: ImageRoot): Promise<void> {
  assert.is(await image.readFile('/etc/debpkg/color'), null, 'the bake wrote /etc/debpkg/color');
  assert.is(await image.readFile('/etc/debpkg/agent.conf'), null, 'the bake wrote /etc/debpkg/agent.conf');
  const services = await f.server.api('GET', '/api/services');
  assert.is(services.status, 200, services.text);
  assert.equal(services.json, [], `something registered at bake time: ${services.text}`);
  assert.equal(await image.processesInside(), [], 'a process (an agent?) was left running inside the image');
}

/** Checks the repo source the bake configured: keyring + Signed-By, no apt-key. */
async function assertRepoSource(f: Fixture, image: ImageRoot): Promise<void> {
  const key = await image.readFile('/etc/apt/keyrings/debpkg.asc');
  const served = await fetch(`${f.server.url}/keys/archive.asc`).then((r) => r.text());
  assert.is(key, served, 'the keyring holds the server key');
  const sources = await image.readFile('/etc/apt/sources.list.d/debpkg.sources');
  assert.ok(sources !== null, 'debpkg.sources exists');
  assert.match(sources, new RegExp(`^URIs: ${f.server.url.replace(/[.]/g, '\\.')}$`, 'm'));
  assert.match(sources, /^Suites: stable$/m);
  assert.match(sources, /^Signed-By: \/etc\/apt\/keyrings\/debpkg\.asc$/m);
  // apt-key's places stay empty: the key is trusted for this source only.
  assert.is(await image.readFile('/etc/apt/trusted.gpg'), null);
  const trusted = await image.run(['ls', '-A', '/etc/apt/trusted.gpg.d'], { allowFail: true });
  assert.not.match(trusted.stdout, /debpkg/);
  const policy = await image.run(['apt-cache', 'policy', SERVICE]);
  assert.match(policy.stdout, /Candidate: 1\.1-1/, `apt sees the repo: ${policy.stdout}`);
}

/** Starts the site and the agent inside the image (no systemd in a chroot) and waits for the unit. */
async function bootAndRegister(f: Fixture, image: ImageRoot): Promise<void> {
  image.start(['python3', '-m', 'http.server', String(f.port), '--bind', '127.0.0.1', '--directory', `/usr/share/${SERVICE}/www`]);
  const agent = image.start([AGENT, 'run']);
  let agentLog = '';
  agent.stderr?.on('data', (b: Buffer) => (agentLog += b.toString()));
  const node = `img-${image.suite}`;
  type UnitJson = { Node: string; Color: string; Version: string; Package: string; Health: string; Address: string; Port: number; Alive: boolean };
  let unit: UnitJson | undefined;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = await f.server.api('GET', `/api/services/${SERVICE}`);
    unit = r.status === 200 ? (r.json as { Units: UnitJson[] }).Units.find((u) => u.Node === node) : undefined;
    if (unit?.Health === 'healthy') break;
    await sleep(200);
  }
  assert.ok(unit, `the unit never registered; agent said:\n${agentLog}`);
  assert.is(unit.Health, 'healthy', agentLog);
  assert.is(unit.Color, 'green');
  assert.is(unit.Version, PINNED);
  assert.is(unit.Package, SERVICE);
  assert.is(unit.Address, '127.0.0.1');
  assert.is(unit.Port, f.port);
  assert.ok(unit.Alive);
  // The detector behind "no process inside the image after the bake" sees the agent now.
  assert.ok((await image.processesInside()).includes(agent.pid ?? -1), 'processesInside() finds the running agent');

  // A machine that shuts down deregisters (the agent's SIGTERM path).
  const exited = new Promise((r) => agent.once('exit', r));
  agent.kill('SIGTERM');
  await exited;
  const after = await f.server.api('GET', `/api/services/${SERVICE}`);
  assert.equal((after.json as { Units: UnitJson[] }).Units, [], `still registered after SIGTERM; agent said:\n${agentLog}`);
}

/** An immutable bake, twice (the second changes nothing), with every "not registered" check. */
async function bakeImmutable(f: Fixture, image: ImageRoot): Promise<void> {
  const first = await playbook(f.work, 'bake.yml', image.root, bakeVars(f, 'immutable'));
  assert.ok(first.changed > 0, first.output);
  assert.is(await installedVersion(image, SERVICE), `hold ok installed|${PINNED}`, 'the pinned version, held');
  await assertRepoSource(f, image);
  assert.is((await image.run(['systemctl', 'is-enabled', `debpkg-agent-${SERVICE}.service`], { allowFail: true })).stdout.trim(), 'enabled');
  assert.is(await image.readFile('/etc/machine-id'), 'uninitialized\n');
  const fact = JSON.parse((await image.readFile('/etc/ansible/facts.d/debpkg_image.fact')) ?? 'null') as { type: string; packages: unknown };
  assert.is(fact.type, 'immutable');
  assert.equal(fact.packages, [{ name: SERVICE, version: PINNED }]);
  await assertNothingRegistered(f, image);

  const second = await playbook(f.work, 'bake.yml', image.root, bakeVars(f, 'immutable'));
  assert.is(second.changed, 0, `second bake changed: ${second.changedTasks.join(', ')}`);
  await assertNothingRegistered(f, image);
}

test('bookworm: immutable bake via the chroot connection (pinned, held, idempotent, unregistered); boot.yml first boot registers the unit', async () => {
  const f = await fixture();
  let image: ImageRoot | undefined;
  try {
    image = await ImageRoot.create('bookworm');
    await bakeImmutable(f, image);

    // First boot: boot.yml writes the two files; systemd is not running in a chroot, so the
    // test starts the agent the way the enabled unit would.
    const boot = await playbook(f.work, 'boot.yml', image.root, { ...nodeVars(f, 'bookworm'), debpkg_unit_start: false });
    assert.ok(boot.changed > 0);
    assert.not.ok(boot.changedTasks.some((t) => /Install the pinned/.test(t)), 'an immutable image installs nothing at boot');
    assert.is(await image.readFile('/etc/debpkg/color'), 'green\n');
    const conf = await image.readFile('/etc/debpkg/agent.conf');
    assert.match(conf ?? '', new RegExp(`^DEBPKG_SERVER=${f.server.url.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(conf ?? '', new RegExp(`^DEBPKG_NODE_TOKEN=${NODE_TOKEN}$`, 'm'));
    assert.match(conf ?? '', /^DEBPKG_NODE_ID=img-bookworm$/m);
    assert.is((await image.run(['stat', '-c', '%a %U', '/etc/debpkg/agent.conf'])).stdout.trim(), '600 root', 'the token file is root-only');
    const again = await playbook(f.work, 'boot.yml', image.root, { ...nodeVars(f, 'bookworm'), debpkg_unit_start: false });
    assert.is(again.changed, 0, `second boot.yml changed: ${again.changedTasks.join(', ')}`);

    await bootAndRegister(f, image);
  } finally {
    await teardown(f, image);
  }
});

test('trixie: immutable bake via the chroot connection (pinned, held, idempotent, unregistered); cloud-init user-data first boot registers the unit', async () => {
  const f = await fixture();
  let image: ImageRoot | undefined;
  try {
    image = await ImageRoot.create('trixie');
    await bakeImmutable(f, image);

    // First boot without Ansible: cloud-init.yml renders user-data; its write_files are what
    // cloud-init would write before the enabled agent's next look.
    const userData = join(f.work, 'user-data');
    await playbook(f.work, 'cloud-init.yml', 'localhost', { ...nodeVars(f, 'trixie'), debpkg_cloud_init_output: userData });
    const text = await readFile(userData, 'utf8');
    assert.ok(text.startsWith('#cloud-config\n'), 'cloud-init needs the #cloud-config header');
    const doc = parseYaml(text) as { write_files: Array<{ path: string; content: string; permissions: string }>; runcmd: unknown[] };
    assert.equal(doc.write_files.map((w) => w.path).sort(), ['/etc/debpkg/agent.conf', '/etc/debpkg/color']);
    for (const w of doc.write_files) await image.writeFile(w.path, w.content, w.permissions);
    assert.is(await image.readFile('/etc/debpkg/color'), 'green\n');
    assert.ok(doc.runcmd.length > 0);

    await bootAndRegister(f, image);
  } finally {
    await teardown(f, image);
  }
});

test('bookworm: foundation bake configures the repo only; boot.yml installs the pinned version at first boot, idempotently', async () => {
  const f = await fixture();
  let image: ImageRoot | undefined;
  try {
    image = await ImageRoot.create('bookworm');
    const first = await playbook(f.work, 'bake.yml', image.root, bakeVars(f, 'foundation'));
    assert.ok(first.changed > 0);
    assert.is(await installedVersion(image, SERVICE), null, 'a foundation image carries no application');
    await assertRepoSource(f, image);
    const second = await playbook(f.work, 'bake.yml', image.root, bakeVars(f, 'foundation'));
    assert.is(second.changed, 0, `second bake changed: ${second.changedTasks.join(', ')}`);
    await assertNothingRegistered(f, image);

    const boot = await playbook(f.work, 'boot.yml', image.root, { ...bakeVars(f, 'foundation'), ...nodeVars(f, 'bookworm'), debpkg_unit_start: false });
    assert.ok(boot.changedTasks.some((t) => /Install the pinned/.test(t)), `boot.yml installed nothing: ${boot.changedTasks.join(', ')}`);
    assert.is(await installedVersion(image, SERVICE), `hold ok installed|${PINNED}`, 'the pinned version, not the newest');
    assert.is(await image.readFile('/etc/debpkg/color'), 'green\n');
    const again = await playbook(f.work, 'boot.yml', image.root, { ...bakeVars(f, 'foundation'), ...nodeVars(f, 'bookworm'), debpkg_unit_start: false });
    assert.is(again.changed, 0, `second boot.yml changed: ${again.changedTasks.join(', ')}`);
  } finally {
    await teardown(f, image);
  }
});

test('bookworm: fleet.yml seeds HAProxy for the repo server (idempotent); the server drives it unmanaged: units register, a swap moves traffic to green', async () => {
  const work = await scratch('debpkg-lb-');
  let image: ImageRoot | undefined;
  let server: TestRepoServer | undefined;
  const backends: Backend[] = [];
  try {
    image = await ImageRoot.create('bookworm');
    // Paths that name the same file inside the root and on the host (inside, <root> links to
    // /), so HAProxy in the root and the repo server on the host share config and socket.
    await image.run(['sh', '-c', 'mkdir -p "$(dirname "$1")" && ln -s / "$1"', 'sh', image.root]);
    const lb = {
      debpkg_lb_config: `${image.root}/etc/haproxy/debpkg.cfg`,
      debpkg_lb_socket: `${image.root}/run/haproxy/admin.sock`,
      debpkg_lb_dir: `${image.root}/var/lib/debpkg/lb/haproxy`,
      debpkg_lb_start: false,
    };
    const first = await playbook(work, 'fleet.yml', image.root, lb, ['debpkg_lb']);
    assert.ok(first.changedTasks.some((t) => t.endsWith('Seed the HAProxy config the repo server owns')), first.changedTasks.join(', '));
    const second = await playbook(work, 'fleet.yml', image.root, lb, ['debpkg_lb']);
    assert.is(second.changed, 0, `second run changed: ${second.changedTasks.join(', ')}`);
    assert.match((await image.readFile('/etc/default/haproxy')) ?? '', new RegExp(`^CONFIG="${lb.debpkg_lb_config}"$`, 'm'));

    // HAProxy as Debian's unit starts it (tmpfiles creates /run/haproxy at boot).
    await image.run(['mkdir', '-p', '/run/haproxy']);
    const haproxy = image.start(['haproxy', '-W', '-db', '-f', lb.debpkg_lb_config]);
    let level = '';
    for (let i = 0; i < 100 && level === ''; i++) {
      level = (await runtimeCommand(lb.debpkg_lb_socket, 'show cli level', 500).catch(() => '')).trim();
      if (level === '') await sleep(100);
    }
    assert.is(level, 'admin', 'the runtime API socket has the admin level swaps need');

    // The repo server as the role's comment runs it: --no-lb-manage with the role's paths.
    server = await TestRepoServer.start({
      nodeTokens: [NODE_TOKEN],
      color: {
        lb: { adapter: 'haproxy', manage: false, configFile: lb.debpkg_lb_config, socket: lb.debpkg_lb_socket, dir: lb.debpkg_lb_dir, reloadCommand: ['kill', '-USR2', String(haproxy.pid)] },
      },
    });
    backends.push(await startBackend('b1', 'blue', '127.0.0.1'), await startBackend('g1', 'green', '127.0.0.1'));
    const port = await freePort();
    const svc = await server.api('PUT', '/api/services/web', { Listen: `127.0.0.1:${port}`, PreviewAllow: ['127.0.0.1/32'] });
    assert.is(svc.status, 200, svc.text);
    for (const b of backends) {
      const r = await server.api('PUT', `/api/units/web/${b.node}`, { Address: b.address, Port: b.port, Color: b.color, Version: '1.0-1', Package: 'web', Health: 'healthy' }, NODE_TOKEN);
      assert.is(r.status, 200, r.text);
    }
    const colorAt = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      return res?.headers.get('x-color') ?? `none (${res?.status ?? 'no answer'})`;
    };
    const waitFor = async (color: string): Promise<string> => {
      let seen = '';
      for (let i = 0; i < 50 && seen !== color; i++) {
        seen = await colorAt();
        if (seen !== color) await sleep(100);
      }
      return seen;
    };
    assert.is(await waitFor('blue'), 'blue', 'the first color to register takes the traffic');
    const swap = await server.api('POST', '/api/services/web/swap', { To: 'green' });
    assert.is(swap.status, 200, swap.text);
    assert.is(await waitFor('green'), 'green', 'traffic follows the swap');
    for (let i = 0; i < 5; i++) assert.is(await colorAt(), 'green');
    assert.match((await readFile(lb.debpkg_lb_config, 'utf8')), /^backend web$/m, 'the repo server owns the seeded config now');
  } finally {
    await server?.stop();
    await Promise.all(backends.map((b) => b.close()));
    await image?.destroy();
    await rm(work, { recursive: true, force: true });
  }
});

test.run();
