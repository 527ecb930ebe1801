// Keeps the load balancer in step with the registry: applies are serialised and coalesced
// (a burst of heartbeat changes becomes one apply), and sync() resolves only once a state at
// least as new as the caller's has been applied.

import type { LbAdapter, LbState } from './lb/adapter.js';
import { Mutex } from '../../lib/concurrency.js';

export class LbSync {
  private requested = 0;
  private applied = 0;
  private readonly mutex = new Mutex();

  constructor(
    readonly adapter: LbAdapter | undefined,
    private readonly desired: () => LbState,
  ) {}

  sync(): Promise<void> {
    const wanted = ++this.requested;
    if (!this.adapter) return Promise.resolve();
    const adapter = this.adapter;
    return this.mutex.run(async () => {
      if (this.applied >= wanted) return;
      const generation = this.requested;
      await adapter.apply(this.desired());
      this.applied = generation;
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => undefined);
    await this.adapter?.close();
  }
}
