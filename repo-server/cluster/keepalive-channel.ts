// One HTTP/2 connection to one etcd member carrying one LeaseKeepAlive gRPC stream, and the
// renewals written on it and not answered yet. lease-stream.ts decides which member a channel
// goes to and moves renewals between channels when etcd's leader changes; this file only speaks
// the protocol: the two protobuf messages involved, encoded by hand (an int64 each way, plus the
// answer's header, whose raft_term tells a leader change for free: no gRPC stack to ship).

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

/** Reads protobuf fields: varints by field number; a length-delimited field's bytes by number. */
function fields(msg: Buffer, onVarint: (field: number, v: bigint) => void, onBytes: (field: number, b: Buffer) => void): void {
  let i = 0;
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
      onBytes(tag >> 3, msg.subarray(i, i + len));
      i += len;
    } else if (wire === 0) onVarint(tag >> 3, varint());
    else throw new Error(`keepalive answer: unexpected wire type ${wire}`);
  }
}

/**
 * LeaseKeepAliveResponse { ResponseHeader header = 1; int64 ID = 2; int64 TTL = 3 } (and
 * LeaseGrantResponse, whose first three fields are the same), with the header's
 * { cluster_id = 1; member_id = 2; revision = 3; raft_term = 4 } raft_term: 0 when absent.
 */
export function parseKeepAlive(msg: Buffer): { id: string; ttl: number; term: number } {
  let id = 0n;
  let ttl = 0n;
  let term = 0n;
  fields(
    msg,
    (f, v) => {
      if (f === 2) id = v;
      else if (f === 3) ttl = v;
    },
    (f, b) => {
      if (f === 1) fields(b, (hf, v) => (hf === 4 ? (term = v) : undefined), () => undefined);
    },
  );
  // int64 on the wire: two's complement in 64 bits (lease ids are positive; be exact anyway).
  if (id >= 1n << 63n) id -= 1n << 64n;
  return { id: String(id), ttl: Number(ttl), term: Number(term) };
}

export interface Pending {
  resolve: (ttl: number) => void;
  reject: (err: Error) => void;
}

export interface ChannelEvents {
  /** An answer came (its Raft term: a higher one than seen before means a new leader). */
  answered(ch: KeepAliveChannel, term: number): void;
  /** The connection or the stream broke: nothing more will be answered here. */
  failed(ch: KeepAliveChannel, err: Error): void;
}

export function grpcHeaders(path: string, token: string | undefined): Record<string, string> {
  return {
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(token ? { token } : {}),
  };
}

export class KeepAliveChannel {
  readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;
  private buf: Buffer = Buffer.alloc(0);
  /** lease → renewals written and not answered yet (answers come in order per lease). */
  private pending = new Map<string, Pending[]>();
  /** Renewals written and not answered, since when some are, and the last answer's time. */
  unanswered = 0;
  private busySince = 0;
  private lastAnswer = 0;
  /** When each unanswered renewal was written, oldest first (etcd answers a stream in order). */
  private sent: number[] = [];
  private sentHead = 0;
  /** When it last answered (or was opened): a stream in use is checked for leadership. */
  usedAt = Date.now();
  /** Given up on (failed or retired): its events concern nobody. */
  dead = false;

  constructor(
    /** Index of the member in the configured endpoint list. */
    readonly member: number,
    url: URL,
    opts: EtcdOptions,
    token: string | undefined,
    private readonly events: ChannelEvents,
  ) {
    const tls = url.protocol === 'https:';
    this.session = connect(url.origin, {
      ...(tls && opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
      ...(tls && opts.certFile ? { cert: readFileSync(opts.certFile) } : {}),
      ...(tls && opts.keyFile ? { key: readFileSync(opts.keyFile) } : {}),
    });
    this.session.on('error', (err) => this.fail(err));
    this.session.on('close', () => this.fail(new Error('connection closed')));
    this.session.unref();
    this.stream = this.session.request(grpcHeaders('/etcdserverpb.Lease/LeaseKeepAlive', token));
    this.stream.on('data', (d: Buffer) => this.read(d));
    this.stream.on('error', (err) => this.fail(err));
    // The stream ending (an error status in its trailers) means no more answers on it.
    let status = '';
    this.stream.on('trailers', (t) => (status = `grpc-status ${String(t['grpc-status'])} ${String(t['grpc-message'] ?? '')}`));
    this.stream.on('close', () => this.fail(new Error(`keepalive stream ended ${status}`.trim())));
  }

  get usable(): boolean {
    return !this.dead && !this.stream.destroyed && !this.stream.writableEnded;
  }

  write(lease: string, p: Pending): void {
    const list = this.pending.get(lease);
    if (list) list.push(p);
    else this.pending.set(lease, [p]);
    const now = Date.now();
    if (this.unanswered++ === 0) this.busySince = now;
    this.sent.push(now);
    this.stream.write(keepAliveFrame(lease));
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) return;
      const msg = this.buf.subarray(5, 5 + len);
      this.buf = this.buf.subarray(5 + len);
      const { id, ttl, term } = parseKeepAlive(msg);
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
      if (!this.dead) this.events.answered(this, term);
    }
  }

  /** Unanswered for over `ms` with no answer meanwhile: the member stopped answering. */
  stalled(now: number, ms: number): boolean {
    return this.unanswered > 0 && now - Math.max(this.busySince, this.lastAnswer) > ms;
  }

  /** How long the oldest unanswered renewal has waited (0: none). */
  lagMs(): number {
    const oldest = this.sent[this.sentHead];
    return this.unanswered > 0 && oldest !== undefined ? Date.now() - oldest : 0;
  }

  fail(err: Error): void {
    if (this.dead) return;
    this.events.failed(this, err);
  }

  /** Closes the connection; the renewals still unanswered are handed back (not failed). */
  retire(): Map<string, Pending[]> {
    this.dead = true;
    const pending = this.pending;
    this.pending = new Map();
    this.unanswered = 0;
    this.sent = [];
    this.sentHead = 0;
    this.session.destroy();
    return pending;
  }
}
