// Every server's watched, in-memory copy of the registry on etcd: loaded once with one range
// read, then kept current by a watch from that revision (etcd pushes each change; nothing
// polls). Reads (status, the gate, the LB's desired state) come from here. While etcd is
// unreachable the copy simply stops changing: nobody expires units or moves traffic (fail static).
// The same watch feeds live views ('feed', RegistryChange): every server of a group sees every
// write, so each streams the same registry and swap changes.

import { EventEmitter } from 'node:events';
import type { EtcdClient, KeyValue, WatchEvent } from '../../cluster/etcd-client.js';
import type { RegistryChange } from '../change-feed.js';
import type { ServiceRecord, SwapRecord, Unit } from '../model.js';
import { parseKey, type Keys, type ServiceSettings, type SwapState } from './keys.js';

const AUDIT_KEEP = 1000;

interface Versioned<T> {
  value: T;
  rev: number;
}

/**
 * Emits 'change' (what the LB should do may differ), 'swaps', 'audit' (record), 'leader-gone'
 * and 'feed' (RegistryChange, for live views; only with a listener).
 */
export class Replica extends EventEmitter {
  readonly settings = new Map<string, Versioned<ServiceSettings>>();
  readonly units = new Map<string, Map<string, Versioned<Unit>>>();
  /** `svc/node` → the lease its alive key is bound to, and when this server last saw it renewed. */
  readonly alive = new Map<string, { lease: string; seen: number }>();
  /** `svc/node` → when this server saw the unit's alive key go (for forgetting long-dead units). */
  readonly deadSince = new Map<string, number>();
  readonly swaps = new Map<string, Versioned<SwapState>>();
  readonly audit = new Map<string, SwapRecord[]>();
  leader: { id: string; createRevision: number } | undefined;
  revision = 0;
  private watch: { close(): void } | undefined;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private closed = false;

  constructor(
    private readonly etcd: EtcdClient,
    readonly keys: Keys,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const { kvs, revision } = await this.etcd.range(this.keys.prefix, true);
    this.clear();
    this.apply(kvs.map((kv) => ({ type: 'put', kv })), revision, false);
    this.watch = this.etcd.watch(
      this.keys.prefix,
      revision + 1,
      (events, rev) => this.apply(events, rev, true),
      () => void this.restart(),
    );
    this.emit('change');
    this.emit('swaps');
    // Reloaded after a compaction: live views refresh every service.
    if (this.listenerCount('feed') > 0) for (const service of this.settings.keys()) this.emit('feed', { type: 'service', service } satisfies RegistryChange);
  }

  /** The revision we watched from was compacted away: load again. */
  private async restart(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      try {
        await this.start();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private clear(): void {
    this.settings.clear();
    this.units.clear();
    this.alive.clear();
    this.swaps.clear();
    this.audit.clear();
    this.leader = undefined;
  }

  close(): void {
    this.closed = true;
    this.watch?.close();
  }

  private apply(events: WatchEvent[], revision: number, live: boolean): void {
    let changed = false;
    let swaps = false;
    const now = Date.now();
    // Live views hear each touched service once per watch answer, after the copy has it.
    const feed = live && this.listenerCount('feed') > 0;
    const touched = new Set<string>();
    const removed = new Set<string>();
    const recorded: SwapRecord[] = [];
    for (const { type, kv } of events) {
      const k = parseKey(this.keys.prefix, kv.key);
      if (!k) continue;
      const del = type === 'delete';
      switch (k.kind) {
        case 'service':
          if (del) this.settings.delete(k.service);
          else this.settings.set(k.service, { value: JSON.parse(kv.value) as ServiceSettings, rev: kv.modRevision });
          if (del) removed.add(k.service);
          else removed.delete(k.service);
          touched.add(k.service);
          changed = true;
          break;
        case 'unit': {
          let m = this.units.get(k.service);
          if (del) m?.delete(k.node);
          else {
            if (!m) this.units.set(k.service, (m = new Map()));
            const u = JSON.parse(kv.value) as Unit;
            m.set(k.node, { value: u, rev: kv.modRevision });
          }
          if (del && m?.size === 0) this.units.delete(k.service);
          touched.add(k.service);
          changed = true;
          break;
        }
        case 'alive': {
          const id = `${k.service}/${k.node}`;
          if (del) {
            this.alive.delete(id);
            this.deadSince.set(id, now);
          } else {
            this.alive.set(id, { lease: kv.lease, seen: now });
            this.deadSince.delete(id);
          }
          touched.add(k.service);
          changed = true;
          break;
        }
        case 'swap':
          if (del) this.swaps.delete(k.service);
          else this.swaps.set(k.service, { value: JSON.parse(kv.value) as SwapState, rev: kv.modRevision });
          swaps = true;
          break;
        case 'audit': {
          if (del) break;
          const rec = JSON.parse(kv.value) as SwapRecord;
          const list = this.audit.get(k.service) ?? [];
          list.push(rec);
          if (list.length > AUDIT_KEEP) list.splice(0, list.length - AUDIT_KEEP);
          this.audit.set(k.service, list);
          if (live) this.emit('audit', rec);
          if (feed) recorded.push(rec);
          break;
        }
        case 'leader':
          this.leader = del ? undefined : { id: kv.value, createRevision: kv.createRevision };
          if (del && live) this.emit('leader-gone');
          break;
        case 'auditseq':
          break;
      }
    }
    this.revision = Math.max(this.revision, revision);
    this.waiters = this.waiters.filter((w) => (w.rev <= this.revision ? (w.resolve(), false) : true));
    if (live && changed) this.emit('change');
    if (live && swaps) this.emit('swaps');
    if (feed) {
      for (const service of touched) if (!removed.has(service)) this.emit('feed', { type: 'service', service } satisfies RegistryChange);
      for (const service of removed) this.emit('feed', { type: 'removed', service } satisfies RegistryChange);
      for (const record of recorded) this.emit('feed', { type: 'recorded', record } satisfies RegistryChange);
    }
  }

  /** Resolves once the copy holds revision `rev` (our own write came back), or after `timeoutMs`. */
  waitFor(rev: number, timeoutMs = 3000): Promise<void> {
    if (rev <= this.revision) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push({
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  /** Waits until the copy has everything etcd had when this was called. */
  async catchUp(): Promise<void> {
    const { revision } = await this.etcd.range(this.keys.leader);
    await this.waitFor(revision);
  }

  isAlive(u: Pick<Unit, 'service' | 'node'>): boolean {
    return this.alive.has(`${u.service}/${u.node}`);
  }

  service(name: string): ServiceRecord | undefined {
    const s = this.settings.get(name)?.value;
    if (!s) return undefined;
    const units = [...(this.units.get(name)?.values() ?? [])].map(({ value }) => {
      const seen = this.alive.get(`${name}/${value.node}`)?.seen;
      return seen !== undefined && seen > value.lastSeen ? { ...value, lastSeen: seen } : value;
    });
    return { ...s, units: units.sort((a, b) => a.node.localeCompare(b.node)) };
  }

  serviceNames(): string[] {
    return [...this.settings.keys()].sort();
  }

  static kvRevision(kv: KeyValue | undefined): number {
    return kv?.modRevision ?? 0;
  }
}
