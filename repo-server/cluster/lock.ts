// Named locks across the servers of a group, on etcd (the lease-backed recipe of etcd's own
// concurrency package): the lock is a key created only if absent and bound to a lease that the
// holder keeps alive while it works. A holder that dies (kill -9, a lost host) stops renewing,
// its lease runs out and etcd deletes the key: the lock is free again after at most the TTL,
// with nobody having to clean up. Used to serialise publishes of one distribution group-wide.
//
// Callers on one server queue on a local FIFO first (KeyedMutex), so only one request per
// server polls etcd for a name. Waiters poll (every 100 ms, bounded by `waitMs`); a watch would
// save requests but publishes are seconds long and rare.

import { KeyedMutex } from '../../lib/concurrency.js';
import { Unavailable } from '../model/errors.js';
import type { EtcdClient } from './etcd-client.js';

export interface EtcdLockOptions {
  /** Key prefix of the locks (default /debpkg/locks/). */
  prefix?: string;
  /** Lease TTL in seconds: how long a dead holder keeps the lock. */
  ttlSeconds: number;
  /** How long to wait for a held lock before giving up with a 503 (default 10 minutes). */
  waitMs?: number;
  /** Runs once the lock is held, before the work (e.g. the replica catching up with etcd). */
  onAcquired?: () => Promise<void>;
}

export class EtcdLocks {
  private readonly local = new KeyedMutex();
  private readonly prefix: string;

  constructor(
    private readonly etcd: EtcdClient,
    private readonly opts: EtcdLockOptions,
  ) {
    this.prefix = opts.prefix ?? '/debpkg/locks/';
  }

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.local.run(name, () => this.held(name, fn));
  }

  private async held<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = this.prefix + encodeURIComponent(name);
    const lease = await this.etcd.grant(this.opts.ttlSeconds);
    let renewing: NodeJS.Timeout | undefined;
    let fence = 0;
    try {
      const renew = (): void => {
        renewing = setTimeout(
          () => {
            this.etcd
              .keepAlive([lease])
              .catch(() => undefined)
              .finally(() => renew());
          },
          Math.max(300, (this.opts.ttlSeconds * 1000) / 3),
        );
        renewing.unref();
      };
      renew();
      const deadline = Date.now() + (this.opts.waitMs ?? 600_000);
      for (;;) {
        const t = await this.etcd.txn([{ key, target: 'CREATE', result: 'EQUAL', revision: 0 }], [{ put: { key, value: `${process.pid}`, lease } }], [], `take the lock ${name}`);
        if (t.succeeded) {
          fence = t.revision;
          break;
        }
        if (Date.now() > deadline) throw new Unavailable(`lock ${name} is held by another server for longer than ${Math.round((this.opts.waitMs ?? 600_000) / 1000)} s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await this.opts.onAcquired?.();
      return await fn();
    } finally {
      if (renewing) clearTimeout(renewing);
      if (fence) await this.etcd.txn([{ key, target: 'CREATE', result: 'EQUAL', revision: fence }], [{ del: { key } }], [], `release the lock ${name}`).catch(() => undefined);
      // Revoking also deletes the key if the release above did not reach etcd.
      await this.etcd.revoke(lease).catch(() => undefined);
    }
  }
}
