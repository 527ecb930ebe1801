// Lease renewals on one long-lived stream, kept on etcd's leader. etcd renews a lease through
// LeaseKeepAlive, a bidirectional gRPC stream: a client writes one request per renewal and reads
// the answers on the same stream, as etcd's own clientv3 does. The JSON gateway cannot do that
// over HTTP/1.1 (it answers only once the request body has ended: measured with etcd 3.4, a
// chunked POST got its answers after `end()` and lost half of them), so each renewal there costs
// a whole request. Here: one HTTP/2 connection per server to one member, one gRPC stream
// (keepalive-channel.ts). A broken stream fails its pending renewals (the caller falls back to
// the gateway) and the next renewal reopens it on the leader, or the next member.
//
// Why the leader: a follower forwards each renewal to the leader one at a time (measured, 2,000
// renewals on one stream: ~3,000–4,000/s through a follower, ~12,000–14,000/s at the leader).
// Leadership moves (a member killed, `etcdctl move-leader`, an election after a partition), so
// the stream follows it: every answer carries a Raft term, and a higher one than seen before (a
// new leader, by Raft's rules) triggers a leader look-up at once; as that term lags (see the
// checker), a stream in use also asks its member once a second whether it still leads. A stream that broke (its member killed) is reopened on the new leader as soon as a
// look-up finds one, and one opened on a member not known to lead (mid election) looks again
// every 500 ms until it is on the leader. The move makes before it breaks:
// the new stream is opened and takes every new renewal, the old one is kept until it has
// answered what it was given, and what it has not answered within a second is written again on
// the new stream (the callers' promises carry over). No renewal is dropped by a move, and etcd's
// new leader gives every lease a whole TTL when it takes office (lessor Promote), so no lease
// comes closer to expiry through a leader change. New units' leases are granted on the same
// connection (unary LeaseGrant calls, many in flight at once: register-batch.ts).

import type { EtcdOptions } from './etcd-client.js';
import { grpcHeaders, KeepAliveChannel, parseKeepAlive, keepAliveFrame, type ChannelEvents } from './keepalive-channel.js';

export { keepAliveFrame, parseKeepAlive } from './keepalive-channel.js';

/** Where renewals go now: the member's client URL (undefined: no stream open), and how many moves to a new leader so far. */
export interface KeepaliveState {
  member: string | undefined;
  moves: number;
}

/** How long an old stream may keep renewals it was given after a move, before they go again on the new one. */
const DRAIN_MS = 1000;
/** A stream in use asks its member this often whether it still leads. */
const CHECK_EVERY_MS = 1000;
/** Leader look-ups while the stream is on a member not known to lead (or down with no leader known). */
const CONFIRM_EVERY_MS = 500;
/** A member whose stream just failed is not taken for the leader this long (others still name it). */
const LOST_MS = 2000;

export class LeaseStream {
  private readonly endpoints: URL[];
  private current = 0;
  /** The stream new renewals go to; older ones draining after a move. */
  private active: KeepAliveChannel | undefined;
  private readonly draining = new Set<KeepAliveChannel>();
  private closed = false;
  /** After a failure the stream stays shut this long: renewals go the gateway's way meanwhile. */
  private shutUntil = 0;
  private readonly watchdog: NodeJS.Timeout;
  private readonly checker: NodeJS.Timeout;
  private checking = false;
  /** Status calls made by the periodic check (its cost, for the record). */
  checks = 0;
  private confirmTimer: NodeJS.Timeout | undefined;
  /** The leader's endpoint index as last looked up (undefined: unknown; rotate on failure). */
  private leader: number | undefined;
  private looking = false;
  private lookAgain = false;
  /** The highest Raft term seen in an answer (0: none yet). */
  private term = 0;
  /** A stream has been opened (renewals are wanted): keep one on the leader from then on. */
  private wanted = false;
  /** The member whose stream failed last, and when. */
  private lost: { member: number; at: number } | undefined;
  /** Streams moved to a new leader (make-before-break), for /metrics. */
  moves = 0;
  private readonly events: ChannelEvents = {
    answered: (ch, term) => this.answered(ch, term),
    failed: (ch, err) => this.failed(ch, err),
  };

