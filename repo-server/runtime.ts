// How the repo server's process is started so that its memory stays bounded (docs/repo-server.md,
// Limits and hardening). Measured with the fuzzer (docs/fuzzing.md):
// - the default glibc malloc gives each thread (libuv's pool, the inspection worker, V8's helpers)
//   an arena of its own: RSS crept from ~100 MB to over 300 MB within 2,000 cases;
// - with two glibc arenas the main heap (brk) still stays fragmented: after a few thousand hostile
//   packages it held ~85 MB while V8's heap was 28 MB, and the resting RSS sat ~40-50 MB above
//   where jemalloc (Debian's libjemalloc2) returns it, one 10,000-case run peaking at 303 MB;
// - V8's default 16 MiB semi-spaces (per isolate) added tens of MB more.
// All are process-start settings (an allocator cannot be swapped in a running process), so
// `debpkg serve` re-executes itself with them when it was started without (relaunchTuned).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's multiarch directory names for the architectures node reports. */
const TRIPLETS: Readonly<Record<string, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
};

/** libjemalloc2's shared object on this machine, if installed. */
export function jemallocLibrary(arch: string = process.arch, exists: (p: string) => boolean = existsSync): string | undefined {
  const triplet = TRIPLETS[arch];
  const path = triplet ? `/usr/lib/${triplet}/libjemalloc.so.2` : undefined;
  return path && exists(path) ? path : undefined;
}

/**
 * Environment for the server process. jemalloc when present: two arenas, a background thread
 * that hands freed pages back to the kernel after 2 s (the default 10 s let bursts stack up);
 * glibc otherwise, limited to two arenas.
 */
export function serveEnv(lib: string | undefined): Readonly<Record<string, string>> {
  if (!lib) return { MALLOC_ARENA_MAX: '2' };
  return { MALLOC_ARENA_MAX: '2', LD_PRELOAD: lib, MALLOC_CONF: 'narenas:2,background_thread:true,dirty_decay_ms:2000,muzzy_decay_ms:0' };
}

export const SERVE_ENV: Readonly<Record<string, string>> = serveEnv(jemallocLibrary());

/** node flags for the server process (before the script path). */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Set in the relaunched process so that it never relaunches again. */
const RELAUNCHED = 'DEBPKG_SERVE_RELAUNCHED';

function hasSetting(env: NodeJS.ProcessEnv, key: string, value: string): boolean {
  // LD_PRELOAD is a list: another preloaded library beside jemalloc is fine.
  return key === 'LD_PRELOAD' ? (env[key] ?? '').split(/[\s:]+/).includes(value) : env[key] === value;
}

/** Why the memory bound may not hold for this process, or undefined when it is started as above. */
export function untunedRuntime(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv, wanted: Readonly<Record<string, string>> = SERVE_ENV): string | undefined {
  const missing = [
    ...Object.entries(wanted).filter(([k, v]) => !hasSetting(env, k, v)).map(([k, v]) => `${k}=${v}`),
    ...SERVE_NODE_FLAGS.filter((f) => !execArgv.includes(f) && !(env.NODE_OPTIONS ?? '').split(/\s+/).includes(f)),
  ];
  const jemalloc = 'LD_PRELOAD' in wanted ? '' : ' (install libjemalloc2 for the lower figure)';
  return missing.length > 0 ? `started without ${missing.join(' ')}: the documented memory bound assumes them${jemalloc}` : undefined;
}

/** The environment of a relaunch: ours plus the settings (LD_PRELOAD kept as a list). */
export function relaunchEnv(env: NodeJS.ProcessEnv = process.env, wanted: Readonly<Record<string, string>> = SERVE_ENV): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, [RELAUNCHED]: '1' };
  for (const [k, v] of Object.entries(wanted)) {
    out[k] = k === 'LD_PRELOAD' && env[k] && !hasSetting(env, k, v) ? `${v}:${env[k]}` : v;
  }
  return out;
}

/**
 * When this process lacks the settings, runs the same command line again as a child with them
 * and mirrors it (signals in, exit status out), exiting with the child. Resolves `false` when this process is tuned already, was relaunched
 * once (a second relaunch could loop), or `DEBPKG_SERVE_RELAUNCH=0` asks to run as started.
 */
export async function relaunchTuned(): Promise<boolean> {
  if (process.env[RELAUNCHED] === '1') {
    followParent();
    return false;
  }
  if (!untunedRuntime() || process.env.DEBPKG_SERVE_RELAUNCH === '0') return false;
  const script = process.argv[1];
  if (!script) return false;
  const flags = [...SERVE_NODE_FLAGS.filter((f) => !process.execArgv.includes(f)), ...process.execArgv];
  // The IPC channel is only a lifeline: it closes when this process dies, however it dies.
  const child = spawn(process.execPath, [...flags, script, ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: relaunchEnv() });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  // The child decides how to stop (it closes the server): the CLI's exit-at-once handlers go.
  for (const s of signals) {
    process.removeAllListeners(s);
    process.on(s, forward);
  }
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve([c, s]));
  });
  for (const s of signals) process.off(s, forward);
  if (signal) {
    process.kill(process.pid, signal);
    return true;
  }
  // Exit here: the CLI's own exit status would say nothing of the child's.
  process.exit(code ?? 1);
}

/**
 * In a relaunched server: when the parent is gone (killed with SIGKILL, say, which it cannot
 * forward), stop as on SIGTERM instead of running on unsupervised.
 */
function followParent(): void {
  if (!process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
