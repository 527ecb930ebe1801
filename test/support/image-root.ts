// Test fixture for the images test: a Debian root that stands in for a cloud base image, baked
// by Ansible through the community.general.chroot connection. Like fleet-node.ts (cached
// mmdebstrap tarball, fresh extraction, nothing mounted inside), plus what a Debian cloud
// image already has and the apt variant lacks: python3 (Ansible's modules), python3-apt
// (the apt module), systemd (systemctl enable works offline in a chroot), ca-certificates,
// curl (the agent); haproxy for the load-balancer role.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir, type RunResult, type Suite } from './fleet-node.js';

export const IMAGE_INCLUDE = ['ca-certificates', 'curl', 'haproxy', 'python3', 'python3-apt', 'systemd'];
const MAX_AGE_MS = 14 * 24 * 3600 * 1000;
const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8' };

/** Spawn argv with an explicit env and collect its output; never throws for a non-zero exit. */
export function execCollect(argv: string[], env: Record<string, string> = HOST_ENV, cwd?: string): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('execCollect: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

function tail(s: string, lines = 20): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

async function isFresh(file: string): Promise<boolean> {
  const st = await fs.stat(file).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs < MAX_AGE_MS;
}

/**
 * The cached base-image tarball for `suite`. Built to a unique temp name then renamed, so a
 * reader never sees a partial file; two concurrent first runs may both build (same result).
 */
export function ensureImageTarball(suite: Suite): Promise<string> {
  let p = building.get(suite);
  if (!p) {
    p = buildImageTarball(suite);
    building.set(suite, p);
    p.catch(() => building.delete(suite)); // a later caller retries (and sees the error)
  }
  return p;
}

/** Starts the tarballs a test file needs at once: a first run builds them side by side. */
export function prefetchImageTarballs(suites: Suite[]): void {
  for (const suite of suites) ensureImageTarball(suite).catch(() => {});
}

const building = new Map<Suite, Promise<string>>();

async function buildImageTarball(suite: Suite): Promise<string> {
  const dir = cacheDir();
  const final = path.join(dir, `image-${suite}+${IMAGE_INCLUDE.join('+')}.tar`);
  if (await isFresh(final)) return final;
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `image-${suite}.${process.pid}.${randomBytes(4).toString('hex')}.partial.tar`);
  const r = await execCollect(['mmdebstrap', '--variant=apt', `--include=${IMAGE_INCLUDE.join(',')}`, suite, tmp]);
  if (r.code !== 0) {
    await fs.rm(tmp, { force: true });
    throw new Error(`mmdebstrap ${suite} for the image root failed (exit ${r.code}):\n${tail(r.stderr)}`);
  }
  await fs.rename(tmp, final);
  return final;
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