  constructor(
    private readonly opts: EtcdOptions,
    /** The gateway's auth token (etcd takes the same one as gRPC metadata `token`). */
    private readonly token: () => string | undefined,
    /** Looks up the leader's endpoint index (EtcdClient.leaderIndex); none: members in turn. */
    private readonly findLeader?: () => Promise<number | undefined>,
    /** Asks one member whether it leads (EtcdClient.leads): the periodic check of a stream in use. */
    private readonly leads?: (member: number) => Promise<boolean>,
  ) {
    this.endpoints = opts.endpoints.map((e) => new URL(e));
    this.lookUpLeader();
    // A member that stops answering (no leader, partitioned) fails the stream: its renewals
    // go to the gateway, which tries the other members or reports etcd unreachable.
    const stallMs = Math.max(1000, Math.ceil((opts.timeoutMs ?? 4000) / 2));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const ch of [...this.draining, ...(this.active ? [this.active] : [])]) if (ch.stalled(now, stallMs)) ch.fail(new Error(`no keepalive answer within ${stallMs} ms`));
    }, 250);
    this.watchdog.unref();
    // The Raft term in answers is the term of the last entry the member applied: after a
    // move-leader it was seen unchanged for seconds (etcd 3.4). So a stream in use also asks
    // its own member once a second whether it still leads (while it answered in the last 10 s):
    // one small request a second, not one per renewal.
    this.checker = setInterval(() => {
      const ch = this.active;
      if (!ch || !this.leads || this.checking || Date.now() - ch.usedAt > 10 * CHECK_EVERY_MS) return;
      this.checking = true;
      this.checks++;
      this.leads(ch.member)
        .then((yes) => (yes ? undefined : this.lookUpLeader()), () => this.lookUpLeader())
        .finally(() => (this.checking = false));
    }, CHECK_EVERY_MS);
    this.checker.unref();
  }

  /** Renews `lease` once; resolves its remaining TTL in seconds (0: the lease is gone). */
  renew(lease: string): Promise<number> {
    if (this.closed) return Promise.reject(new Error('lease stream closed'));
    if (!this.active && Date.now() < this.shutUntil) return Promise.reject(new Error('lease stream down; retried shortly'));
    return new Promise((resolve, reject) => this.open().write(lease, { resolve, reject }));
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
    if (!this.active && Date.now() < this.shutUntil) return Promise.reject(new Error('lease stream down; retried shortly'));
    return new Promise((resolve, reject) => {
      const call = this.open().session.request(grpcHeaders('/etcdserverpb.Lease/LeaseGrant', this.token()));
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

  /** The member the stream is on (its client URL), if open. */
  member(): string | undefined {
    return this.active ? this.opts.endpoints[this.active.member] : undefined;
  }

  /** The stream new renewals go to: open, or opened on the leader (if known) or the next member. */
  private open(): KeepAliveChannel {
    if (this.active?.usable) return this.active;
    return this.openOn(this.leader ?? this.current);
  }

  private openOn(member: number): KeepAliveChannel {
    this.wanted = true;
    this.current = member;
    const ch = new KeepAliveChannel(member, this.endpoints[member]!, this.opts, this.token(), this.events);
    this.active = ch;
    if (this.leader !== member) this.confirmSoon();
    return ch;
  }

  /** Not known to be on the leader: look again shortly (and again, until it is). */
  private confirmSoon(): void {
    if (this.confirmTimer || !this.findLeader || this.closed) return;
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      if (!this.active || this.leader !== this.active.member) this.lookUpLeader();
    }, CONFIRM_EVERY_MS);
    this.confirmTimer.unref();
  }

  private answered(ch: KeepAliveChannel, term: number): void {
    ch.usedAt = Date.now();
    if (term <= this.term) return;
    const changed = this.term !== 0;
    this.term = term;
    // A new term is a new leader (or an election under way): where is it?
    if (changed && ch === this.active) this.lookUpLeader();
  }

  /** Learns the leader, in the background (one look-up at a time), and moves the stream there. */
  private lookUpLeader(): void {
    if (!this.findLeader || this.closed) return;
    // One at a time; one asked for meanwhile (a new term seen) runs after it, with fresh answers.
    if (this.looking) {
      this.lookAgain = true;
      return;
    }
    this.looking = true;
    this.lookAgain = false;
    this.findLeader()
      .then((i) => (this.leader = i))
      .catch(() => (this.leader = undefined))
      .finally(() => {
        this.looking = false;
        if (this.lookAgain) return this.lookUpLeader();
        if (this.closed || !this.wanted) return;
        // Members still name the member that just failed until they notice (an election
        // timeout): not a leader to reconnect to.
        const lost = this.lost;
        if (lost && this.leader === lost.member && Date.now() - lost.at < LOST_MS) this.leader = undefined;
        const ch = this.active;
        if (this.leader === undefined) this.confirmSoon();
        // The stream broke (its member died): reopen on the new leader now, not at the next renewal.
        else if (!ch) this.openOn(this.leader);
        else if (this.leader !== ch.member) this.moveTo(this.leader);
      });
  }

  /** Make before break: new renewals go to a stream on `member`; the old one drains. */
  private moveTo(member: number): void {
    const old = this.active;
    this.openOn(member);
    this.moves++;
    if (!old) return;
    this.draining.add(old);
    if (old.unanswered === 0) this.retire(old);
    else setTimeout(() => this.retire(old), DRAIN_MS).unref();
  }

  /** Closes a draining stream; what it did not answer is written again on the current one. */
  private retire(ch: KeepAliveChannel): void {
    if (ch.dead) return;
    this.draining.delete(ch);
    const left = ch.retire();
    const to = this.active?.usable ? this.active : undefined;
    for (const [lease, list] of left) for (const p of list) (to ? to.write(lease, p) : p.reject(new Error('lease stream moved; renew again')));
  }

  private failed(ch: KeepAliveChannel, err: Error): void {
    if (this.draining.has(ch)) return this.retire(ch);
    if (ch !== this.active) return;
    // Everything written and unanswered fails (the callers renew on the gateway); the next
    // renewal opens a stream on the leader once known, else on the next member.
    this.active = undefined;
    const pending = ch.retire();
    this.current = (ch.member + 1) % this.endpoints.length;
    this.lost = { member: ch.member, at: Date.now() };
    // The leader may be what failed (or no longer lead): look again.
    this.leader = undefined;
    this.lookUpLeader();
    this.shutUntil = Date.now() + 1000;
    for (const list of pending.values()) for (const p of list) p.reject(err);
  }

  /** How long the oldest unanswered renewal has waited (0: none): a member falling behind shows here. */
  lagMs(): number {
    let lag = this.active?.lagMs() ?? 0;
    for (const ch of this.draining) lag = Math.max(lag, ch.lagMs());
    return lag;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    clearInterval(this.checker);
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    for (const ch of [...this.draining]) this.retire(ch);
    if (this.active) this.failed(this.active, new Error('lease stream closed'));
  }
}
