// The color registry: per service, its units (TTL leases renewed by agent heartbeats), the
// active color, the traffic weights and the audit log of swaps. Heartbeats only touch memory;
// anything an operator would miss after a restart (membership, health, traffic, history) is
// saved through the RegistryStore. A known unit's unchanged heartbeat is O(1) and allocates
// nothing (an index by node, lastSeen renewed in place): at 10,000 units that is 5,000 a second.

import { EventEmitter } from 'node:events';
import { Mutex } from '../../lib/concurrency.js';
import { NotFound } from '../model/errors.js';
import type { Color, HeartbeatInput, ServiceRecord, SwapRecord, Traffic, Unit } from './model.js';
import type { RegistryStore } from './registry-store.js';
import type { ChangeFeed, RegistryChange } from './change-feed.js';

/** The records live in model.ts (the gate and the store use them too); re-exported for callers. */
export type { HeartbeatInput, ServiceRecord, SwapRecord, SwapResult, SwapStep, Traffic } from './model.js';

export interface RegistryOptions {
  ttlMs: number;
  intervalMs: number;
  /** Dead units stay visible (Alive: false) this long before they are forgotten. */
  forgetMs: number;
  now?: () => number;
}

const HISTORY_KEEP = 1000;

/**
 * Emits 'change' whenever what the load balancer should do may have changed, 'expired' (unit)
 * when a lease runs out, 'recorded' (record) for every swap record (for /metrics), and 'feed'
 * (RegistryChange) for live views, which also hears lease renewals.
 */
export class Registry extends EventEmitter implements ChangeFeed {
  private readonly services = new Map<string, ServiceRecord>();
  /** service → node → the unit object held in that service's `units` (same object). */
  private readonly index = new Map<string, Map<string, Unit>>();
  private history: SwapRecord[] = [];
  private readonly saves = new Mutex();
  private dirty = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** Nodes alive at the last sweep, to notice expiries. */
  private aliveAtLastSweep = new Set<string>();
  readonly now: () => number;

  private constructor(
    private readonly store: RegistryStore,
    readonly options: RegistryOptions,
  ) {
    super();
    this.now = options.now ?? Date.now;
  }

  static async open(store: RegistryStore, options: RegistryOptions): Promise<Registry> {
    const r = new Registry(store, options);
    const snap = await store.load();
    const now = r.now();
    for (const s of snap?.services ?? []) {
      // A restart is not the units' fault: give every known unit one fresh TTL to heartbeat.
      r.services.set(s.name, { ...s, units: s.units.map((u) => ({ ...u, lastSeen: Math.max(u.lastSeen, now) })) });
      r.reindex(s.name);
    }
    r.history = snap?.history ?? [];
    r.aliveAtLastSweep = r.aliveKeys();
    r.sweeper = setInterval(() => r.sweep(), Math.min(1000, options.ttlMs / 4));
    r.sweeper.unref();
    return r;
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    return this.flush();
  }

  subscribe(listener: (change: RegistryChange) => void): () => void {
    this.on('feed', listener);
    return () => this.off('feed', listener);
  }

  private feed(change: RegistryChange): void {
    if (this.listenerCount('feed') > 0) this.emit('feed', change);
  }

  alive(u: Unit, now = this.now()): boolean {
    return now - u.lastSeen <= this.options.ttlMs;
  }

