// The nginx adapter. Free nginx cannot change upstream weights at run time, so every change is
// a new config and a graceful reload: test the candidate with `nginx -t`, rename it into place,
// SIGHUP the master, then wait until every worker of the old generation has exited. Only then
// can no request reach the old config any more, so only then does apply() resolve.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fsyncDir, tempName, writeFileAtomic } from '../../../lib/fs-atomic.js';
import type { LbAdapter, LbAdapterKind, LbState } from './adapter.js';
import { DEFAULT_TUNING, renderNginx, type NginxTuning } from './nginx-config.js';
import { childrenOf, isLiveChild, livePid } from './nginx-proc.js';

export interface NginxOptions {
  /** pid file, error log and temp directories live here (must be traversable by the worker user). */
  runDir: string;
  /** Default: <runDir>/nginx.conf. */
  configFile?: string;
  /** nginx binary for `nginx -t` and for a managed master. */
  bin?: string;
  /** Start and own the nginx master (single-box setups and tests); otherwise systemd runs it. */
  manage?: boolean;
  tuning?: Partial<NginxTuning>;
  /** Longest wait for the old workers to exit after a reload; default worker_shutdown_timeout + 5 s. */
  drainTimeoutMs?: number;
  log?: (msg: string, detail?: Record<string, unknown>) => void;
}

/** What the last apply() did, for logs, status output and tests. */
export interface NginxApplyReport {
  reloaded: boolean;
  /** From apply() start until the old workers had all exited (or the skip was decided). */
  ms: number;
  master: number;
  oldWorkers: number[];
  newWorkers: number[];
}

export class NginxError extends Error {}

const START_TIMEOUT_MS = 10_000;
const TEST_TIMEOUT_MS = 30_000;
const POLL_MS = 10;
/** Longer than nginx's 500 ms between bind() retries during a reload. */
const REFUSAL_QUIET_MS = 1000;

export class NginxAdapter implements LbAdapter {
  readonly name = 'nginx' as const;
  readonly configFile: string;
  readonly pidFile: string;
  readonly errorLog: string;
  private readonly tuning: NginxTuning;
  private readonly bin: string;
  private child: ChildProcess | undefined;
  private childStderr = '';
  /** The config text the running master was last reloaded with. */
  private applied: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private report: NginxApplyReport | undefined;

  private constructor(private readonly opts: NginxOptions) {
    this.configFile = opts.configFile ?? join(opts.runDir, 'nginx.conf');
    this.pidFile = join(opts.runDir, 'nginx.pid');
    this.errorLog = join(opts.runDir, 'error.log');
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    this.bin = opts.bin ?? defaultNginxBin();
  }

  /** A managed adapter starts nginx with `initial` (or adopts the master its pid file names). */
  static async open(opts: NginxOptions, initial?: LbState): Promise<NginxAdapter> {
    const a = new NginxAdapter(opts);
    if (opts.manage && initial) await a.apply(initial);
    return a;
  }

  render(state: LbState): string {
    return renderNginx(state, { runDir: this.opts.runDir }, this.tuning);
  }

  get lastApply(): NginxApplyReport | undefined {
    return this.report;
  }

