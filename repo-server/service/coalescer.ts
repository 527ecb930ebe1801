// Queued updates of one key fold into one run: requests that arrive while a run for the key
// is under way (or waiting for its lock) join the next batch, which handles them together in
// arrival order. Every request gets its own answer; a later request is never answered before
// an earlier one's effect is part of the state it sees.

import type { KeyedMutex } from '../../lib/concurrency.js';

export interface Queued<C, R> {
  change: C;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export class Coalescer<C, R> {
  /** The batch of each key that has not started yet. */
  private readonly pending = new Map<string, Queued<C, R>[]>();

  constructor(
    private readonly locks: Pick<KeyedMutex, 'run'>,
    /** Handles one batch under the key's lock; must settle every item (leftovers are rejected). */
    private readonly process: (key: string, batch: Queued<C, R>[]) => Promise<void>,
  ) {}

  submit(key: string, change: C): Promise<R> {
    const batch = this.pending.get(key);
    let resolve!: (r: R) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    if (batch) batch.push({ change, resolve, reject });
    else {
      // In the batch before its run is asked for: a lock that runs it at once finds it there.
      const fresh: Queued<C, R>[] = [{ change, resolve, reject }];
      this.pending.set(key, fresh);
      this.locks
        .run(key, async () => {
          // From here on, later requests form the next batch.
          if (this.pending.get(key) === fresh) this.pending.delete(key);
          try {
            await this.process(key, fresh);
          } catch (err) {
            for (const q of fresh) q.reject(err);
          }
        })
        .catch((err: unknown) => {
          // The lock itself failed (etcd without quorum): this batch never ran. Its requests get
          // the error (a 503 naming etcd), and later ones start a batch of their own. Unhandled,
          // this rejection ended the server process.
          if (this.pending.get(key) === fresh) this.pending.delete(key);
          for (const q of fresh) q.reject(err);
        });
    }
    return result;
  }

  /** Work queued on the key's lock after this call is ordered after every earlier submit. */
  barrier(key: string): void {
    this.pending.delete(key);
  }
}
