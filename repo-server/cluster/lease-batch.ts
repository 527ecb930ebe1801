// Lease renewals on etcd's JSON gateway, batched: renewals asked for within a few milliseconds
// go out as one keepalive request. The gateway's way costs a request (and a connection) per
// batch, so it is the fallback of the keepalive stream (lease-stream.ts) and the path of
// renewals a heartbeat waits for: it tries every member within etcd's timeout.

import type { EtcdClient } from './etcd-client.js';

/** Collects lease renewals for a few ms and sends them as one keepalive request. */
export class LeaseBatcher {
  private pending = new Map<string, { resolve: (ttl: number) => void; reject: (e: unknown) => void }[]>();
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly etcd: EtcdClient,
    private readonly windowMs = 5,
  ) {}

  renew(lease: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const list = this.pending.get(lease) ?? [];
      list.push({ resolve, reject });
      this.pending.set(lease, list);
      this.timer ??= setTimeout(() => void this.flush(), this.windowMs);
    });
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      try {
        const ttls = await this.etcd.keepAlive(chunk);
        for (const id of chunk) for (const w of batch.get(id)!) w.resolve(ttls.get(id) ?? 0);
      } catch (err) {
        for (const id of chunk) for (const w of batch.get(id)!) w.reject(err);
      }
    }
  }
}