  /** Applies run one after the other: each waits for its own generation of workers. */
  apply(state: LbState): Promise<void> {
    const run = this.queue.then(() => this.applyNow(state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(state: LbState): Promise<void> {
    const started = performance.now();
    const text = this.render(state);
    const running = await livePid(this.pidFile);
    if (running !== undefined && text === this.applied) {
      this.report = { reloaded: false, ms: performance.now() - started, master: running, oldWorkers: [], newWorkers: [] };
      return;
    }
    await mkdir(join(this.opts.runDir, 'temp'), { recursive: true, mode: 0o755 });
    const previous = await readFile(this.configFile, 'utf8').catch(() => undefined);
    await this.install(text);
    if (running === undefined) {
      if (!this.opts.manage) throw new NginxError(`nginx is not running (no live master in ${this.pidFile}); start it with: nginx -c ${this.configFile}`);
      const master = await this.start();
      this.applied = text;
      this.report = { reloaded: true, ms: performance.now() - started, master, oldWorkers: [], newWorkers: await childrenOf(master) };
      this.opts.log?.('nginx started', { master, ms: Math.round(this.report.ms) });
      return;
    }
    try {
      const { oldWorkers, newWorkers } = await this.reload(running);
      this.applied = text;
      this.report = { reloaded: true, ms: performance.now() - started, master: running, oldWorkers, newWorkers };
      this.opts.log?.('nginx reloaded', { ms: Math.round(this.report.ms), oldWorkers: oldWorkers.length });
    } catch (err) {
      // The master kept its old config: put the matching file back so a restart runs it too.
      if (err instanceof NginxReloadRefused && previous !== undefined) await writeFileAtomic(this.configFile, previous);
      throw err;
    }
  }

  /** Tests the candidate beside the config, then renames it in: the live file is never a failed one. */
  private async install(text: string): Promise<void> {
    const candidate = tempName(this.configFile);
    await mkdir(dirname(this.configFile), { recursive: true });
    const fh = await open(candidate, 'wx', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await this.test(candidate);
      await rename(candidate, this.configFile);
    } catch (err) {
      await unlink(candidate).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dirname(this.configFile));
  }

  private baseArgs(configFile: string): string[] {
    return ['-p', `${this.opts.runDir}/`, '-e', this.errorLog, '-c', configFile];
  }

  private async test(configFile: string): Promise<void> {
    const { code, stderr } = await runCapture(this.bin, ['-t', '-q', ...this.baseArgs(configFile)], TEST_TIMEOUT_MS);
    if (code !== 0) {
      const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/test failed$/.test(l));
      throw new NginxError(`nginx -t refused the new config: ${lines.join(' | ').replaceAll(configFile, this.configFile) || `exit ${code}`}`);
    }
  }

  private async start(): Promise<number> {
    const child = spawn(this.bin, [...this.baseArgs(this.configFile), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    this.childStderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      this.childStderr = (this.childStderr + b.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.opts.log?.('nginx exited', { code, signal });
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new NginxError(`nginx exited on start: ${lastLines(this.childStderr, 5)}`);
      const pid = await livePid(this.pidFile);
      if (pid !== undefined && pid === child.pid && (await childrenOf(pid)).length > 0) return pid;
      await sleep(POLL_MS);
    }
    throw new NginxError(`nginx did not start within ${START_TIMEOUT_MS} ms: ${lastLines(this.childStderr, 3)}`);
  }

  /**
   * SIGHUP, then wait for a new generation of workers and for every old worker to exit. The
   * master forks all new workers before it asks the old ones to quit, so "one new worker and no
   * old one" means the whole new generation is serving.
   */
  private async reload(master: number): Promise<{ oldWorkers: number[]; newWorkers: number[] }> {
    const oldWorkers = await childrenOf(master);
    const logStart = await stat(this.errorLog).then((s) => s.size).catch(() => 0);
    process.kill(master, 'SIGHUP');
    const drainMs = this.opts.drainTimeoutMs ?? (this.tuning.workerShutdownTimeoutS + 5) * 1000;
    const deadline = performance.now() + drainMs;
    let newWorkers: number[] = [];
    let remaining = oldWorkers;
    let logSize = logStart;
    let logQuietSince = performance.now();
    while (performance.now() < deadline) {
      await sleep(POLL_MS);
      if ((await livePid(this.pidFile)) !== master) throw new NginxError(`nginx master ${master} exited during the reload: ${await this.logSince(logStart)}`);
      newWorkers = (await childrenOf(master)).filter((p) => !oldWorkers.includes(p));
      const alive = await Promise.all(remaining.map(async (p) => ((await isLiveChild(p, master)) ? p : undefined)));
      remaining = alive.filter((p): p is number => p !== undefined);
      if (newWorkers.length > 0 && remaining.length === 0) return { oldWorkers, newWorkers };
      if (newWorkers.length > 0) continue;
      // A config that passed `nginx -t` can still fail in the master (a listen address taken
      // meanwhile): it logs [emerg] and keeps the old workers. An address in use is retried
      // (5 tries, 500 ms apart) before "still could not bind()", so an [emerg] counts as the
      // verdict only once the log has been quiet for longer than that interval.
      const size = await stat(this.errorLog).then((st) => st.size).catch(() => logSize);
      if (size !== logSize) {
        logSize = size;
        logQuietSince = performance.now();
      }
      const emerg = (await this.logSince(logStart)).split('\n').filter((l) => l.includes(`[emerg] ${master}#`));
      const final = emerg.some((l) => l.includes('still could not bind')) || performance.now() - logQuietSince > REFUSAL_QUIET_MS;
      if (emerg.length > 0 && final) {
        const reasons = [...new Set(emerg.map((l) => l.replace(/^.*?\[emerg\] \d+#\d+: /, '')))];
        throw new NginxReloadRefused(`nginx kept its old config: ${reasons.join(' | ')}`);
      }
    }
    throw new NginxError(
      newWorkers.length === 0
        ? `nginx started no new workers within ${drainMs} ms of SIGHUP`
        : `old nginx workers ${remaining.join(', ')} still running ${drainMs} ms after the reload`,
    );
  }

  private async logSince(offset: number): Promise<string> {
    const fh = await open(this.errorLog, 'r').catch(() => undefined);
    if (!fh) return '';
    try {
      const { size } = await fh.stat();
      const len = Math.max(0, Math.min(size - offset, 64 * 1024));
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, offset);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  }

  /** Stops a managed nginx gracefully (in-flight requests finish, bounded by worker_shutdown_timeout). */
  async close(): Promise<void> {
    await this.queue;
    if (!this.opts.manage) return;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGQUIT');
      const bound = new AbortController();
      await Promise.race([exited, sleep((this.tuning.workerShutdownTimeoutS + 5) * 1000, undefined, { signal: bound.signal }).catch(() => undefined)]);
      bound.abort(); // the bound's timer must not keep the process alive
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return;
    }
    // A master adopted from the pid file (started before this process): same graceful stop.
    const pid = await livePid(this.pidFile);
    if (pid === undefined) return;
    process.kill(pid, 'SIGQUIT');
    const deadline = Date.now() + (this.tuning.workerShutdownTimeoutS + 5) * 1000;
    while (Date.now() < deadline && (await livePid(this.pidFile)) === pid) await sleep(50);
  }
}

/** Debian's nginx is /usr/sbin/nginx, which is not on an ordinary user's PATH. */
export function defaultNginxBin(): string {
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** The adapter list's entry (adapters.ts). */
export const nginxKind = {
  name: 'nginx',
  configFileName: 'nginx.conf',
  open: (cfg, p, initial, log) => NginxAdapter.open({ runDir: p.dir, configFile: p.configFile, manage: cfg.manage, log }, initial),
  render: (state, p) => renderNginx(state, { runDir: p.dir }),
} satisfies LbAdapterKind;

/** The master rejected the new config at reload time and still runs the old one. */
export class NginxReloadRefused extends NginxError {}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

function runCapture(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    p.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', (err) => reject(new NginxError(`cannot run ${cmd}: ${err.message}`)));
    p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
}
