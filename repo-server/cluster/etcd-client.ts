// A small etcd v3 client over etcd's own JSON gateway (/v3/kv/*, /v3/lease/*, /v3/watch): no
// gRPC stack to ship, node:http(s) only, so TLS client certificates are plain agent options.
// Requests go to one member and move to the next on a refused connection, a timeout or
// "no leader"; when no member answers in time the caller gets EtcdUnavailable (a 503 at the API).

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { EtcdConfig } from '../config.js';
import { EtcdUnavailable, plainAnswer, RetryableError, RETRY_CODES, tlsHint } from './etcd-errors.js';
import { b64, compareJson, keepAliveAnswers, kvOf, opJson, prefixEnd, watchAnswer, type Compare, type Json, type KeyValue, type Op, type WatchEvent } from './etcd-wire.js';

/** How to reach etcd: the connection part of the server's etcd configuration. */
export type EtcdOptions = Omit<EtcdConfig, 'leaseTtlSeconds' | 'prefix' | 'repoPrefix' | 'maxTxnOps'>;


export { EtcdUnavailable } from './etcd-errors.js';
export type { Compare, KeyValue, Op, WatchEvent } from './etcd-wire.js';
export { prefixEnd } from './etcd-wire.js';


export class EtcdClient {
  private readonly endpoints: URL[];
  private current = 0;
  private readonly agent: HttpAgent;
  private token: string | undefined;
  readonly timeoutMs: number;

