// A bounded HTTP load generator for LB swap tests: keep-alive clients (one socket each, reused)
// and `Connection: close` clients (a new connection per request), paced to a total rate, with
// every Nth request of a client going to a slow path. Every response is recorded so a test can
// count failures, colour shares in a window and the switch time of a swap.

import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:9000 (no trailing path needed). */
  url: string;
  /** Path of ordinary requests (default '/'). */
  path?: string;
  /** Path of slow requests (default '/slow'). */
  slowPath?: string;
  /** Stops by itself after this long; stop() ends it sooner. Capped at MAX_DURATION_MS. */
  durationMs?: number;
  /** Clients that reuse one keep-alive connection each (default 4). */
  keepaliveClients?: number;
  /** Clients that open a new connection per request and send `Connection: close` (default 4). */
  closeClients?: number;
  /** Every Nth request of each client goes to slowPath; 0 = never (default 0). */
  slowEvery?: number;
  /** Total request starts per second over all clients (default 200, at most MAX_RATE). */
  ratePerSecond?: number;
  /** Source address to bind the clients to, e.g. 127.0.0.5. */
  localAddress?: string;
  /** Per-request timeout (default 5000 ms); a timeout is a failure. */
  timeoutMs?: number;
  /** Response header holding the colour (default 'x-color'). */
  colorHeader?: string;
}

export interface Sample {
  /** Request start and end, in now() milliseconds. */
  at: number;
  end: number;
  client: number;
  keepalive: boolean;
  slow: boolean;
  /** HTTP status; 0 when the request failed before a response. */
  status: number;
  color: string | undefined;
  error: string | undefined;
}

export interface LoadRun {
  /** Every finished request so far, in completion order (live array). */
  readonly samples: readonly Sample[];
  /** Resolves with all samples once every client has stopped. */
  readonly done: Promise<Sample[]>;
  /** Asks every client to stop after its current request; resolves like `done`. */
  stop(): Promise<Sample[]>;
}

export const MAX_DURATION_MS = 120_000;
export const MAX_RATE = 2000;
export const MAX_CLIENTS = 64;

/** Milliseconds with sub-millisecond resolution on the same clock as Sample.at/end. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function isFailure(s: Sample): boolean {
  return s.error !== undefined || s.status < 200 || s.status > 299;
}

export function failures(samples: readonly Sample[]): Sample[] {
  return samples.filter(isFailure);
}

/** Share (0-1) of each colour among successful requests started in [from, to). */
export function colorShare(samples: readonly Sample[], from: number, to: number): Record<string, number> {
  const inWindow = samples.filter((s) => !isFailure(s) && s.at >= from && s.at < to);
  const counts: Record<string, number> = {};
  for (const s of inWindow) counts[s.color ?? '(none)'] = (counts[s.color ?? '(none)'] ?? 0) + 1;
  for (const k of Object.keys(counts)) counts[k] = counts[k]! / inWindow.length;
  return counts;
}

/**
 * Milliseconds from `since` until requests went only to `color`: the start of the first
 * successful `color` request that began after the last successful request (started at or after
 * `since`) answered by another colour. Undefined when no such `color` request exists.
 */
export function switchTime(samples: readonly Sample[], color: string, since: number): number | undefined {
  const ok = samples.filter((s) => !isFailure(s) && s.at >= since);
  const lastOther = ok.reduce((m, s) => (s.color !== color && s.at > m ? s.at : m), -Infinity);
  const first = ok.reduce((m, s) => (s.color === color && s.at > lastOther && s.at < m ? s.at : m), Infinity);
  return first === Infinity ? undefined : first - since;
}

function request(base: URL, path: string, agent: http.Agent | false, keepalive: boolean, opts: LoadOptions): Promise<{ status: number; color: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        path,
        agent,
        headers: keepalive ? {} : { connection: 'close' },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        timeout: opts.timeoutMs ?? 5000,
      },
      (res) => {
        const color = res.headers[opts.colorHeader ?? 'x-color'];
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, color: Array.isArray(color) ? color[0] : color }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function startLoad(opts: LoadOptions): LoadRun {
  const keepaliveClients = opts.keepaliveClients ?? 4;
  const closeClients = opts.closeClients ?? 4;
  const clients = keepaliveClients + closeClients;
  if (clients < 1 || clients > MAX_CLIENTS) throw new Error(`load: ${clients} clients (1-${MAX_CLIENTS})`);
  const rate = Math.min(opts.ratePerSecond ?? 200, MAX_RATE);
  if (!(rate > 0)) throw new Error('load: ratePerSecond must be > 0');
  const duration = Math.min(opts.durationMs ?? MAX_DURATION_MS, MAX_DURATION_MS);
  const base = new URL(opts.url);
  const path = opts.path ?? '/';
  const slowPath = opts.slowPath ?? '/slow';
  const slowEvery = opts.slowEvery ?? 0;
  const intervalMs = (1000 * clients) / rate;
  const samples: Sample[] = [];
  const t0 = now();
  const deadline = t0 + duration;
  let stopping = false;

  const client = async (id: number, keepalive: boolean): Promise<void> => {
    const agent = keepalive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    // Clients start spread over one interval so the rate is smooth, not in bursts.
    let next = t0 + (intervalMs * id) / clients;
    try {
      for (let n = 1; !stopping && now() < deadline; n++) {
        const wait = next - now();
        if (wait > 0) await sleep(wait);
        if (stopping || now() >= deadline) break;
        next += intervalMs;
        // Offset by client so slow requests are spread over time, not all clients at once.
        const slow = slowEvery > 0 && (n + id) % slowEvery === 0;
        const at = now();
        try {
          const r = await request(base, slow ? slowPath : path, agent, keepalive, opts);
          samples.push({ at, end: now(), client: id, keepalive, slow, status: r.status, color: r.color, error: undefined });
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          samples.push({ at, end: now(), client: id, keepalive, slow, status: 0, color: undefined, error: e.code ?? e.message });
        }
        // A client that fell behind (slow request) does not burst to catch up.
        next = Math.max(next, now());
      }
    } finally {
      if (agent) agent.destroy();
    }
  };

  const all = [
    ...Array.from({ length: keepaliveClients }, (_, i) => client(i, true)),
    ...Array.from({ length: closeClients }, (_, i) => client(keepaliveClients + i, false)),
  ];
  const done = Promise.all(all).then(() => samples);
  return {
    samples,
    done,
    stop: () => {
      stopping = true;
      return done;
    },
  };
}
