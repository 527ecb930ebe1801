// Test fixture: a throwaway Debian root ("fleet node") to run real dpkg/apt against.
// Roots come from a cached `mmdebstrap --variant=apt` tarball, extracted fresh per node and
// entered with chroot. No bind mounts: the tarball already carries /dev/{null,zero,...} nodes
// and dpkg -i / apt-get work without /proc, so destroy() is a plain rm -rf with nothing
// mounted underneath that could lead it into host directories.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export type Suite = 'bookworm' | 'trixie';
export const SUITES: Suite[] = ['bookworm', 'trixie'];

export interface RunOptions {
  env?: Record<string, string>;
  allowFail?: boolean;
  input?: string | Uint8Array;
  /** Stop the command after this long (exit code 124). */
  timeoutMs?: number;
}
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const MAX_AGE_MS = 14 * 24 * 3600 * 1000;
/** Packages added to --variant=apt: curl, so nodes can run the color-group agent. Part of the cache name. */
const INCLUDE = ['curl'];
const LOCK_STALE_MS = 30 * 60 * 1000; // a build takes ~20 s; anything older is a crashed builder

export function cacheDir(): string {
  return process.env.DEBPKG_TEST_CACHE ?? path.join(os.homedir(), '.cache', 'debpkg', 'roots');
}

/** Spawn argv with an explicit env (nothing inherited) and collect its output; a non-zero exit is a result, not an error. */
export function exec(argv: string[], env: Record<string, string>, input?: string | Uint8Array, cwd?: string): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('exec: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
    child.stdin.on('error', () => {}); // child may exit without reading its input
    child.stdin.end(input);
  });
}

export const HOST_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8' };

export function tail(s: string, lines = 20): string {
  return s.trimEnd().split('\n').slice(-lines).join('\n');
}

async function isFresh(file: string): Promise<boolean> {
  const st = await fs.stat(file).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs < MAX_AGE_MS;
}

/** A lock is stale if its holder died (crashed test run) or it is implausibly old. */
async function lockIsStale(lock: string): Promise<boolean> {
  const [st, pid] = await Promise.all([fs.stat(lock).catch(() => null), fs.readFile(lock, 'utf8').catch(() => '')]);
  if (!st) return false; // just released; retry the open
  if (Date.now() - st.mtimeMs > LOCK_STALE_MS) return true;
  if (!/^\d+$/.test(pid)) return Date.now() - st.mtimeMs > 5000; // holder has not written its pid yet
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Path of a cached root tarball for `suite` (--variant=apt plus `include`; `prefix` names other
 * kinds of root in the cache), building it with mmdebstrap when missing or stale.
 * Concurrent callers serialise on an O_EXCL lock file; the build goes to a unique temp name
 * (ending in .tar, since mmdebstrap picks the format from the extension) then is renamed, so
 * readers never see a half-written tarball. (Two processes taking over the same stale lock
 * at once can at worst both build; the renames keep the result whole either way.)
 */
export async function ensureRootTarball(suite: Suite, include: readonly string[] = INCLUDE, prefix = ''): Promise<string> {
  const dir = cacheDir();
  const key = `${prefix}${[suite, ...include].join('+')}`;
  const final = path.join(dir, `${key}.tar`);
  if (await isFresh(final)) return final;
  await fs.mkdir(dir, { recursive: true });
  const lock = path.join(dir, `${key}.lock`);
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await lockIsStale(lock)) await fs.rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
      if (await isFresh(final)) return final; // the other process finished the build
    }
  }
  try {
    if (await isFresh(final)) return final;
    const tmp = path.join(dir, `${key}.${process.pid}.${randomBytes(4).toString('hex')}.partial.tar`);
    const includeArg = include.length > 0 ? [`--include=${include.join(',')}`] : [];
    const r = await exec(['mmdebstrap', '--variant=apt', ...includeArg, suite, tmp], HOST_ENV).catch(
      (e: Error): RunResult => ({ code: 127, stdout: '', stderr: e.message }),
    );
    if (r.code !== 0) {
      await fs.rm(tmp, { force: true, recursive: true });
      throw new Error(`mmdebstrap --variant=apt ${includeArg.join(' ')} ${suite} failed (exit ${r.code}):\n${tail(r.stderr)}`);
    }
    await fs.rename(tmp, final);
    return final;
  } finally {
    await fs.rm(lock, { force: true });
  }
}

