// The repo server as a child process for the fuzzer, so a crash, an exit or an OOM kill is
// observed instead of taking the fuzzer down with it. Starting, stopping and /proc reading are
// test/support's (server-process.ts, proc.ts); what is the fuzzer's own is the sampling: the RSS
// of the server and of its descendants (the xz/zstd children it spawns) every 100 ms.

import { descendantsRssKb } from '../test/support/proc.js';
import { startServerProcess, type ServerProcess as Child } from '../test/support/server-process.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServerProcess {
  private timer: NodeJS.Timeout | undefined;
  /** Highest sampled RSS of the process tree (kB). */
  peakTreeKb = 0;

  private constructor(private readonly child: Child) {
    void child.waitExit().then(() => this.stopMonitor());
  }

  static async start(dataDir: string, token: string): Promise<ServerProcess> {
    return new ServerProcess(await startServerProcess({ dataDir, token, env: { DEBPKG_LOG_LEVEL: 'warn' }, startTimeoutMs: 20_000 }));
  }

  get url(): string {
    return this.child.url;
  }

  get pid(): number {
    return this.child.pid;
  }

  get exit(): Exit | null {
    return this.child.exit() ?? null;
  }

  /** The server's own VmHWM as last read (kB): at stop(), or by readHwm(). */
  get hwmKb(): number {
    return this.child.peakRssKb();
  }

  /** The last lines of its output that are not stack frames: what the server said as it died. */
  lastError(lines = 6): string {
    return this.child.output().replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-lines).join('\n');
  }

  /** RSS of the server process and, apart, of all its descendants (xz/zstd decompressors) (kB). */
  rssKb(): { serverKb: number; childrenKb: number } {
    return { serverKb: this.child.rssKb(), childrenKb: this.exit ? 0 : descendantsRssKb(this.pid) };
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
    this.child.kill(signal);
  }

  waitExit(): Promise<void> {
    return this.child.waitExit();
  }

  /** Records VmHWM, then SIGTERM (SIGKILL after 5 s); the data directory stays. */
  async stop(): Promise<void> {
    this.stopMonitor();
    await this.child.stop();
  }

  /** The server's own VmHWM now (kB); the last value read once it has exited. */
  readHwm(): number {
    return this.child.peakRssKb();
  }
}
