// The repo server as a child process (`node dist/cli/main.js serve`), so a crash, an exit or
// an OOM kill is observed instead of taking the fuzzer down with it. Samples the RSS of the
// server and its descendants (the xz/zstd children it spawns) from /proc every 100 ms.
// (test/support/server-process.ts, being written in another worktree, was not in this one.)

import { SERVE_ENV, SERVE_NODE_FLAGS } from '../repo-server/runtime.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (list !== '') out.push(...list.split(/\s+/).map(Number));
    }
  } catch {
    // the process is gone
  }
  return out;
}

export class ServerProcess {
  exit: Exit | null = null;
  private stderr = '';
  private timer: NodeJS.Timeout | undefined;
  /** Highest sampled RSS of the process tree (kB). */
  peakTreeKb = 0;
  /** The server's own VmHWM, read just before it was stopped (kB). */
  hwmKb = 0;
  private exitWaiters: (() => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-8000);
    });
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      this.stopMonitor();
      for (const w of this.exitWaiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(dataDir: string, token: string): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, CLI, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, ...SERVE_ENV, DEBPKG_ADMIN_TOKEN: token, DEBPKG_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
    for (let i = 0; i < 400; i++) {
      if (server.exit) throw new Error(`server exited during start-up (${JSON.stringify(server.exit)}): ${server.stderrTail()}`);
      const ok = await fetch(`${server.url}/api/version`).then((r) => r.ok, () => false);
      if (ok) return server;
      await new Promise((r) => setTimeout(r, 50));
    }
    server.kill();
    throw new Error('server did not answer /api/version within 20 s');
  }

  stderrTail(lines = 15): string {
    return this.stderr.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** The last lines of stderr that are not stack frames: what the server said as it died. */
  lastError(lines = 6): string {
    return this.stderr.replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-lines).join('\n');
  }

  /** RSS of the server process and, apart, of all its descendants (xz/zstd decompressors) (kB). */
  rssKb(): { serverKb: number; childrenKb: number } {
    const serverKb = statusKb(this.pid, 'VmRSS');
    let childrenKb = 0;
    const todo = children(this.pid);
    for (let n = 0; todo.length > 0 && n < 256; n++) {
      const pid = todo.pop()!;
      childrenKb += statusKb(pid, 'VmRSS');
      todo.push(...children(pid));
    }
    return { serverKb, childrenKb };
  }

  /** Calls onSample with each RSS sample; the caller decides what is too much. */
  startMonitor(onSample: (serverKb: number, childrenKb: number) => void, everyMs = 100): void {
    this.timer = setInterval(() => {
      if (this.exit) return;
      const { serverKb, childrenKb } = this.rssKb();
      this.peakTreeKb = Math.max(this.peakTreeKb, serverKb + childrenKb);
      onSample(serverKb, childrenKb);
    }, everyMs);
    this.timer.unref();
  }

  stopMonitor(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (!this.exit) this.child.kill(signal);
  }

  waitExit(): Promise<void> {
    return this.exit ? Promise.resolve() : new Promise((r) => this.exitWaiters.push(r));
  }

  /** Records VmHWM, then SIGTERM (SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.hwmKb = Math.max(this.hwmKb, statusKb(this.pid, 'VmHWM'));
    this.stopMonitor();
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), 5000);
    await this.waitExit();
    clearTimeout(t);
  }

  /** The server's own VmHWM now (kB); 0 once it has exited. */
  readHwm(): number {
    this.hwmKb = Math.max(this.hwmKb, statusKb(this.pid, 'VmHWM'));
    return this.hwmKb;
  }
}