// Roots still on disk, removed synchronously if the process exits without destroy() (e.g. a
// thrown test). Safe because nothing is ever mounted inside them.
const live = new Set<string>();
process.on('exit', () => {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
});

export class FleetNode {
  private constructor(
    readonly suite: Suite,
    /** Host path of the node's root filesystem. */
    readonly root: string,
    private readonly dir: string,
  ) {}

  static async create(suite: Suite): Promise<FleetNode> {
    const tarball = await ensureRootTarball(suite);
    const base = process.env.DEBPKG_TEST_TMP ?? os.tmpdir();
    const dir = await fs.mkdtemp(path.join(base, `debpkg-node-${suite}-`));
    live.add(dir);
    const node = new FleetNode(suite, path.join(dir, 'root'), dir);
    try {
      await fs.mkdir(node.root);
      // --numeric-owner: keep the guest's uids/gids even if the host maps names differently.
      const r = await exec(['tar', '-xf', tarball, '-C', node.root, '--numeric-owner'], HOST_ENV);
      if (r.code !== 0) throw new Error(`extracting ${tarball} failed (exit ${r.code}):\n${tail(r.stderr)}`);
      // Maintainer scripts must never start daemons from inside the chroot.
      await node.writeFile('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n');
      await fs.chmod(await node.hostPath('/usr/sbin/policy-rc.d'), 0o755);
      // No /dev/pts is mounted: stop apt asking for a pty (else "E: Can not write log").
      await node.writeFile('/etc/apt/apt.conf.d/90debpkg-test', 'Dpkg::Use-Pty "false";\n');
      // Tests never reach the Debian mirrors: a stray `apt-get update` must not go online.
      // Tests add their own (local) sources.
      await node.writeFile('/etc/apt/sources.list', '# emptied by test/support/fleet-node.ts\n');
    } catch (e) {
      await node.destroy();
      throw e;
    }
    return node;
  }

  /**
   * `apt-get update` `rounds` times in a row, as a node polling a repo while it is republished.
   * A round fails on a non-zero exit or any W:/E: line (its output is printed). With
   * `rotateSources` > 0, round i first installs /root/s<i mod rotateSources>.sources, spreading
   * the rounds over that many servers. The output ends in `FAILS=<count>`.
   */
  aptUpdateRounds(rounds: number, rotateSources = 0): Promise<RunResult> {
    const rotate = rotateSources > 0 ? `cp /root/s$((i % ${rotateSources})).sources /etc/apt/sources.list.d/debpkg.sources; ` : '';
    return this.run(
      `fails=0; for i in $(seq 0 ${rounds - 1}); do ${rotate}if ! apt-get -q update >/tmp/out 2>&1 || grep -qE "^(W|E): " /tmp/out; then fails=$((fails+1)); cat /tmp/out; fi; done; echo "FAILS=$fails"`,
      { allowFail: true },
    );
  }

  /** Run a command inside the chroot with a clean environment; a string runs via `sh -c`. */
  async run(argv: string[] | string, opts: RunOptions = {}): Promise<RunResult> {
    const cmd = typeof argv === 'string' ? ['/bin/sh', '-c', argv] : argv;
    const env = {
      ...HOST_ENV,
      DEBIAN_FRONTEND: 'noninteractive',
      HOME: '/root',
      TERM: 'dumb',
      ...opts.env,
    };
    // coreutils timeout: exit 124 when the command had to be stopped.
    const bounded = opts.timeoutMs ? ['timeout', '-k', '5', `${Math.ceil(opts.timeoutMs / 1000)}`] : [];
    const r = await exec([...bounded, 'chroot', this.root, ...cmd], env, opts.input);
    if (r.code !== 0 && !opts.allowFail) {
      throw new Error(`[${this.suite}] ${JSON.stringify(cmd)} exited ${r.code}:\n${tail(r.stderr)}`);
    }
    return r;
  }

