// The fleet of the VM tests: one repo server on the host (127.0.0.1; VMs reach it at 10.0.2.2)
// that also runs HAProxy in front of the units, the vm-demo packages published on it, and VMs
// booted from the baked image with their first-boot data (color, server URL, node token). Each
// VM's service port is forwarded from its own loopback address (blue 127.0.0.2, green
// 127.0.0.3), which its agent registers as the unit's address, so HAProxy on the host and the
// server's gate probe reach the units as real network peers.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/ports.js';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';
import type { Project } from '../support/project.js';
import { ensureBaseDisk, type BaseDisk } from './base-disk.js';
import { ensureBake, type CachedBake } from './image-cache.js';
import { buildDemo, DEMO_PORT, SERVICE } from './demo.js';
import { removeOnSignal, Vm } from './vm.js';

export type Color = 'blue' | 'green';
export const ADDRESS: Record<Color, string> = { blue: '127.0.0.2', green: '127.0.0.3' };
/** Where a test runs a unit on the host itself (upgrade-one.test.ts). */
export const HOST_UNIT_ADDRESS = '127.0.0.4';
/**
 * The registry's TTL. Under software emulation on a loaded host one agent loop (a curl of the
 * health check, a curl to the server, each a process start) took 20-40 s instead of the unit's
 * 1 s interval, so a 10 s TTL expired healthy units between heartbeats.
 */
export const TTL_MS = 90_000;

export interface UnitJson {
  Node: string;
  Address: string;
  Port: number;
  Color: Color;
  Version: string;
  Health: string;
  Alive: boolean;
}
export interface ServiceJson {
  Active: Color | null;
  Weights: Record<Color, number>;
  Units: UnitJson[];
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * vm-demo's port, baked into its package (and so into the image's cache key): DEMO_PORT unless
 * something holds it on the units' addresses (another run), else any free one (the bake then
 * misses the cache).
 */
async function demoPort(): Promise<number> {
  for (const host of [...Object.values(ADDRESS), HOST_UNIT_ADDRESS]) {
    if (!(await portFree(host, DEMO_PORT))) return freePort();
  }
  return DEMO_PORT;
}

export class Fleet {
  readonly vms = new Map<Color, Vm>();
  bake: CachedBake | undefined;
  /** The .deb files published so far (a bake can install any of them: part of its cache key). */
  readonly published: string[] = [];
  lbUrl = '';
  readonly figures: Record<string, number | string> = {};

  private constructor(
    readonly work: string,
    readonly base: BaseDisk,
    readonly server: TestRepoServer,
    readonly project: Project,
    readonly debs: string[],
    readonly port: number,
    readonly serverPort: number,
  ) {}

