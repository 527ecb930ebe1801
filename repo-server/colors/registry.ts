// The color registry: per service, its units (TTL leases renewed by agent heartbeats), the
// active color, the traffic weights and the audit log of swaps. Heartbeats only touch memory;
// anything an operator would miss after a restart (membership, health, traffic, history) is
// saved through the RegistryStore. A known unit's unchanged heartbeat is O(1) and allocates
// nothing (an index by node, lastSeen renewed in place): at 10,000 units that is 5,000 a second.
//
// Saves: the whole registry is one document (2 MB at 10,000 units). Traffic, swap records and
// operators' edits are saved at once, as before; membership churn from heartbeats and expiries
// (10,000 units registering within 2 s: one change each) is saved at most once a SAVE_EVERY_MS.
// Saving after every such change meant back-to-back saves during a fleet's start, ~1.6 s of
// CPU for 10,000 registrations, and a server seconds behind its heartbeats (docs/benchmarks.md).
// A restart gives every unit a fresh TTL anyway, and a unit unknown to it registers again with
// its next heartbeat, so a second's delay loses nothing an agent does not restore.

import { EventEmitter } from 'node:events';
import { Mutex } from '../../lib/concurrency.js';
import { NotFound } from '../model/errors.js';
import type { Color, HeartbeatInput, ServiceEdit, ServiceRecord, SwapRecord, Traffic, Unit } from './model.js';
import type { RegistrySnapshot, RegistryStore } from './registry-store.js';
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
/** Membership churn (registrations, report changes, expiries) is saved at most this often. */
export const SAVE_EVERY_MS = 1000;

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
  /** A coalesced save is due (membership churn); when the last save started (wall clock). */
  private saveTimer: NodeJS.Timeout | undefined;
  private lastSaveAt = -Infinity;
  /** The save waiting for the one being written, if any. */
  private queued: Promise<void> | undefined;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** When the last sweep ran: a unit alive then and not now has just expired. */
  private lastSweepAt = 0;
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
    r.lastSweepAt = now;
    r.sweeper = setInterval(() => r.sweep(), Math.min(1000, options.ttlMs / 4));
    r.sweeper.unref();
    return r;
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
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
    this.changed(service, 'churn');
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

  configure(name: string, edit: ServiceEdit): ServiceRecord {
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

  /**
   * Expired leases leave the LB pool; long-dead units are forgotten. Runs every second: it reads
   * each unit's lastSeen and allocates nothing unless something expired (a set of 10,000 keys a
   * second was garbage that outlived the young generation).
   */
  sweep(): void {
    const now = this.now();
    const before = this.lastSweepAt;
    this.lastSweepAt = now;
    const { ttlMs, forgetMs } = this.options;
    let touched: Set<string> | undefined;
    for (const s of this.services.values()) {
      let forget = false;
      for (const u of s.units) {
        // Alive at the last sweep (or registered since) and not now: expired in between.
        if (now - u.lastSeen > ttlMs && before - u.lastSeen <= ttlMs) {
          (touched ??= new Set()).add(s.name);
          this.emit('expired', u);
        }
        if (now - u.lastSeen > forgetMs) forget = true;
      }
      if (forget) {
        s.units = s.units.filter((u) => now - u.lastSeen <= forgetMs);
        this.reindex(s.name);
        (touched ??= new Set()).add(s.name);
      }
    }
    if (!touched) return;
    this.changed(undefined, 'churn');
    for (const service of touched) this.feed({ type: 'service', service });
  }

  /**
   * `service`: the one service that changed, told to live views (none: told by the caller).
   * `churn`: membership moved with the fleet (saved within SAVE_EVERY_MS); otherwise saved now.
   */
  private changed(service?: string, churn?: 'churn'): void {
    this.save(churn === undefined);
    this.emit('change');
    if (service !== undefined) this.feed({ type: 'service', service });
  }

  private save(now = true): void {
    this.dirty = true;
    if (this.closed) return;
    if (!now) {
      if (this.saveTimer) return;
      // Wall-clock time, not this.now (tests drive that one by hand).
      const wait = Math.max(0, this.lastSaveAt + SAVE_EVERY_MS - Date.now());
      this.saveTimer = setTimeout(() => {
        this.saveTimer = undefined;
        this.save();
      }, wait);
      return;
    }
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    // The in-memory state stays authoritative; a failed write is retried with the next change.
    this.flush().catch((err: unknown) => {
      this.dirty = true;
      this.emit('save-failed', err);
    });
  }

  /** The state to save, in arrays of its own: the registry may change while it is written. */
  private snapshot(): RegistrySnapshot {
    return { services: this.list().map((s) => ({ ...s, units: s.units.slice() })), history: this.history.slice() };
  }

  /**
   * Saves the latest state. Calls while a write runs share one write after it (not one each:
   * queued writes would each find the fleet's newest churn to save, back to back).
   */
  flush(): Promise<void> {
    this.queued ??= this.saves.run(async () => {
      this.queued = undefined;
      if (!this.dirty) return;
      this.dirty = false;
      this.lastSaveAt = Date.now();
      await this.store.save(this.snapshot());
    });
    return this.queued;
  }
}

const REPORTED = ['address', 'port', 'color', 'version', 'package', 'health', 'weight', 'healthPath'] as const;

/** Whether a heartbeat reports exactly what the unit reported last time. */
function sameReport(u: Unit, input: HeartbeatInput): boolean {
  for (const k of REPORTED) if (u[k] !== input[k]) return false;
  return true;
}