  /**
   * Host path of `pathInNode`, resolving symlinks the way the chroot would (absolute targets
   * are relative to the node root, `..` stops at it). Why: the guest has absolute links such as
   * /etc/localtime -> /usr/share/zoneinfo/...; following those on the host would read or
   * overwrite host files.
   */
  async hostPath(pathInNode: string): Promise<string> {
    const todo = pathInNode.split('/');
    const done: string[] = [];
    for (let links = 0; todo.length > 0; ) {
      const c = todo.shift();
      if (c === undefined || c === '' || c === '.') continue;
      if (c === '..') {
        done.pop();
        continue;
      }
      const target = await fs.readlink(path.join(this.root, ...done, c)).catch(() => null); // null: not a link / missing
      if (target === null) {
        done.push(c);
        continue;
      }
      if (++links > 40) throw new Error(`too many levels of symlinks: ${pathInNode}`);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/'));
    }
    return path.join(this.root, ...done);
  }

  /** Copy a host file or directory to `pathInNode` (cp -a: keeps modes, owners, symlinks). */
  async copyIn(hostPath: string, pathInNode: string): Promise<void> {
    const dest = await this.hostPath(pathInNode);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const r = await exec(['cp', '-a', '--', hostPath, dest], HOST_ENV);
    if (r.code !== 0) throw new Error(`copyIn ${hostPath} -> ${pathInNode} failed:\n${tail(r.stderr)}`);
  }

  async readFile(pathInNode: string): Promise<string> {
    return fs.readFile(await this.hostPath(pathInNode), 'utf8');
  }

  /** Write a file, creating parent directories. */
  async writeFile(pathInNode: string, data: string | Uint8Array): Promise<void> {
    const dest = await this.hostPath(pathInNode);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(dest, data);
  }

  async exists(pathInNode: string): Promise<boolean> {
    return (await fs.lstat(await this.hostPath(pathInNode)).catch(() => null)) !== null;
  }

  /** `dpkg-query -s` fields (continuation lines joined with "\n"), or null if not installed. */
  async dpkgStatus(pkg: string): Promise<Record<string, string> | null> {
    const r = await this.run(['dpkg-query', '-s', pkg], { allowFail: true });
    if (r.code !== 0) return null;
    const fields: Record<string, string> = {};
    let key: string | undefined;
    for (const line of r.stdout.split('\n')) {
      if (/^[ \t]/.test(line) && key !== undefined) fields[key] += '\n' + line.slice(1);
      else {
        const m = /^([^:\s]+):\s?(.*)$/.exec(line);
        if (m?.[1] !== undefined) fields[(key = m[1])] = m[2] ?? '';
      }
    }
    return fields.Status?.endsWith(' not-installed') ? null : fields;
  }

  /** Remove the node. Refuses if anything is mounted inside it (then rm -rf could hit host files). */
  async destroy(): Promise<void> {
    const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mounted = mountinfo
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m === this.dir || m.startsWith(this.dir + '/'));
    if (mounted.length > 0) throw new Error(`refusing to remove ${this.dir}: mounts inside: ${mounted.join(', ')}`);
    await fs.rm(this.dir, { recursive: true, force: true });
    live.delete(this.dir);
  }
}

/** Create a node, run fn with it, and always destroy it. */
export async function withFleetNode<T>(suite: Suite, fn: (node: FleetNode) => Promise<T>): Promise<T> {
  const node = await FleetNode.create(suite);
  try {
    return await fn(node);
  } finally {
    await node.destroy();
  }
}
