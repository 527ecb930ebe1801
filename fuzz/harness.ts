// Runs cases against a server child process and judges each one: sends the upload and the
// add (and a clean-up delete after a refusal), then checks every answer, the process, its
// RSS over the case, and the file system around the data dir. A server that exits (or that
// we kill for memory or for hanging) is restarted on the same data dir and the run goes on.

import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FuzzCase } from './cases.js';
import { multipart, pathSafe, send, sendJson, type Reply, type Target } from './client.js';
import { checkReply, LIMITS, refusalClass, type Violation } from './invariants.js';
import { ServerProcess } from './server-process.js';

export const REPO = 'fuzz';
const TOKEN = 'fuzz-admin-token';
/** Past this the fuzzer kills the server itself, to protect the (shared) machine. */
const HARD_RSS_KB = 1024 * 1024;
/** Consecutive restarts after which the data dir counts as poisoned. */
const RESETS_AFTER = 3;
/** Where a traversal that escaped could have written. */
const ESCAPES = ['/x.deb', '/etc/x.deb', '/etc/fz-x', '/etc/fz-abs', '/fz-up', '/tmp/fz', '/tmp/x.deb'];

export interface Accepted {
  name: string;
  version: string;
  architecture: string;
  caseNo: number;
}

export interface Outcome {
  replies: Reply[];
  accepted: Accepted[];
  /** Refusal class when the upload or the add was refused. */
  refusal?: string;
  violations: Violation[];
  /** The server died or was killed (for RSS/hang) during this case. */
  restarted: boolean;
  /** Set when the data dir was abandoned after this case (everything accepted so far is gone). */
  poisoned?: Violation;
}

export class Harness {
  private server!: ServerProcess;
  private caseRssKb = 0;
  private killedFor: 'rss' | 'hang' | undefined;
  peakTreeKb = 0;
  /** Highest sampled RSS of the server process alone. */
  peakServerKb = 0;
  private caseChildrenKb = 0;
  peakHwmKb = 0;
  restarts = 0;
  /** Data dirs abandoned because the server could no longer run on them. */
  generation = 0;
  private consecutiveRestarts = 0;

  private constructor(
    readonly runDir: string,
    private dataDir: string,
  ) {}

  static async start(runDir: string): Promise<Harness> {
    const dataDir = join(runDir, 'data');
    await mkdir(dataDir, { recursive: true });
    const h = new Harness(runDir, dataDir);
    await h.boot();
    const r = await sendJson(h.target(), 'POST', '/api/repos', { Name: REPO, DefaultDistribution: 'fuzz' });
    if (r.status !== 201) throw new Error(`creating repo ${REPO} failed: ${r.status} ${r.text}`);
    return h;
  }

  target(timeoutMs = LIMITS.requestMs): Target {
    return { url: this.server.url, token: TOKEN, timeoutMs };
  }

  private async boot(): Promise<void> {
    this.server = await ServerProcess.start(this.dataDir, TOKEN);
    this.server.startMonitor((serverKb, childrenKb) => {
      const kb = serverKb + childrenKb;
      this.caseRssKb = Math.max(this.caseRssKb, serverKb);
      this.caseChildrenKb = Math.max(this.caseChildrenKb, childrenKb);
      this.peakTreeKb = Math.max(this.peakTreeKb, kb);
      this.peakServerKb = Math.max(this.peakServerKb, serverKb);
      if (kb > HARD_RSS_KB && !this.killedFor) {
        this.killedFor = 'rss';
        this.server.kill();
      }
    });
  }

  private async restart(): Promise<void> {
    this.peakHwmKb = Math.max(this.peakHwmKb, this.server.hwmKb);
    this.server.kill();
    await this.server.waitExit();
    this.restarts++;
    await this.boot();
  }

  /**
   * A server that cannot come back on its own data (restarted RESETS_AFTER times in a row, or
   * over the RSS limit at rest) is a finding about what it accepted earlier; it is reported once
   * per occurrence and the run goes on with a new, empty data dir instead of failing every case.
   */
  private async freshDataDir(reason: string): Promise<Violation> {
    this.server.kill();
    await this.server.waitExit();
    this.generation++;
    this.dataDir = join(this.runDir, `data-${this.generation}`);
    await mkdir(this.dataDir, { recursive: true });
    await this.boot();
    const r = await sendJson(this.target(), 'POST', '/api/repos', { Name: REPO, DefaultDistribution: 'fuzz' });
    if (r.status !== 201) throw new Error(`creating repo ${REPO} failed: ${r.status} ${r.text}`);
    return { kind: 'rss', detail: `${reason}; continuing on an empty data dir (generation ${this.generation})` };
  }

