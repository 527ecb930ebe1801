// Leader election on etcd, lease-backed (the recipe of etcd's own concurrency package): the
// leader key is created only if absent, bound to this server's session lease, so a server that
// dies loses the role when its lease runs out and the others take over without a vote. The
// key's create revision is the leader's fencing token: each of the leader's writes compares it,
// so a server that lost the role cannot write as leader any more.

import { EventEmitter } from 'node:events';
import type { EtcdClient } from './etcd-client.js';

export interface ElectionOptions {
  key: string;
  /** This server's name in the leader key (shown by status and logs). */
  id: string;
  /** Session lease TTL in seconds: how long a dead leader holds the role. */
  ttlSeconds: number;
}

/** Emits 'elected' and 'deposed'. */
export class Election extends EventEmitter {
  private lease: string | undefined;
  /** Create revision of our leader key while we hold the role. */
  private fence: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When the last successful renewal happened: past the TTL we stop acting as leader. */
  private renewedAt = 0;
  private busy = false;

  constructor(
    private readonly etcd: EtcdClient,
    readonly opts: ElectionOptions,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.fence !== undefined;
  }

  /** The compare a leader-only write carries. */
  get fencing(): { key: string; revision: number } | undefined {
    return this.fence === undefined ? undefined : { key: this.opts.key, revision: this.fence };
  }

  start(): void {
    const every = Math.max(200, Math.floor((this.opts.ttlSeconds * 1000) / 3));
    const tick = (): void => {
      if (this.stopped) return;
      void this.step().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, every);
      });
    };
    tick();
  }

  /** Campaign now (e.g. the leader key was just deleted). */
  poke(): void {
    if (!this.isLeader) void this.step();
  }

  private depose(why: string): void {
    if (this.fence === undefined) return;
    this.fence = undefined;
    this.emit('deposed', why);
  }

  private async step(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (this.lease) {
        const ttl = (await this.etcd.keepAlive([this.lease])).get(this.lease) ?? 0;
        if (ttl <= 0) {
          this.lease = undefined;
          this.depose('session lease expired');
        } else this.renewedAt = Date.now();
      }
      if (!this.lease) {
        this.lease = await this.etcd.grant(this.opts.ttlSeconds);
        this.renewedAt = Date.now();
      }
      if (this.fence !== undefined) {
        // Someone deleted our key (an operator, etcdctl del): we are no longer the leader.
        const kv = await this.etcd.get(this.opts.key);
        if (!kv || kv.createRevision !== this.fence) this.depose('leader key is gone');
      }
      if (!this.isLeader) {
        const t = await this.etcd.txn(
          [{ key: this.opts.key, target: 'CREATE', result: 'EQUAL', revision: 0 }],
          [{ put: { key: this.opts.key, value: this.opts.id, lease: this.lease } }],
          [],
          'campaign for the LB-driving role',
        );
        let fence = t.succeeded ? t.revision : undefined;
        if (fence === undefined) {
          // Our own key, still bound to our lease (we stepped down while etcd was unreachable
          // and the lease survived): the role is still ours.
          const kv = await this.etcd.get(this.opts.key);
          if (kv && kv.value === this.opts.id && kv.lease === this.lease) fence = kv.createRevision;
        }
        if (fence !== undefined && !this.stopped) {
          this.fence = fence;
          this.emit('elected');
        }
      }
    } catch {
      // etcd unreachable: a leader keeps the role only while its lease can still be alive.
      if (this.isLeader && Date.now() - this.renewedAt > this.opts.ttlSeconds * 1000) this.depose('session lease could not be renewed');
    } finally {
      this.busy = false;
    }
  }

  /** Hands the role over at once (clean shutdown) instead of after a TTL. */
  async resign(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const fence = this.fence;
    this.depose('resigned');
    if (fence !== undefined) {
      await this.etcd
        .txn([{ key: this.opts.key, target: 'CREATE', result: 'EQUAL', revision: fence }], [{ del: { key: this.opts.key } }], [], 'resign')
        .catch(() => undefined);
    }
    if (this.lease) await this.etcd.revoke(this.lease).catch(() => undefined);
  }
}
