// The repo server as a child process (`node dist/cli/main.js serve`), for tests that must see
// what the process does as a whole: whether it survives an input, and how much memory it takes
// (VmRSS / VmHWM from /proc/<pid>/status). The in-process TestRepoServer cannot show either.

import { SERVE_ENV, SERVE_NODE_FLAGS } from '../../repo-server/runtime.js';
import { apiCall } from './api-client.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { childPids, statusKb } from './proc.js';
import { CLI } from './project.js';

export interface ServerProcessOptions {
  /** Data directory (default: a fresh temporary one, removed by stop()). */
  dataDir?: string;
  /** Extra environment (DEBPKG_ADMIN_TOKEN is set to `token`). */
  env?: Record<string, string>;
  /** Extra `debpkg serve` arguments. */
  args?: string[];
  /** Admin token (default: a fixed test token). */
  token?: string;
  /** How long to wait for /api/version to answer. */
  startTimeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof for a bench's profile; NODE_OPTIONS refuses it). */
  nodeFlags?: string[];
}

export interface ServerProcess {
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  /** Everything the server wrote (its JSON log and any crash report). */
  output(): string;
  /** Current resident set (VmRSS), in KiB; 0 once the process is gone. */
  rssKb(): number;
  /** Peak resident set since start (VmHWM), in KiB; the last value read once the process is gone. */
  peakRssKb(): number;
  alive(): boolean;
  /** Processes the server has running now (e.g. xz or zstd decompressors), by pid. */
  childPids(): number[];
  /** Exit code or signal, once the process has ended. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends a signal (default SIGKILL) if the process still runs; the data directory stays. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has ended. */
  waitExit(): Promise<void>;
  /** An API call with the admin token; the body is JSON, a Buffer (sent raw) or nothing. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }>;
  /** SIGTERM, then SIGKILL after a grace period; removes a temporary data directory. */
  stop(): Promise<void>;
}

const DEFAULT_TOKEN = 'test-admin-token-process';

export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-srvproc-')));
  const token = opts.token ?? DEFAULT_TOKEN;
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...SERVE_NODE_FLAGS, ...(opts.nodeFlags ?? []), CLI, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`, ...(opts.args ?? [])], {
    env: { ...process.env, ...SERVE_ENV, DEBPKG_ADMIN_TOKEN: token, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  let out = '';
  const keep = (d: Buffer): void => {
    // The tail is what matters (a crash report); the log of a long run is not kept whole.
    out = (out + d.toString('utf8')).slice(-256 << 10);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = { code, signal };
      resolve();
    }),
  );
  let lastPeak = 0;
  const url = `http://127.0.0.1:${port}`;
  const peakRssKb = (): number => {
    const v = ended ? undefined : statusKb(pid, 'VmHWM');
    if (v !== undefined) lastPeak = v;
    return lastPeak;
  };

  const api: ServerProcess['api'] = (method, path, body) => apiCall(url, method, path, body, token);

  const stop = async (): Promise<void> => {
    if (!ended) {
      peakRssKb();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (ended) {
      await stop();
      throw new Error(`server exited before it answered (${JSON.stringify(ended)}):\n${out}`);
    }
    try {
      const res = await fetch(`${url}/api/version`);
      await res.text();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server did not answer within ${opts.startTimeoutMs ?? 30_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    token,
    pid,
    dataDir,
    output: () => out,
    rssKb: () => (ended ? 0 : (statusKb(pid, 'VmRSS') ?? 0)),
    peakRssKb,
    alive: () => ended === undefined,
    childPids: () => (ended ? [] : childPids(pid)),
    exit: () => ended,
    kill: (signal = 'SIGKILL') => {
      if (!ended) child.kill(signal);
    },
    waitExit: () => exited,
    api,
    stop,
  };
}

/**
 * Uploads files from disk into a fresh upload directory and adds them to `repo`, as an aptly
 * client does: the add's answer, or the upload's when that was refused.
 */
export async function uploadAndAdd(s: ServerProcess, repo: string, files: string[]): Promise<{ status: number; text: string }> {
  const dir = `up-${Math.random().toString(36).slice(2, 8)}`;
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([await readFile(f)]), f.split('/').pop()!);
  const up = await fetch(`${s.url}/api/files/${dir}`, { method: 'POST', body: form, headers: { authorization: `Bearer ${s.token}` } });
  if (up.status !== 200) return { status: up.status, text: await up.text() };
  const add = await s.api('POST', `/api/repos/${repo}/file/${dir}`);
  return { status: add.status, text: add.text };
}
