// `debpkg serve` started bare (no allocator or V8 settings, as a hand-written systemd unit or a
// shell would) relaunches itself with them: the process that serves has jemalloc mapped and the
// flags, the parent only mirrors it (signals in, exit status out). The memory bound of
// docs/repo-server.md depends on this, so it is checked on the real processes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jemallocLibrary } from '../../repo-server/runtime.js';
import { freePort } from '../support/ports.js';
import { childPids } from '../support/proc.js';
import { CLI } from '../support/project.js';

/** The environment of a shell that knows nothing of the settings. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DEBPKG_ADMIN_TOKEN: 'runtime-test-token', DEBPKG_LOG_LEVEL: 'warn', ...extra };
  for (const k of ['LD_PRELOAD', 'MALLOC_CONF', 'MALLOC_ARENA_MAX', 'NODE_OPTIONS', 'DEBPKG_SERVE_RELAUNCHED']) delete env[k];
  return env;
}

interface Started { child: ChildProcess; url: string; out: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> }

async function startBare(dataDir: string, extra: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`], { env: bareEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  return { child, url: `http://127.0.0.1:${port}`, out: () => out, exited };
}

async function waitUp(s: Started): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${s.url}/api/version`);
      await res.text();
      if (res.ok) return;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) throw new Error(`server did not answer:\n${s.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a bare `debpkg serve` serves from a relaunched child with jemalloc and the V8 flag; SIGTERM stops both', async () => {
  const lib = jemallocLibrary();
  assert.ok(lib, 'libjemalloc2 must be installed (test/setup-host.sh installs it)');
  const dir = await mkdtemp(join(tmpdir(), 'debpkg-runtime-'));
  const s = await startBare(dir);
  try {
    await waitUp(s);
    const kids = childPids(s.child.pid!);
    assert.is(kids.length, 1, `one relaunched server process (got ${kids.join(',')})`);
    const served = kids[0]!;
    assert.ok(readFileSync(`/proc/${served}/maps`, 'utf8').includes('libjemalloc.so.2'), 'the serving process has jemalloc mapped');
    assert.not.ok(readFileSync(`/proc/${s.child.pid}/maps`, 'utf8').includes('libjemalloc.so.2'), 'the parent runs as started');
    assert.ok(readFileSync(`/proc/${served}/cmdline`, 'utf8').split('\0').includes('--max-semi-space-size=2'));
    assert.not.match(s.out(), /started without/);
    s.child.kill('SIGTERM');
    const [code, signal] = await s.exited;
    assert.equal([code, signal], [0, null]);
    assert.not.ok(readdirSync('/proc').includes(String(served)), 'the relaunched server has exited too');
    await fetch(`${s.url}/api/version`).then(() => assert.unreachable('still listening'), () => undefined);
  } finally {
    s.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('a relaunched server stops when its parent is killed with SIGKILL (nothing left running)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'debpkg-runtime-'));
  const s = await startBare(dir);
  try {
    await waitUp(s);
    const served = childPids(s.child.pid!)[0]!;
    assert.ok(served, 'relaunched');
    s.child.kill('SIGKILL');
    await s.exited;
    const deadline = Date.now() + 10_000;
    while (readdirSync('/proc').includes(String(served)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.not.ok(readdirSync('/proc').includes(String(served)), 'the orphaned server has exited');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('DEBPKG_SERVE_RELAUNCH=0 runs as started and says what the bound assumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'debpkg-runtime-'));
  const s = await startBare(dir, { DEBPKG_SERVE_RELAUNCH: '0' });
  try {
    await waitUp(s);
    assert.is(childPids(s.child.pid!).length, 0);
    assert.match(s.out(), /started without/);
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
    await rm(dir, { recursive: true, force: true });
  }
});

test('the relaunched server\'s failure is the command\'s failure', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'debpkg-runtime-'));
  const notDir = join(dir, 'a-file');
  await writeFile(notDir, 'not a directory');
  const s = await startBare(notDir);
  try {
    const [code] = await s.exited;
    assert.ok(code !== 0 && code !== null, `exit status ${code}`);
    assert.match(s.out(), /a-file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
