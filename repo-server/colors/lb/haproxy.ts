// The HAProxy adapter (default). Both colors live in one backend per service; a swap is only
// weight changes over the runtime API (no reload, so no connection is ever dropped). Units
// come and go as dynamic servers. The config file and the server-state file are rewritten
// after every change so that a reload (ours for new services, or an operator's) starts from
// exactly the running state.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../../../lib/fs-atomic.js';
import type { LbAdapter, LbAdapterKind, LbState } from './adapter.js';
import { backendChecks, desiredBackends, hostPort, renderHaproxy, topologyOf } from './haproxy-config.js';
import { isRuntimeOk, parseServersState, runtimeCommand, RuntimeApiError } from './haproxy-runtime.js';
import { validateState } from './state-check.js';

export interface HaproxyOptions {
  configFile: string;
  socket: string;
  stateFile: string;
  /** Start and own an haproxy master process (single-box setups and tests). */
  manage?: { bin?: string };
  /** How to reload an haproxy run by someone else, e.g. ['systemctl', 'reload', 'haproxy']. */
  reloadCommand?: string[];
  log?: (msg: string, detail?: Record<string, unknown>) => void;
}

const READY_TIMEOUT_MS = 10_000;

export class HaproxyAdapter implements LbAdapter {
  readonly name = 'haproxy' as const;
  private runningTopology: string | undefined;
  private child: ChildProcess | undefined;
  /** Servers taken out but still holding connections; deleted once they drain. */
  private readonly pendingDelete = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private stderr = '';

  private constructor(private readonly opts: HaproxyOptions) {}

  static async open(opts: HaproxyOptions, initial: LbState = { services: [] }): Promise<HaproxyAdapter> {
    const a = new HaproxyAdapter(opts);
    if (opts.manage) {
      await a.writeFiles(initial);
      await a.start();
      a.runningTopology = topologyOf(initial);
    } else {
      const text = await readFile(opts.configFile, 'utf8').catch(() => '');
      a.runningTopology = /^# debpkg-topology: (\S+)$/m.exec(text)?.[1];
    }
    return a;
  }

  render(state: LbState): string {
    return renderHaproxy(state, { socket: this.opts.socket, stateFile: this.opts.stateFile });
  }

  private async start(): Promise<void> {
    const bin = this.opts.manage?.bin ?? 'haproxy';
    const child = spawn(bin, ['-W', '-db', '-f', this.opts.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.opts.log?.('haproxy exited', { code, signal });
    });
    await this.waitReady(undefined);
  }

  private async workerPid(): Promise<number | undefined> {
    const info = await runtimeCommand(this.opts.socket, 'show info', 1000).catch(() => '');
    const m = /^Pid: (\d+)$/m.exec(info);
    return m ? Number(m[1]) : undefined;
  }