  static async create(versions: string[]): Promise<Fleet> {
    const work = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-vm-'));
    removeOnSignal(work);
    const t0 = Date.now();
    const base = await ensureBaseDisk();
    const port = await demoPort();
    const { project, debs } = await buildDemo(port, versions);
    const serverPort = await freePort();
    removeOnSignal(project.dir);
    const server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, probe: true, probeTimeoutMs: 3000, lb: { adapter: 'haproxy', manage: true } } }, undefined, serverPort);
    removeOnSignal(server.dataDir);
    const f = new Fleet(work, base, server, project, debs, port, serverPort);
    f.figures.baseDiskSeconds = base.buildSeconds > 0 ? Math.round(base.buildSeconds) : `cached (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
    const lbPort = await freePort();
    f.lbUrl = `http://127.0.0.1:${lbPort}`;
    await f.api('PUT', `/api/services/${SERVICE}`, { Listen: `127.0.0.1:${lbPort}`, MinHealthy: 1 }, 200);
    await f.api('POST', '/api/repos', { Name: 'fleet' }, 201);
    return f;
  }

  /** The URL the VMs use for the repo server (QEMU's user network maps 10.0.2.2 to the host's loopback). */
  get guestServerUrl(): string {
    return `http://10.0.2.2:${this.serverPort}`;
  }

  async api(method: string, path: string, body: unknown, expect: number): Promise<unknown> {
    const r = await this.server.api(method, path, body);
    if (r.status !== expect) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.json;
  }

  /** Adds one package version to the repo and (re)publishes `stable`. */
  async publish(deb: string, first: boolean): Promise<void> {
    await this.server.addPackages('fleet', [deb]);
    this.published.push(deb);
    if (first) await this.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable' }, 201);
    else await this.api('PUT', '/api/publish/:./stable', {}, 200);
  }

  /** The foundation image with these packages: baked by packer, or from the cache when its inputs are unchanged. */
  async packer(packages: Record<string, string>): Promise<CachedBake> {
    this.bake = await ensureBake({ base: this.base, repoUrl: this.guestServerUrl, packages, outDir: this.work }, this.published);
    this.figures.packerBuildSeconds = this.bake.cached ? `cached (baked in ${Math.round(this.bake.seconds)} s)` : Math.round(this.bake.seconds);
    return this.bake;
  }

  async service(): Promise<ServiceJson> {
    const r = await this.server.api('GET', `/api/services/${SERVICE}`);
    return r.status === 200 ? (r.json as ServiceJson) : { Active: null, Weights: { blue: 0, green: 0 }, Units: [] };
  }

  async unitOf(color: Color): Promise<UnitJson | undefined> {
    return (await this.service()).Units.find((u) => u.Color === color && u.Alive);
  }

  async waitFor(what: string, ok: () => Promise<boolean>, ms: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await ok()) return (Date.now() - t0) / 1000;
      await sleep(500);
    }
    throw new Error(`timed out after ${ms / 1000} s waiting for ${what}; registry: ${JSON.stringify((await this.service()).Units)}`);
  }

  async bootVm(color: Color): Promise<Vm> {
    if (!this.bake) throw new Error('bake first');
    const agentConf = [`DEBPKG_SERVER=${this.guestServerUrl}`, `DEBPKG_NODE_TOKEN=${TEST_NODE_TOKEN}`, `DEBPKG_ADDRESS=${ADDRESS[color]}`, ''].join('\n');
    // This run's repo source and signing key (a cached image holds those of the run that baked it).
    const key = await this.server.api('GET', '/keys/archive.asc', undefined, null);
    if (key.status !== 200) throw new Error(`GET /keys/archive.asc: ${key.status}`);
    const source = ['# debpkg repo server (first-boot data of the VM tests)', 'Types: deb', `URIs: ${this.guestServerUrl}`, 'Suites: stable', 'Components: main', 'Signed-By: /etc/apt/keyrings/debpkg.asc', ''].join('\n');
    const vm = await Vm.boot({
      name: `vm-${color}`,
      boot: { kernel: this.base.kernel, initrd: this.base.initrd, image: this.bake.image, sshKey: this.base.sshKey },
      files: {
        '/etc/debpkg/agent.conf': { data: agentConf, mode: 0o600 },
        '/etc/debpkg/color': { data: `${color}\n`, mode: 0o644 },
        '/etc/apt/sources.list.d/debpkg.sources': { data: source, mode: 0o644 },
        '/etc/apt/keyrings/debpkg.asc': { data: key.text, mode: 0o644 },
      },
      sshPort: await freePort(),
      forwards: [{ hostAddress: ADDRESS[color], hostPort: this.port, guestPort: this.port }],
      workDir: join(this.work, 'vms'),
    });
    this.vms.set(color, vm);
    return vm;
  }

  vm(color: Color): Vm {
    const vm = this.vms.get(color);
    if (!vm) throw new Error(`no ${color} VM`);
    return vm;
  }

  async close(): Promise<void> {
    for (const vm of this.vms.values()) await vm.kill();
    await this.server.stop(Boolean(process.env.DEBPKG_VM_KEEP));
    await this.project.destroy();
    if (!process.env.DEBPKG_VM_KEEP) await rm(this.work, { recursive: true, force: true });
  }
}
