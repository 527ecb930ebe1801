// Test fixture for the images test: a Debian root that stands in for a cloud base image, baked
// by Ansible through the community.general.chroot connection. Like fleet-node.ts (cached
// mmdebstrap tarball, fresh extraction, nothing mounted inside), plus what a Debian cloud
// image already has and the apt variant lacks: python3 (Ansible's modules), python3-apt
// (the apt module), systemd (systemctl enable works offline in a chroot), ca-certificates,
// curl (the agent); haproxy for the load-balancer role.

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureRootTarball, exec, HOST_ENV, tail, type RunResult, type Suite } from './fleet-node.js';

export const IMAGE_INCLUDE = ['ca-certificates', 'curl', 'haproxy', 'python3', 'python3-apt', 'systemd'];

/** Spawn argv with an explicit env (default: a bare PATH) and collect its output; never throws for a non-zero exit. */
export function execCollect(argv: string[], env: Record<string, string> = HOST_ENV, cwd?: string): Promise<RunResult> {
  return exec(argv, env, undefined, cwd);
}

/** The cached base-image tarball for `suite`: fleet-node's cache and lock, a different package set. */
export function ensureImageTarball(suite: Suite): Promise<string> {
  return ensureRootTarball(suite, IMAGE_INCLUDE, 'image-');
}

/** Starts the tarballs a test file needs at once: a first run builds them side by side. */
export function prefetchImageTarballs(suites: Suite[]): void {
  for (const suite of suites) ensureImageTarball(suite).catch(() => {});
}

const live = new Set<string>();
process.on('exit', () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

export class ImageRoot {
  private readonly children = new Set<ChildProcess>();

  private constructor(
    readonly suite: Suite,
    /** Host path of the root filesystem: also the Ansible inventory host of the chroot connection. */
    readonly root: string,
    private readonly dir: string,
  ) {}

  static async create(suite: Suite): Promise<ImageRoot> {
    const tarball = await ensureImageTarball(suite);
    const dir = await fs.mkdtemp(path.join(process.env.DEBPKG_TEST_TMP ?? os.tmpdir(), `debpkg-image-${suite}-`));
    live.add(dir);
    const image = new ImageRoot(suite, path.join(dir, 'root'), dir);
    try {
      await fs.mkdir(image.root);
      const r = await execCollect(['tar', '-xf', tarball, '-C', image.root, '--numeric-owner']);
      if (r.code !== 0) throw new Error(`extracting ${tarball} failed (exit ${r.code}):\n${tail(r.stderr)}`);
      // Same isolation as a fleet node: no daemons from maintainer scripts, no pty for apt, no
      // Debian mirrors (the test's repo server on loopback is the only source).
      await image.run(['sh', '-c', "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d"]);
      await image.run(['sh', '-c', `echo 'Dpkg::Use-Pty "false";' > /etc/apt/apt.conf.d/90debpkg-test`]);
      await image.run(['sh', '-c', "echo '# emptied by test/support/image-root.ts' > /etc/apt/sources.list && rm -f /etc/apt/sources.list.d/debian.sources"]);
    } catch (e) {
      await image.destroy();
      throw e;
    }
    return image;
  }

  /** Run a command inside the root (chroot, clean environment); throws unless allowFail. */
  async run(argv: string[], opts: { allowFail?: boolean } = {}): Promise<RunResult> {
    const r = await execCollect(['chroot', this.root, ...argv], { ...HOST_ENV, HOME: '/root', DEBIAN_FRONTEND: 'noninteractive' });
    if (r.code !== 0 && !opts.allowFail) throw new Error(`[${this.suite}] ${JSON.stringify(argv)} exited ${r.code}:\n${tail(r.stderr)}`);
    return r;
  }

  /** Read a file as the chroot sees it (cat inside the root: absolute links stay inside). */
  async readFile(pathInRoot: string): Promise<string | null> {
    const r = await this.run(['cat', '--', pathInRoot], { allowFail: true });
    return r.code === 0 ? r.stdout : null;
  }

  /** Write a file inside the root with `mode` (through the chroot, for the same reason). */
  async writeFile(pathInRoot: string, content: string, mode: string): Promise<void> {
    const dir = path.posix.dirname(pathInRoot);
    const r = await new Promise<RunResult>((resolve, reject) => {
      const child = spawn('chroot', [this.root, 'sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, pathInRoot, mode], { env: HOST_ENV });
      const err: Buffer[] = [];
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: '', stderr: Buffer.concat(err).toString() }));
      child.stdin.end(content);
    });
    if (r.code !== 0) throw new Error(`writing ${pathInRoot} failed: ${r.stderr}`);
  }

  /** Start a long-running command inside the root (a daemon a booted machine would run). */
  start(argv: string[]): ChildProcess {
    const child = spawn('chroot', [this.root, ...argv], { env: { ...HOST_ENV, HOME: '/root' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Pids of every process whose root directory is this root (anything started inside it). */
  async processesInside(): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await fs.readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const root = await fs.readlink(`/proc/${entry}/root`).catch(() => null);
      if (root === this.root) pids.push(Number(entry));
    }
    return pids;
  }

  /** Stop what start() left running, then remove the root (nothing is ever mounted inside). */
  async destroy(): Promise<void> {
    // SIGTERM first: an haproxy master takes its workers down with it, an agent deregisters.
    const running = [...this.children];
    const exits = running.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))));
    for (const child of running) child.kill('SIGTERM');
    const killer = setTimeout(() => running.forEach((c) => c.kill('SIGKILL')), 3000);
    await Promise.all(exits);
    clearTimeout(killer);
    await fs.rm(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
  }
}