  /** Waits until a worker other than `oldPid` answers on the admin socket. */
  private async waitReady(oldPid: number | undefined): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child && this.child.exitCode !== null) throw new Error(`haproxy exited: ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
      const pid = await this.workerPid();
      if (pid !== undefined && pid !== oldPid) return;
      await sleep(50);
    }
    throw new Error(`haproxy did not become ready within ${READY_TIMEOUT_MS} ms: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }

  private async reload(state: LbState): Promise<void> {
    const before = await this.workerPid();
    await this.writeFiles(state);
    if (this.child) this.child.kill('SIGUSR2');
    else if (this.opts.reloadCommand) await run(this.opts.reloadCommand);
    else throw new Error('haproxy needs a reload for a new service, but no reload command is configured');
    await this.waitReady(before);
    this.runningTopology = topologyOf(state);
    this.opts.log?.('haproxy reloaded', { topology: this.runningTopology });
  }

  private async cmd(command: string): Promise<string> {
    const answer = await runtimeCommand(this.opts.socket, command);
    if (!isRuntimeOk(answer)) throw new RuntimeApiError(`haproxy: '${command}': ${answer.trim()}`);
    return answer;
  }

  async apply(state: LbState): Promise<void> {
    // Runtime commands carry state values too, also when no reload (no render) is needed.
    validateState(state);
    if (topologyOf(state) !== this.runningTopology) {
      await this.reload(state);
    }
    // Commands are gathered first and sent raises-first: lowering the old color before the
    // new one is up would leave a moment with every weight at 0 (503s).
    const adds: string[][] = [];
    const raises: string[] = [];
    const lowers: string[] = [];
    const removals: string[] = [];
    const checks = backendChecks(state);
    for (const [backend, desired] of desiredBackends(state)) {
      const current = parseServersState(await runtimeCommand(this.opts.socket, `show servers state ${backend}`));
      const byName = new Map(current.map((s) => [s.name, s]));
      for (const [name, want] of desired) {
        const id = `${backend}/${name}`;
        const have = byName.get(name);
        if (!have) {
          adds.push([`add server ${id} ${hostPort(want.address, want.port)} weight ${want.weight} ${checks.get(backend)!}`, `enable health ${id}`, `enable server ${id}`]);
          continue;
        }
        this.pendingDelete.delete(id);
        if (have.address !== want.address || have.port !== want.port) raises.push(`set server ${id} addr ${want.address} port ${want.port}`);
        if (have.adminState & 0x01) raises.push(`set server ${id} state ready`);
        if (have.weight < want.weight) raises.push(`set server ${id} weight ${want.weight}`);
        else if (have.weight > want.weight) lowers.push(`set server ${id} weight ${want.weight}`);
      }
      for (const have of current) {
        if (desired.has(have.name)) continue;
        const id = `${backend}/${have.name}`;
        if (!(have.adminState & 0x01)) removals.push(`set server ${id} state maint`);
        this.pendingDelete.add(id);
      }
    }
    for (const group of adds) for (const c of group) await this.cmd(c);
    for (const c of [...raises, ...lowers, ...removals]) await this.cmd(c);
    const changed = adds.length + raises.length + lowers.length + removals.length > 0 || this.pendingDelete.size > 0;
    await this.deletePending();
    if (changed) await this.writeFiles(state);
  }

  /** `del server` refuses while connections remain; retried until the server has drained. */
  private async deletePending(): Promise<void> {
    for (const id of [...this.pendingDelete]) {
      const answer = await runtimeCommand(this.opts.socket, `del server ${id}`);
      if (/Server deleted|No such server|Can't find/i.test(answer)) this.pendingDelete.delete(id);
    }
    if (this.pendingDelete.size > 0 && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.deletePending().catch((err: unknown) => this.opts.log?.('haproxy: deleting drained servers failed', { err: String(err) }));
      }, 1000);
      this.retryTimer.unref();
    }
  }

  /** The config with every current server, and HAProxy's own view of their state. */
  private async writeFiles(state: LbState): Promise<void> {
    await writeFileAtomic(this.opts.configFile, this.render(state));
    const dump = await runtimeCommand(this.opts.socket, 'show servers state', 2000).catch(() => undefined);
    if (dump !== undefined && dump.startsWith('1\n')) await writeFileAtomic(this.opts.stateFile, dump);
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
  }
}

function run(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('empty reload command'));
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/** The adapter list's entry (adapters.ts). */
export const haproxyKind = {
  name: 'haproxy',
  configFileName: 'haproxy.cfg',
  open: (cfg, p, initial, log) =>
    HaproxyAdapter.open(
      { configFile: p.configFile, socket: p.socket, stateFile: p.stateFile, ...(cfg.manage ? { manage: {} } : {}), ...(cfg.reloadCommand ? { reloadCommand: cfg.reloadCommand } : {}), log },
      initial,
    ),
  render: (state, p) => renderHaproxy(state, { socket: p.socket, stateFile: p.stateFile }),
} satisfies LbAdapterKind;