  async runCase(c: FuzzCase): Promise<Outcome> {
    const startKb = this.server.rssKb().serverKb;
    this.caseRssKb = startKb;
    this.caseChildrenKb = 0;
    this.killedFor = undefined;
    const t = this.target();
    const replies: Reply[] = [];
    const accepted: Accepted[] = [];
    let refusal: string | undefined;
    const up = c.upload;
    const upload =
      up.transport === 'put'
        ? await send(t, 'PUT', `/api/files/${pathSafe(up.dir)}/${pathSafe(up.file)}`, c.body, { 'content-type': 'application/octet-stream' })
        : await (async () => {
            const m = multipart(up.filename, c.body);
            return send(t, 'POST', `/api/files/${pathSafe(up.dir)}`, m.body, { 'content-type': m.contentType });
          })();
    replies.push(upload);
    if (upload.status >= 200 && upload.status < 300) {
      const add = await send(t, 'POST', `/api/repos/${REPO}/file/${pathSafe(up.dir)}`);
      replies.push(add);
      if (add.status === 200) {
        for (const line of parseAdded(add.text)) accepted.push({ ...line, caseNo: c.caseNo });
      } else if (add.status >= 400 && add.status < 500) {
        refusal = `add ${refusalClass(add)}`;
      }
      // The upload dir stays behind after a refusal; drop it so large refused uploads do not pile up.
      if (add.status !== 200 && add.status !== 0) replies.push(await send(t, 'DELETE', `/api/files/${pathSafe(up.dir)}`));
    } else if (upload.status >= 400 && upload.status < 500) {
      refusal = `upload ${refusalClass(upload)}`;
    }
    const violations = replies.flatMap(checkReply);
    // Wait out any RSS sample still in flight for this case.
    await new Promise((r) => setTimeout(r, 5));
    // Judged against the limit, unless the server already sat above it when the case began
    // (resident state it legitimately keeps; reported once by baselineViolation): then a case
    // fails only if it adds more than the limit's worth of headroom.
    if (this.caseRssKb > LIMITS.rssKb && (startKb <= LIMITS.rssKb || this.caseRssKb > startKb + LIMITS.rssKb / 3)) {
      violations.push({ kind: 'rss', detail: `server RSS reached ${Math.round(this.caseRssKb / 1024)} MB (limit ${LIMITS.rssKb / 1024} MB)${this.killedFor === 'rss' ? '; killed by the fuzzer' : ''}` });
      // A Node process keeps memory it once had: restart, so the next case is judged on its own.
      this.killedFor ??= 'rss';
      this.server.kill();
    }
    if (this.caseChildrenKb > LIMITS.childrenRssKb) {
      violations.push({ kind: 'rss', detail: `decompressor children's RSS reached ${Math.round(this.caseChildrenKb / 1024)} MB (limit ${LIMITS.childrenRssKb / 1024} MB)` });
    }
    const hung = violations.some((v) => v.kind === 'hang');
    if (hung && !this.server.exit) {
      const probe = await send(this.target(5000), 'GET', '/api/version');
      if (probe.status !== 200) {
        this.killedFor ??= 'hang';
        violations.push({ kind: 'hang', detail: 'server unresponsive after the case (GET /api/version); killed by the fuzzer' });
        this.server.kill();
      }
    }
    if (this.killedFor) await this.server.waitExit();
    // A reset usually means the process is on its way out: give its exit a moment to arrive.
    else if (replies.some((r) => r.error !== undefined && r.error !== 'timeout')) await Promise.race([this.server.waitExit(), new Promise((r) => setTimeout(r, 1000))]);
    let restarted = false;
    if (this.server.exit) {
      if (!this.killedFor) violations.push({ kind: 'exit', detail: `server exited (code ${this.server.exit.code}, signal ${this.server.exit.signal}): ${this.server.lastError()}` });
      await this.restart();
      restarted = true;
    } else {
      this.peakHwmKb = Math.max(this.peakHwmKb, this.server.readHwm());
    }
    this.consecutiveRestarts = restarted ? this.consecutiveRestarts + 1 : 0;
    const restingKb = restarted ? this.server.rssKb().serverKb : 0;
    let poisoned: Violation | undefined;
    if (this.consecutiveRestarts >= RESETS_AFTER) poisoned = await this.freshDataDir(`the server was restarted after ${RESETS_AFTER} cases in a row: it no longer runs on its data dir`);
    else if (restingKb > LIMITS.rssKb) poisoned = await this.freshDataDir(`a freshly restarted server on the run's data dir already holds ${Math.round(restingKb / 1024)} MB`);
    if (poisoned) this.consecutiveRestarts = 0;
    const escaped = this.escapes();
    if (escaped.length > 0) violations.push({ kind: 'traversal', detail: `files written outside the data dir: ${escaped.join(', ')}` });
    return { replies, accepted, refusal, violations, restarted, ...(poisoned ? { poisoned } : {}) };
  }

  private escapes(): string[] {
    const out = readdirSync(this.runDir).filter((f) => !/^data(-\d+)?$/.test(f)).map((f) => join(this.runDir, f));
    return out.concat(ESCAPES.filter((p) => existsSync(p)));
  }

  /** Highest of the sampled tree RSS and the server's own VmHWM (kB). */
  peakKb(): { treeKb: number; hwmKb: number } {
    if (!this.server.exit) this.peakHwmKb = Math.max(this.peakHwmKb, this.server.readHwm());
    return { treeKb: this.peakTreeKb, hwmKb: this.peakHwmKb };
  }

  async stop(): Promise<void> {
    this.peakKb();
    await this.server.stop();
  }
}

/** "fz-tiny-xz_1.0-1+c7_all added" → name, version, architecture. */
function parseAdded(text: string): Omit<Accepted, 'caseNo'>[] {
  let added: unknown[] = [];
  try {
    added = (JSON.parse(text) as { Report?: { Added?: unknown[] } }).Report?.Added ?? [];
  } catch {
    return [];
  }
  const out: Omit<Accepted, 'caseNo'>[] = [];
  for (const a of added) {
    const m = typeof a === 'string' ? /^([^_]+)_(.+)_([^_ ]+) added$/.exec(a) : null;
    if (m) out.push({ name: m[1]!, version: m[2]!, architecture: m[3]! });
  }
  return out;
}
