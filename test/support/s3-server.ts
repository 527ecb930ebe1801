// A real S3-compatible server for tests: Ceph's radosgw (Debian trixie's `radosgw`, reef 18.2)
// with its `dbstore` backend (SQLite files, no Ceph cluster), run in a cached trixie root made
// by mmdebstrap (the host is bookworm, whose radosgw 16 has no dbstore). Bound to an address of
// its own in 127.0.0.0/8 on a free port; a user with fixed test keys is created with radosgw-admin before it starts.
// Why radosgw and not a mock: SigV4 checking, payload-hash checking and listing are the real
// server's (docs/operations.md records what else was tried).
//
// radosgw-admin can hang at exit (reef 18.2's dbstore GC thread: a stop signalled before the
// thread first takes its lock is lost, and it then sleeps 14.4 min before looking again; seen
// on CI under load as `user create` timing out after printing nothing more). So `user create`
// counts as done when it has printed the new user with our key; a process still there 3 s
// later is killed (SQLite has committed the user before it is printed).
//
// Known defect, measured (see test/integration/bytes-conformance.test.ts): dbstore answers
// Range GETs with the wrong bytes, so tests set rangeRequests: false for it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRootTarball, exec, HOST_ENV, tail } from './fleet-node.js';
import { freePort } from './ports.js';

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The server's log (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

const ACCESS = 'DEBPKGTESTACCESSKEY1';
const SECRET = 'debpkg-test-secret-key-0123456789abcdef';

/** `radosgw-admin user create` for the fixed test keys, done once it has printed the user. */
async function createUser(root: string, base: string[]): Promise<void> {
  const argv = ['radosgw-admin', ...base, 'user', 'create', '--uid=debpkg', '--display-name=debpkg', `--access-key=${ACCESS}`, `--secret-key=${SECRET}`];
  const admin = spawn('chroot', [root, ...argv], { env: HOST_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  admin.stdout.on('data', (b: Buffer) => (out += b.toString()));
  admin.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    admin.once('error', reject);
    admin.once('close', (code) => resolve(code));
  });
  const printed = (): boolean => {
    try {
      const keys = (JSON.parse(out) as { keys?: { access_key?: string }[] }).keys ?? [];
      return keys.some((k) => k.access_key === ACCESS);
    } catch {
      return false; // not all of it yet
    }
  };
  const deadline = Date.now() + 60_000;
  let code: number | null | undefined;
  void exited.then((c) => (code = c), () => (code = -1));
  while (code === undefined && !printed() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (code === undefined) {
    const grace = setTimeout(() => {
      if (printed()) process.stderr.write('startS3Server: radosgw-admin hung 3 s after printing the user (the dbstore GC exit race): killed\n');
      admin.kill('SIGKILL');
    }, printed() ? 3000 : 0);
    code = await exited;
    clearTimeout(grace);
  }
  if (!printed()) throw new Error(`radosgw-admin user create failed (${code === null ? 'killed after 60 s' : `exit ${code}`}) without printing the user:\n${tail(err)}`);
}

export async function startS3Server(): Promise<S3Server> {
  const tarball = await ensureRootTarball('trixie', ['radosgw'], 's3-');
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-s3-'));
  const root = join(dir, 'root');
  let child: ChildProcess | undefined;
  let log = '';
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(root);
    const x = await exec(['tar', '-xf', tarball, '-C', root, '--numeric-owner'], HOST_ENV);
    if (x.code !== 0) throw new Error(`extracting ${tarball} failed:\n${tail(x.stderr)}`);
    // An address of its own in 127.0.0.0/8: a port freed here cannot be taken meanwhile by
    // another test's server on 127.0.0.1 (the VM test and other suites pick ports as they run).
    const host = `127.${64 + (process.pid % 64)}.${(process.pid >> 6) & 255}.${1 + Math.floor(Math.random() * 250)}`;
    const port = await freePort(host);
    for (const d of ['rgw/db', 'rgw/run']) await mkdir(join(root, d), { recursive: true });
    await writeFile(
      join(root, 'rgw/ceph.conf'),
      [
        '[client]',
        'rgw backend store = dbstore',
        'rgw config store = dbstore',
        'dbstore db dir = /rgw/db',
        'dbstore config uri = file:///rgw/db/config.db',
        'rgw data = /rgw/data',
        'run dir = /rgw/run',
        `rgw frontends = beast endpoint=${host}:${port}`,
        'rgw enable usage log = false',
        '',
      ].join('\n'),
    );
    const base = ['-c', '/rgw/ceph.conf', '-n', 'client.rgw', '--no-mon-config'];
    await createUser(root, base);
    child = spawn('chroot', [root, 'radosgw', ...base, '-f'], { env: HOST_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      log = (log + b.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const endpoint = `http://${host}:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`radosgw exited ${child.exitCode}:\n${tail(log)}`);
      const up = await fetch(endpoint, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status > 0,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} within 60 s:\n${tail(log)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { endpoint, accessKeyId: ACCESS, secretAccessKey: SECRET, region: 'us-east-1', log: () => log, stop };
  } catch (e) {
    // A suite's before hook that throws is counted by uvu as failed tests without any message.
    process.stderr.write(`startS3Server: ${e instanceof Error ? e.message : String(e)}\n`);
    await stop();
    throw e;
  }
}