  constructor(private readonly opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new Error('etcd: no endpoints given');
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    this.timeoutMs = opts.timeoutMs ?? 4000;
    const tls = this.endpoints.some((u) => u.protocol === 'https:');
    this.agent = tls
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: 64,
          ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
          ...(opts.certFile ? { cert: readFileSync(opts.certFile) } : {}),
          ...(opts.keyFile ? { key: readFileSync(opts.keyFile) } : {}),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** The auth token the gateway calls carry (user/password auth), for gRPC calls' metadata. */
  authToken(): string | undefined {
    return this.token;
  }

  private open(url: URL, path: string, body: string, timeoutMs: number, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void): () => void {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(new URL(path, url), {
      method: 'POST',
      agent: this.agent,
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: this.token } : {}) },
      timeout: timeoutMs,
    });
    req.on('response', onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', onError);
    req.end(body);
    return () => req.destroy();
  }

  private once(url: URL, path: string, body: string, timeoutMs: number): Promise<Json> {
    return new Promise((resolve, reject) => {
      this.open(
        url,
        path,
        body,
        timeoutMs,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new RetryableError(e.message)));
          res.on('end', () => {
            let j: Json;
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              j = JSON.parse(text) as Json;
            } catch {
              return reject(plainAnswer(res.statusCode ?? 0, text));
            }
            if (typeof j.error === 'string') {
              const code = Number(j.code ?? 0);
              return reject(RETRY_CODES.has(code) || res.statusCode === 503 ? new RetryableError(j.error) : Object.assign(new Error(`etcd: ${j.error}`), { code }));
            }
            resolve(j);
          });
        },
        (err) => reject(new RetryableError((err as NodeJS.ErrnoException).code ?? err.message)),
      );
    });
  }

  /** One gateway call, moving over the members until one answers or time runs out. */
  async call(path: string, body: Json, what = path): Promise<Json> {
    const deadline = Date.now() + this.timeoutMs;
    const text = JSON.stringify(body);
    let last = 'no member tried';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const url = this.endpoints[this.current]!;
      const left = deadline - Date.now();
      try {
        if (this.opts.username && !this.token && !path.startsWith('/v3/auth/')) await this.authenticate();
        return await this.once(url, path, text, Math.max(200, Math.min(left, Math.ceil(this.timeoutMs / 2))));
      } catch (err) {
        const e = err as Error & { code?: number };
        if (/invalid auth token|token/i.test(e.message) && this.opts.username) {
          this.token = undefined;
          last = e.message;
          continue;
        }
        if (!(err instanceof RetryableError)) throw err;
        last = `${url.host}: ${e.message}`;
        this.current = (this.current + 1) % this.endpoints.length;
        // A whole round failed fast (all refused): a short pause before the next round.
        if ((attempt + 1) % this.endpoints.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new EtcdUnavailable(what, last + tlsHint(last));
  }

  /**
   * Which endpoint (index into the configured list) is the Raft leader now, asking every member
   * at once; undefined when none says. Lease renewals sent to the leader are answered from its
   * memory, where a follower forwards each one to the leader in turn (lease-stream.ts). Only a
   * member's word about itself counts, the highest term winning: just after a leader change a
   * follower that has not heard from the new leader yet still names the old one (and an old
   * leader cut off from the others may still call itself leader, in an older term).
   */
  async leaderIndex(timeoutMs = 1000): Promise<number | undefined> {
    const answers = await Promise.all(
      this.endpoints.map((url) =>
        this.once(url, '/v3/maintenance/status', '{}', timeoutMs).then(
          (j) => ({ member: String((j.header as Json | undefined)?.member_id ?? ''), leader: String(j.leader ?? ''), term: Number(j.raftTerm ?? (j.header as Json | undefined)?.raft_term ?? 0) }),
          () => undefined,
        ),
      ),
    );
    let best: number | undefined;
    answers.forEach((a, i) => {
      if (a && a.member !== '' && a.member === a.leader && (best === undefined || a.term > answers[best]!.term)) best = i;
    });
    return best;
  }

  /** Whether the member at `index` says it is the Raft leader (one Status call to it). */
  async leads(index: number, timeoutMs = 1000): Promise<boolean> {
    const j = await this.once(this.endpoints[index]!, '/v3/maintenance/status', '{}', timeoutMs);
    const member = String((j.header as Json | undefined)?.member_id ?? '');
    return member !== '' && member === String(j.leader ?? '');
  }

  private async authenticate(): Promise<void> {
    const j = await this.call('/v3/auth/authenticate', { name: this.opts.username, password: this.opts.password ?? '' }, 'authenticate');
    if (typeof j.token !== 'string') throw new Error('etcd: authenticate returned no token');
    this.token = j.token;
  }

  async range(key: string, prefix = false): Promise<{ kvs: KeyValue[]; revision: number }> {
    const j = await this.call('/v3/kv/range', { key: b64(key), ...(prefix ? { range_end: prefixEnd(key) } : {}) }, `read ${key}`);
    return { kvs: ((j.kvs as Json[] | undefined) ?? []).map(kvOf), revision: Number((j.header as Json | undefined)?.revision ?? 0) };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  /** All-or-nothing: `ops` run when every compare holds; `succeeded` says which branch ran. */
  async txn(compare: Compare[], success: Op[], failure: Op[] = [], what = 'transaction'): Promise<{ succeeded: boolean; revision: number }> {
    const j = await this.call('/v3/kv/txn', { compare: compare.map(compareJson), success: success.map(opJson), failure: failure.map(opJson) }, what);
    return { succeeded: j.succeeded === true, revision: Number((j.header as Json | undefined)?.revision ?? 0) };
  }

  async grant(ttlSeconds: number): Promise<string> {
    const j = await this.call('/v3/lease/grant', { TTL: String(ttlSeconds) }, 'grant a lease');
    return String(j.ID);
  }

  async revoke(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease }, 'revoke a lease').catch((err: Error) => {
      if (!/not found/.test(err.message)) throw err;
    });
  }

  /** Renews many leases in one request (the gateway streams one answer per ID); TTL 0: gone. */
  async keepAlive(leases: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (leases.length === 0) return out;
    const body = leases.map((id) => JSON.stringify({ ID: id })).join('\n');
    const deadline = Date.now() + this.timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const url = this.endpoints[this.current]!;
      try {
        const text = await new Promise<string>((resolve, reject) => {
          this.open(
            url,
            '/v3/lease/keepalive',
            body,
            Math.max(200, Math.min(deadline - Date.now(), Math.ceil(this.timeoutMs / 2))),
            (res) => {
              let acc = '';
              let lines = 0;
              res.setEncoding('utf8');
              res.on('data', (c: string) => {
                acc += c;
                lines += c.split('\n').length - 1;
                // The gateway keeps the stream open; all answers in: done.
                if (lines >= leases.length) {
                  res.destroy();
                  resolve(acc);
                }
              });
              res.on('end', () => resolve(acc));
              res.on('error', (e) => (lines >= leases.length ? resolve(acc) : reject(new Error(e.message))));
            },
            (err) => reject(new Error((err as NodeJS.ErrnoException).code ?? err.message)),
          );
        });
        for (const [id, ttl] of keepAliveAnswers(text)) out.set(id, ttl);
        if (out.size < leases.length) throw new Error(`keepalive answered ${out.size} of ${leases.length}`);
        return out;
      } catch (err) {
        last = `${url.host}: ${(err as Error).message}`;
        this.current = (this.current + 1) % this.endpoints.length;
        out.clear();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new EtcdUnavailable('renew leases', last);
  }

  /**
   * Follows every change under `prefix` from `fromRevision` on, across members: a broken stream
   * is reopened (on the next member) from the last revision seen. `onCompacted` is called when
   * that revision is gone: the caller reloads and calls watch again.
   */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[], revision: number) => void, onCompacted: () => void): { close(): void } {
    let next = fromRevision;
    let closed = false;
    let cancel: (() => void) | undefined;
    const reopen = (): void => {
      if (closed) return;
      cancel = undefined;
      this.current = (this.current + 1) % this.endpoints.length;
      setTimeout(start, 200).unref();
    };
    const start = (): void => {
      if (closed) return;
      const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(next) } });
      let buf = '';
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        reopen();
      };
      cancel = this.open(
        this.endpoints[this.current]!,
        '/v3/watch',
        body,
        0,
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              const w = watchAnswer(line);
              if (w === 'compacted') {
                closed = true;
                res.destroy();
                onCompacted();
                return;
              }
              if (w && w.events.length > 0) {
                next = Math.max(next, ...w.events.map((e) => e.kv.modRevision + 1));
                onEvents(w.events, w.revision);
              }
            }
          });
          res.on('end', end);
          res.on('error', end);
          res.on('close', end);
        },
        end,
      );
    };
    start();
    return {
      close: () => {
        closed = true;
        cancel?.();
      },
    };
  }
}
