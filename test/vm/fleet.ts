// The fleet of the VM tests: one repo server on the host (127.0.0.1; VMs reach it at 10.0.2.2)
// that also runs HAProxy in front of the units, the vm-demo packages published on it, and VMs
// booted from the baked image with their first-boot data (color, server URL, node token). Each
// VM's service port is forwarded from its own loopback address (blue 127.0.0.2, green
// 127.0.0.3), which its agent registers as the unit's address, so HAProxy on the host and the
// server's gate probe reach the units as real network peers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/ports.js';
import { TestRepoServer, TEST_NODE_TOKEN } from '../support/repo-server.js';
import type { Project } from '../support/project.js';
import { ensureBaseDisk, type BaseDisk } from './base-disk.js';
import { packerBuild, type BakeResult } from './bake.js';
import { buildDemo, SERVICE } from './demo.js';
import { Vm } from './vm.js';

export type Color = 'blue' | 'green';
export const ADDRESS: Record<Color, string> = { blue: '127.0.0.2', green: '127.0.0.3' };
export const TTL_MS = 10_000;

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

export class Fleet {
  readonly vms = new Map<Color, Vm>();
  bake: BakeResult | undefined;
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
    const t0 = Date.now();
    const base = await ensureBaseDisk();
    const port = await freePort();
    const { project, debs } = await buildDemo(port, versions);
    const serverPort = await freePort();
    const server = await TestRepoServer.start({ color: { ttlMs: TTL_MS, probe: true, probeTimeoutMs: 3000, lb: { adapter: 'haproxy', manage: true } } }, undefined, serverPort);
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
    if (first) await this.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable' }, 201);
    else await this.api('PUT', '/api/publish/:./stable', {}, 200);
  }

  async packer(packages: Record<string, string>): Promise<BakeResult> {
    this.bake = await packerBuild({ base: this.base, repoUrl: this.guestServerUrl, packages, outDir: this.work });
    this.figures.packerBuildSeconds = Math.round(this.bake.seconds);
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
    const vm = await Vm.boot({
      name: `vm-${color}`,
      boot: { kernel: this.base.kernel, initrd: this.base.initrd, image: this.bake.image, sshKey: this.base.sshKey },
      files: {
        '/etc/debpkg/agent.conf': { data: agentConf, mode: 0o600 },
        '/etc/debpkg/color': { data: `${color}\n`, mode: 0o644 },
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
