// Lease renewals on one long-lived stream. etcd renews a lease through LeaseKeepAlive, a
// bidirectional gRPC stream: a client writes one request per renewal and reads the answers on
// the same stream, as etcd's own clientv3 does. The JSON gateway cannot do that over HTTP/1.1
// (it answers only once the request body has ended: measured with etcd 3.4, a chunked POST got
// its answers after `end()` and lost half of them), so each renewal there costs a whole request.
// Here: one HTTP/2 (h2c, or h2 over TLS) connection per server to one member, one gRPC stream,
// and the two protobuf messages involved encoded by hand (an int64 each way: no gRPC stack to
// ship). A broken stream fails its pending renewals (the caller falls back to the gateway) and
// the next renewal reopens it on the next member. The stream is opened on etcd's leader when it
// is known: a follower forwards each renewal to the leader one at a time (measured, 2,000
// renewals on one stream: ~3,000–4,000/s through a follower, ~12,000–14,000/s at the leader);
// after a leader change it keeps working through the follower until it is reopened. New units' leases are granted on the same
// connection (unary LeaseGrant calls, many in flight at once: register-batch.ts).

import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { readFileSync } from 'node:fs';
import type { EtcdOptions } from './etcd-client.js';

/** LeaseKeepAliveRequest { int64 ID = 1 }, framed for gRPC (no compression, 4-byte length). */
export function keepAliveFrame(lease: string): Buffer {
  const body: number[] = [0x08];
  let v = BigInt(lease);
  if (v < 0n) v += 1n << 64n;
  while (v >= 0x80n) {
    body.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  body.push(Number(v));
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** LeaseKeepAliveResponse { ResponseHeader header = 1; int64 ID = 2; int64 TTL = 3 }. */
export function parseKeepAlive(msg: Buffer): { id: string; ttl: number } {
  let i = 0;
  let id = 0n;
  let ttl = 0n;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= msg.length) throw new Error('keepalive answer truncated');
      const b = msg[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < msg.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    if (wire === 2) {
      const len = Number(varint());
      i += len;
    }
    else if (wire === 0) {
      const v = varint();
      if (tag >> 3 === 2) id = v;
      else if (tag >> 3 === 3) ttl = v;
    } else throw new Error(`keepalive answer: unexpected wire type ${wire}`);
  }
  // int64 on the wire: two's complement in 64 bits (lease ids are positive; be exact anyway).
  if (id >= 1n << 63n) id -= 1n << 64n;
  return { id: String(id), ttl: Number(ttl) };
}

interface Pending {
  resolve: (ttl: number) => void;
  reject: (err: Error) => void;
}

export class LeaseStream {
  private readonly endpoints: URL[];
  private current = 0;
  private session: ClientHttp2Session | undefined;
  private stream: ClientHttp2Stream | undefined;
  private buf: Buffer = Buffer.alloc(0);
  /** lease → renewals written and not answered yet (answers come in order per lease). */
  private pending = new Map<string, Pending[]>();
  private closed = false;
  /** After a failure the stream stays shut this long: renewals go the gateway's way meanwhile. */
  private shutUntil = 0;
  /** Renewals written and not answered, since when some are, and the last answer's time. */
  private unanswered = 0;
  private busySince = 0;
  private lastAnswer = 0;
  /** When each unanswered renewal was written, oldest first (etcd answers a stream in order). */
  private sent: number[] = [];
  private sentHead = 0;
  private readonly watchdog: NodeJS.Timeout;
  /** The leader's endpoint index as last looked up (undefined: unknown; rotate on failure). */
  private leader: number | undefined;
  private looking = false;

  constructor(
    private readonly opts: EtcdOptions,
    /** The gateway's auth token (etcd takes the same one as gRPC metadata `token`). */
    private readonly token: () => string | undefined,
    /** Looks up the leader's endpoint index (EtcdClient.leaderIndex); none: members in turn. */
    private readonly findLeader?: () => Promise<number | undefined>,
  ) {
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    this.lookUpLeader();
    // A member that stops answering (no leader, partitioned) fails the stream: its renewals
    // go to the gateway, which tries the other members or reports etcd unreachable.
    const stallMs = Math.max(1000, Math.ceil((opts.timeoutMs ?? 4000) / 2));
    this.watchdog = setInterval(() => {
      if (this.unanswered > 0 && Date.now() - Math.max(this.busySince, this.lastAnswer) > stallMs) this.fail(this.session, new Error(`no keepalive answer within ${stallMs} ms`));
    }, 250);
    this.watchdog.unref();
  }

  /** Renews `lease` once; resolves its remaining TTL in seconds (0: the lease is gone). */
  renew(lease: string): Promise<number> {
    if (this.closed) return Promise.reject(new Error('lease stream closed'));
    if (!this.stream && Date.now() < this.shutUntil) return Promise.reject(new Error('lease stream down; retried shortly'));
    return new Promise((resolve, reject) => {
      const s = this.open();
      const list = this.pending.get(lease);
      if (list) list.push({ resolve, reject });
      else this.pending.set(lease, [{ resolve, reject }]);
      const now = Date.now();
      if (this.unanswered++ === 0) this.busySince = now;
      this.sent.push(now);
      s.write(keepAliveFrame(lease));
    });
  }

  /**
   * Grants a lease of `ttlSeconds` with one unary LeaseGrant call on this stream's connection
   * (its own HTTP/2 stream beside the keepalive one): the lease id. Grants are Raft writes; many
   * in flight at once on one connection are committed together, where the JSON gateway costs a
   * request, a socket and a JSON round trip each. Rejects when the connection is down or the
   * call fails; the caller then grants on the gateway.
   */
  grant(ttlSeconds: number): Promise<string> {
    if (this.closed) return Promise.reject(new Error('lease stream closed'));
    if (!this.stream && Date.now() < this.shutUntil) return Promise.reject(new Error('lease stream down; retried shortly'));
    return new Promise((resolve, reject) => {
      const session = this.connection();
      const call = session.request(this.headers('/etcdserverpb.Lease/LeaseGrant'));
      let buf: Buffer = Buffer.alloc(0);
      let status = '';
      call.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
      call.on('trailers', (t) => (status = `${String(t['grpc-status'])} ${String(t['grpc-message'] ?? '')}`.trim()));
      call.on('error', (err) => reject(err));
      call.on('close', () => {
        // LeaseGrantResponse { header = 1; ID = 2; TTL = 3; error = 4 }: the keepalive answer's fields.
        if (buf.length >= 5 && (status === '' || status.startsWith('0'))) {
          const { id, ttl } = parseKeepAlive(buf.subarray(5, 5 + buf.readUInt32BE(1)));
          if (id !== '0' && ttl > 0) return resolve(id);
        }
        reject(new Error(`lease grant failed: grpc-status ${status || 'none'}`));
      });
      // LeaseGrantRequest { int64 TTL = 1 }: the same framing as a keepalive request's ID.
      call.end(keepAliveFrame(String(ttlSeconds)));
    });
  }

  private headers(path: string): Record<string, string> {
    const token = this.token();
    return {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(token ? { token } : {}),
    };
  }

  /** The HTTP/2 connection to the current member, opened with the keepalive stream on it. */
  private connection(): ClientHttp2Session {
    this.open();
    return this.session!;
  }

  /** Learns the leader for the next open(); one look-up at a time, in the background. */
  private lookUpLeader(): void {
    if (!this.findLeader || this.looking || this.closed) return;
    this.looking = true;
    this.findLeader()
      .then((i) => (this.leader = i))
      .catch(() => (this.leader = undefined))
      .finally(() => (this.looking = false));
  }

  private open(): ClientHttp2Stream {
    if (this.stream && !this.stream.destroyed && !this.stream.writableEnded) return this.stream;
    if (this.leader !== undefined) this.current = this.leader;
    const url = this.endpoints[this.current]!;
    const tls = url.protocol === 'https:';
    const session = connect(url.origin, {
      ...(tls && this.opts.caFile ? { ca: readFileSync(this.opts.caFile) } : {}),
      ...(tls && this.opts.certFile ? { cert: readFileSync(this.opts.certFile) } : {}),
      ...(tls && this.opts.keyFile ? { key: readFileSync(this.opts.keyFile) } : {}),
    });
    session.on('error', (err) => this.fail(session, err));
    session.on('close', () => this.fail(session, new Error('connection closed')));
    session.unref();
    const stream = session.request(this.headers('/etcdserverpb.Lease/LeaseKeepAlive'));
    stream.on('data', (d: Buffer) => this.read(d));
    stream.on('error', (err) => this.fail(session, err));
    // The stream ending (an error status in its trailers) means no more answers on it.
    let status = '';
    stream.on('trailers', (t) => (status = `grpc-status ${String(t['grpc-status'])} ${String(t['grpc-message'] ?? '')}`));
    stream.on('close', () => this.fail(session, new Error(`keepalive stream ended ${status}`.trim())));
    this.session = session;
    this.stream = stream;
    this.buf = Buffer.alloc(0);
    return stream;
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) return;
      const msg = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      const { id, ttl } = parseKeepAlive(msg);
      const list = this.pending.get(id);
      const first = list?.shift();
      if (first) {
        this.unanswered--;
        this.lastAnswer = Date.now();
        if (++this.sentHead > 1024) {
          this.sent = this.sent.slice(this.sentHead);
          this.sentHead = 0;
        }
      }
      if (list && list.length === 0) this.pending.delete(id);
      first?.resolve(ttl);
    }
  }

  /** Everything written and unanswered fails; the next renewal opens a stream on the next member. */
  private fail(session: ClientHttp2Session | undefined, err: Error): void {
    // Events of a session already given up on concern nobody.
    if (session !== this.session) return;
    this.stream = undefined;
    this.session = undefined;
    session?.destroy();
    this.current = (this.current + 1) % this.endpoints.length;
    // The leader may be what failed (or no longer lead): look again; meanwhile the next member.
    this.leader = undefined;
    this.lookUpLeader();
    this.shutUntil = Date.now() + 1000;
    const pending = this.pending;
    this.pending = new Map();
    this.unanswered = 0;
    this.sent = [];
    this.sentHead = 0;
    for (const list of pending.values()) for (const p of list) p.reject(err);
  }

  /** How long the oldest unanswered renewal has waited (0: none): a member falling behind shows here. */
  lagMs(): number {
    const oldest = this.sent[this.sentHead];
    return this.unanswered > 0 && oldest !== undefined ? Date.now() - oldest : 0;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    this.fail(this.session, new Error('lease stream closed'));
  }
}
