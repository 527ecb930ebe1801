// Unit registrations on etcd, batched. A fleet starting at once sends thousands of first
// heartbeats within seconds; one lease grant and one transaction each (two Raft writes through
// the JSON gateway per unit) registered ~12–28 units/s on a loaded 2-core host. Here the
// registrations (and changed reports of known units) asked for within a few milliseconds are
// written together: the new units' leases granted concurrently on the server's gRPC connection
// (etcd commits concurrent proposals together), then every unit's record and its own alive key,
// bound to its own lease, in ONE transaction per batch. Every unit still gets its own answer:
// a batch etcd refuses (a lease gone meanwhile, too large) is split and retried until only the
// units at fault fail; with etcd unreachable every unit of the batch fails (503), none is
// answered as registered without its keys written.

import type { EtcdClient, Op } from '../../cluster/etcd-client.js';
import { Unavailable } from '../../model/errors.js';
import type { Unit } from '../model.js';
import type { Keys } from './keys.js';

export interface Registration {
  service: string;
  node: string;
  unit: Unit;
  /** A live lease the unit keeps (a changed report); none: a new lease is granted. */
  lease?: string;
}

export interface RegisterBatchOptions {
  ttlSeconds: number;
  /** Units per transaction: each costs two operations (etcd's --max-txn-ops, default 128 → 64). */
  maxUnits: number;
  /** How long a first registration waits for others to join its batch. */
  windowMs?: number;
  /** Batches written at once; registrations asked for meanwhile queue into the next ones. */
  maxInFlight?: number;
  /** Grants one lease (the gRPC connection, the gateway when that fails). */
  grant: (ttlSeconds: number) => Promise<string>;
  /** A lease granted for a unit, before its keys are written (a retry of the unit reuses it). */
  onGrant?: (r: Registration, lease: string) => void;
}

interface Waiting {
  reg: Registration;
  resolve: (done: { lease: string; revision: number }) => void;
  reject: (err: unknown) => void;
}

export class RegisterBatcher {
  /** What went to etcd: batches flushed, transactions sent (a split batch sends more), units written. */
  readonly stats = { batches: 0, txns: 0, units: 0 };
  private queue: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly windowMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly etcd: EtcdClient,
    private readonly keys: Keys,
    private readonly opts: RegisterBatchOptions,
  ) {
    this.windowMs = opts.windowMs ?? 5;
    this.maxInFlight = opts.maxInFlight ?? 2;
  }

  /** Writes the unit's record and alive key (bound to its lease); resolves once etcd committed them. */
  register(reg: Registration): Promise<{ lease: string; revision: number }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ reg, resolve, reject });
      if (this.queue.length >= this.opts.maxUnits) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.opts.maxUnits);
      this.inFlight++;
      this.stats.batches++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        // Whatever queued while etcd was busy goes out now, in full batches.
        if (this.queue.length > 0) this.flush();
      });
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    // Leases first, all at once; a unit whose grant failed fails alone.
    const granted = await Promise.allSettled(batch.map((w) => (w.reg.lease !== undefined ? Promise.resolve(w.reg.lease) : this.opts.grant(this.opts.ttlSeconds))));
    const ready: { w: Waiting; lease: string }[] = [];
    granted.forEach((g, i) => {
      const w = batch[i]!;
      if (g.status === 'rejected') return w.reject(g.reason);
      if (w.reg.lease === undefined) this.opts.onGrant?.(w.reg, g.value);
      ready.push({ w, lease: g.value });
    });
    await this.commit(ready);
  }

  /** One transaction for `items`; refused by etcd: halves, each retried, down to the unit at fault. */
  private async commit(items: { w: Waiting; lease: string }[]): Promise<void> {
    if (items.length === 0) return;
    const ops: Op[] = [];
    for (const { w, lease } of items) {
      const { service, node, unit } = w.reg;
      ops.push({ put: { key: this.keys.unit(service, node), value: JSON.stringify(unit) } }, { put: { key: this.keys.alive(service, node), value: node, lease } });
    }
    const what = items.length === 1 ? `heartbeat of ${items[0]!.w.reg.service}/${items[0]!.w.reg.node}` : `registration of ${items.length} units`;
    this.stats.txns++;
    try {
      const t = await this.etcd.txn([], ops, [], what);
      this.stats.units += items.length;
      for (const { w, lease } of items) w.resolve({ lease, revision: t.revision });
    } catch (err) {
      // Unreachable (or no answer in time): nothing is known to be written; every unit hears it.
      if (err instanceof Unavailable || items.length === 1) {
        for (const { w } of items) w.reject(err);
        return;
      }
      const half = Math.ceil(items.length / 2);
      await Promise.all([this.commit(items.slice(0, half)), this.commit(items.slice(half))]);
    }
  }
}