  list(): ServiceRecord[] {
    return [...this.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): ServiceRecord {
    const s = this.services.get(name);
    if (!s) throw new NotFound(`service '${name}' is not registered`);
    return s;
  }

  /** Rebuilds one service's node index from its `units` (after a bulk change to the array). */
  private reindex(name: string): void {
    const s = this.services.get(name);
    if (!s) {
      this.index.delete(name);
      return;
    }
    this.index.set(name, new Map(s.units.map((u) => [u.node, u])));
  }

  private ensure(name: string): ServiceRecord {
    let s = this.services.get(name);
    if (!s) {
      s = { name, previewAllow: ['127.0.0.0/8'], healthPath: '/healthz', active: null, weights: { blue: 0, green: 0 }, units: [] };
      this.services.set(name, s);
    }
    return s;
  }

  /** Register or renew a unit's lease. */
  heartbeat(service: string, node: string, input: HeartbeatInput): Unit {
    const s = this.ensure(service);
    const now = this.now();
    const before = this.index.get(service)?.get(node);
    if (before && this.alive(before, now) && sameReport(before, input)) {
      // The common case: a lease renewal. Nothing an LB, a store or a view keeps has changed.
      before.lastSeen = now;
      if (this.listenerCount('feed') > 0) this.feed({ type: 'service', service, beat: true });
      return before;
    }
    const unit: Unit = { service, node, ...input, lastSeen: now };
    if (before) s.units[s.units.indexOf(before)] = unit;
    else s.units.push(unit);
    let nodes = this.index.get(service);
    if (!nodes) this.index.set(service, (nodes = new Map()));
    nodes.set(node, unit);
    if (!before && s.healthPath === '/healthz' && unit.healthPath !== '/healthz') s.healthPath = unit.healthPath;
    // A service's very first healthy color takes the traffic: there is nothing to swap from.
    if (s.active === null && unit.health === 'healthy') this.setInitial(s, unit.color);
    this.aliveAtLastSweep.add(`${service}/${node}`);
    this.changed(service);
    return unit;
  }

  deregister(service: string, node: string): boolean {
    const s = this.services.get(service);
    const unit = this.index.get(service)?.get(node);
    if (!s || !unit) return false;
    s.units.splice(s.units.indexOf(unit), 1);
    this.index.get(service)!.delete(node);
    this.changed(service);
    return true;
  }

  configure(name: string, edit: Partial<Pick<ServiceRecord, 'listen' | 'previewAllow' | 'healthPath' | 'minHealthy'>>): ServiceRecord {
    const s = this.ensure(name);
    Object.assign(s, edit);
    this.changed(name);
    return s;
  }

  remove(name: string): boolean {
    const ok = this.services.delete(name);
    this.index.delete(name);
    if (ok) {
      this.changed();
      this.feed({ type: 'removed', service: name });
    }
    return ok;
  }

  /** Traffic moves go through here (swap engine only). */
  setTraffic(name: string, traffic: Traffic, previous?: Traffic): void {
    const s = this.get(name);
    s.active = traffic.active;
    s.weights = { ...traffic.weights };
    if (previous) s.previous = { active: previous.active, weights: { ...previous.weights } };
    this.changed(name);
  }

  record(r: Omit<SwapRecord, 'id'>): SwapRecord {
    const rec: SwapRecord = { id: (this.history.at(-1)?.id ?? 0) + 1, ...r };
    this.history.push(rec);
    this.emit('recorded', rec);
    this.feed({ type: 'recorded', record: rec });
    if (this.history.length > HISTORY_KEEP) this.history = this.history.slice(-HISTORY_KEEP);
    this.dirty = true;
    this.save();
    return rec;
  }

  historyOf(service: string): SwapRecord[] {
    return this.history.filter((h) => h.service === service);
  }

  private setInitial(s: ServiceRecord, c: Color): void {
    const from: Traffic = { active: s.active, weights: { ...s.weights } };
    s.active = c;
    s.weights = { blue: c === 'blue' ? 100 : 0, green: c === 'green' ? 100 : 0 };
    const at = new Date(this.now()).toISOString();
    this.record({ service: s.name, kind: 'initial', user: 'registry', started: at, finished: at, from, to: c, strategy: 'initial', steps: [{ weight: 100, at }], result: 'done', reason: 'first healthy unit of the service' });
  }

  private aliveKeys(): Set<string> {
    const now = this.now();
    const keys = new Set<string>();
    for (const s of this.services.values()) for (const u of s.units) if (this.alive(u, now)) keys.add(`${s.name}/${u.node}`);
    return keys;
  }

  /** Expired leases leave the LB pool; long-dead units are forgotten. */
  sweep(): void {
    const now = this.now();
    const alive = this.aliveKeys();
    const touched = new Set<string>();
    for (const k of this.aliveAtLastSweep) {
      if (alive.has(k)) continue;
      const [service, node] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
      touched.add(service);
      const unit = this.index.get(service)?.get(node);
      if (unit) this.emit('expired', unit);
    }
    this.aliveAtLastSweep = alive;
    for (const s of this.services.values()) {
      const keep = s.units.filter((u) => now - u.lastSeen <= this.options.forgetMs);
      if (keep.length !== s.units.length) {
        s.units = keep;
        this.reindex(s.name);
        touched.add(s.name);
      }
    }
    if (touched.size > 0) this.changed();
    for (const service of touched) this.feed({ type: 'service', service });
  }

  /** `service`: the one service that changed, told to live views (none: told by the caller). */
  private changed(service?: string): void {
    this.dirty = true;
    this.save();
    this.emit('change');
    if (service !== undefined) this.feed({ type: 'service', service });
  }

  private save(): void {
    // The in-memory state stays authoritative; a failed write is retried with the next change.
    this.flush().catch((err: unknown) => {
      this.dirty = true;
      this.emit('save-failed', err);
    });
  }

  /** Saves the latest state; concurrent calls collapse into one write. */
  flush(): Promise<void> {
    return this.saves.run(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await this.store.save({ services: this.list(), history: this.history });
    });
  }
}

const REPORTED = ['address', 'port', 'color', 'version', 'package', 'health', 'weight', 'healthPath'] as const;

/** Whether a heartbeat reports exactly what the unit reported last time. */
function sameReport(u: Unit, input: HeartbeatInput): boolean {
  for (const k of REPORTED) if (u[k] !== input[k]) return false;
  return true;
}
