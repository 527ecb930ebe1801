// The color registry on etcd. A unit's liveness is a lease: its first heartbeat grants one and
// binds alive/<svc>/<node> to it; later heartbeats only renew that lease (any server can: the
// lease id is in the key); first heartbeats arriving together are registered together, many
// units per transaction (register-batch.ts), each still on a lease of its own. A known unit's
// unchanged heartbeat is answered at once and its lease renewed behind it, on the server's one
// long-lived keepalive stream (cluster/lease-stream.ts; the gateway, batched, when that stream
// is down): the lease has TTL − interval of slack, and a renewal that finds the lease gone makes
// the next heartbeat register the unit again. When the heartbeats stop, etcd deletes the key at
// the TTL and the watch tells every server: no sweeper. Settings, traffic and the audit log
// change only through revision-checked transactions. Live views hear the replica's watch
// (ChangeFeed): every server of a group streams the same changes.

import type { Compare, EtcdClient, Op } from '../../cluster/etcd-client.js';
import { LeaseBatcher } from '../../cluster/lease-batch.js';
import type { LeaseStream } from '../../cluster/lease-stream.js';
import { Conflict, NotFound } from '../../model/errors.js';
import type { HeartbeatInput, ServiceRecord, SwapRecord, Traffic, Unit } from '../model.js';
import type { ChangeFeed, ColorRegistry, RegistryChange, ServiceEdit } from '../registry-api.js';
import type { ServiceSettings } from './keys.js';
import type { Replica } from './replica.js';
import { RegisterBatcher } from './register-batch.js';

const UNIT_FIELDS = ['address', 'port', 'color', 'version', 'package', 'health', 'weight', 'healthPath'] as const;

export interface EtcdRegistryOptions {
  ttlMs: number;
  intervalMs: number;
  /** Operations one transaction may carry (etcd's --max-txn-ops, default 128): a registration batch holds half as many units. */
  maxTxnOps?: number;
}

export class EtcdRegistry implements ColorRegistry, ChangeFeed {
  readonly now = Date.now;
  private readonly renewer: LeaseBatcher;
  /** Registrations and changed reports, many units per transaction (register-batch.ts). */
  readonly registrar: RegisterBatcher;
  /** Leases this server granted whose alive key the watch has not brought back yet. */
  private readonly granted = new Map<string, string>();

  /** Leases a background renewal found gone: the unit's next heartbeat registers it again. */
  private readonly lost = new Set<string>();
  /**
   * Whether background renewals are going through: the last one settled succeeded and none has
   * waited over a second. While not, heartbeats wait for their renewal, and an unreachable etcd
   * answers them 503 (the agent hears it; nobody is told "registered" on a lease nobody renewed).
   */
  private renewFailed = false;
  /** lease → when this server last sent its renewal. */
  private readonly renewedAt = new Map<string, number>();
  private renewOkAt = 0;
  private inFlight = 0;

  constructor(
    private readonly etcd: EtcdClient,
    readonly replica: Replica,
    readonly options: EtcdRegistryOptions,
    private readonly stream?: LeaseStream,
  ) {
    this.renewer = new LeaseBatcher(etcd);
    this.registrar = new RegisterBatcher(etcd, replica.keys, {
      ttlSeconds: this.ttlSeconds,
      // Two operations per unit; at most 128 units (a transaction also stays far below etcd's
      // 1.5 MiB request bound when --max-txn-ops is raised for the repo's commits).
      maxUnits: Math.min(128, Math.max(1, Math.floor((options.maxTxnOps ?? 128) / 2))),
      // On the gRPC connection the server keeps for renewals; the gateway when that is down.
      grant: (ttl) => (stream ? stream.grant(ttl).catch(() => etcd.grant(ttl)) : etcd.grant(ttl)),
      onGrant: (r, lease) => this.granted.set(`${r.service}/${r.node}`, lease),
    });
  }

  private get renewEveryMs(): number {
    return this.options.ttlMs / 4;
  }

  /** Background renewals work (see renewFailed) and keep up (none waits on the stream over 1 s). */
  private renewing(now: number): boolean {
    return !this.renewFailed && (this.inFlight === 0 || now - this.renewOkAt < 1000) && (this.stream?.lagMs() ?? 0) < 1000;
  }

  /**
   * A renewal the heartbeat waits for; its outcome tells whether background ones work again. On
   * the gateway (batched): it tries every member within etcd's timeout and says "unreachable"
   * in time for the agent to hear a 503, where a stalled stream would first have to be noticed.
   */
  private async renewNow(lease: string): Promise<number> {
    try {
      const ttl = await this.renewer.renew(lease);
      this.renewFailed = false;
      this.renewOkAt = Date.now();
      return ttl;
    } catch (err) {
      this.renewFailed = true;
      throw err;
    }
  }

  /** One renewal: on the stream, or batched on the gateway when the stream is down. TTL 0: gone. */
  private renew(lease: string): Promise<number> {
    if (!this.stream) return this.renewer.renew(lease);
    return this.stream.renew(lease).catch(() => this.renewer.renew(lease));
  }

  /** The replica's watch feeds it; lease renewals this server sends add `beat` changes. */
  subscribe(listener: (change: RegistryChange) => void): () => void {
    this.replica.on('feed', listener);
    return () => this.replica.off('feed', listener);
  }

  private get k() {
    return this.replica.keys;
  }

  get ttlSeconds(): number {
    return Math.max(1, Math.ceil(this.options.ttlMs / 1000));
  }

  alive(u: Unit): boolean {
    return this.replica.isAlive(u);
  }

  list(): ServiceRecord[] {
    return this.replica.serviceNames().map((n) => this.replica.service(n)!);
  }

  get(name: string): ServiceRecord {
    const s = this.replica.service(name);
    if (!s) throw new NotFound(`service '${name}' is not registered`);
    return s;
  }

  historyOf(service: string): SwapRecord[] {
    return this.replica.audit.get(service) ?? [];
  }

  /** Registrations (or report changes) in flight, by `svc/node`: a unit's later beats wait for its one. */
  private readonly writing = new Map<string, Promise<Unit>>();

  async heartbeat(service: string, node: string, input: HeartbeatInput): Promise<Unit> {
    const id = `${service}/${node}`;
    // An agent retrying (or a fleet starting at once: 10,000 first beats) while etcd is still
    // writing its unit: one registration per unit (batched with others'), then this beat as a renewal.
    const writing = this.writing.get(id);
    if (writing) {
      // Its failure (etcd unreachable) is this beat's answer too.
      await writing;
      return this.heartbeat(service, node, input);
    }
    return this.beat(id, service, node, input);
  }

  private beat(id: string, service: string, node: string, input: HeartbeatInput): Promise<Unit> {
    const have = this.replica.units.get(service)?.get(node)?.value;
    const unit: Unit = { service, node, ...input, lastSeen: this.now() };
    const same = have !== undefined && UNIT_FIELDS.every((f) => have[f] === unit[f]);
    const alive = this.replica.alive.get(id);
    if (same && alive && !this.lost.has(alive.lease) && this.renewing(unit.lastSeen)) {
      // Known, unchanged, alive: answered now; the renewal follows within milliseconds.
      alive.seen = unit.lastSeen;
      if (this.replica.listenerCount('feed') > 0) this.replica.emit('feed', { type: 'service', service, beat: true } satisfies RegistryChange);
      const lease = alive.lease;
      // Renewed at most every TTL/4 (clientv3 renews at TTL/3): a unit is then alive for at
      // least 3/4 of its TTL after its last beat, and a stopped one gone within its TTL.
      const last = this.renewedAt.get(lease);
      if (last !== undefined && unit.lastSeen - last < this.renewEveryMs) return Promise.resolve(unit);
      this.renewedAt.set(lease, unit.lastSeen);
      if (this.renewedAt.size > 2 * this.replica.alive.size + 1000) {
        // Leases of units gone or re-registered elsewhere: forgotten once they are old.
        for (const [l, at] of this.renewedAt) if (unit.lastSeen - at > this.options.ttlMs) this.renewedAt.delete(l);
      }
      this.inFlight++;
      this.renew(lease)
        .then((ttl) => {
          this.renewFailed = false;
          this.renewOkAt = Date.now();
          if (ttl <= 0) {
            this.lost.add(lease);
            this.renewedAt.delete(lease);
          }
        })
        // etcd unreachable: the lease runs on its TTL; heartbeats wait for renewals until one works.
        .catch(() => (this.renewFailed = true))
        .finally(() => this.inFlight--);
      return Promise.resolve(unit);
    }
    const write = this.write(id, service, node, unit, same, alive).finally(() => this.writing.delete(id));
    this.writing.set(id, write);
    return write;
  }

  /** The slow path: renew and wait, write the unit's record, or register it with a new lease. */
  private async write(id: string, service: string, node: string, unit: Unit, same: boolean, alive: { lease: string } | undefined): Promise<Unit> {
    const lease = (alive && !this.lost.has(alive.lease) ? alive.lease : undefined) ?? this.granted.get(id);
    if (alive) this.lost.delete(alive.lease);
    if (lease !== undefined && (await this.renewNow(lease)) > 0) {
      const a = this.replica.alive.get(id);
      if (a) a.seen = unit.lastSeen;
      if (same && this.replica.alive.has(id)) return unit;
      const t = await this.registrar.register({ service, node, unit, lease });
      await this.settle(service, unit, t.revision);
      return unit;
    }
    // A new lease (granted in the batch; `granted` keeps it for a retry of this unit).
    const t = await this.registrar.register({ service, node, unit });
    // A fresh lease has its whole TTL: the unit's next beats need no renewal for TTL/4.
    this.renewedAt.set(t.lease, unit.lastSeen);
    await this.settle(service, unit, t.revision);
    return unit;
  }

  /** Services whose settings this server is creating: their other new units wait, then look again. */
  private readonly settling = new Map<string, Promise<unknown>>();

  /** After a unit changed: the service exists, and a first healthy color takes the traffic. */
  private async settle(service: string, unit: Unit, rev: number): Promise<void> {
    await this.replica.waitFor(rev);
    this.granted.delete(`${service}/${unit.node}`);
    for (;;) {
      const s = this.replica.settings.get(service)?.value;
      if (s && (s.active !== null || unit.health !== 'healthy')) return;
      // A service's first units arrive together (a fleet starting): one revision-checked
      // update at a time per service here, not a hundred racing ones that retry each other out.
      const other = this.settling.get(service);
      if (!other) break;
      await other.catch(() => undefined);
    }
    const done = this.firstSettings(service, unit).finally(() => this.settling.delete(service));
    this.settling.set(service, done);
    await done;
  }

  private async firstSettings(service: string, unit: Unit): Promise<void> {
    await this.update(service, (cur) => {
      const next: ServiceSettings = cur ?? { name: service, previewAllow: ['127.0.0.0/8'], healthPath: unit.healthPath || '/healthz', active: null, weights: { blue: 0, green: 0 } };
      if (next.active !== null || unit.health !== 'healthy') return cur ? undefined : { settings: next };
      const from: Traffic = { active: next.active, weights: { ...next.weights } };
      const c = unit.color;
      const at = new Date(this.now()).toISOString();
      return {
        settings: { ...next, active: c, weights: { blue: c === 'blue' ? 100 : 0, green: c === 'green' ? 100 : 0 } },
        audit: { service, kind: 'initial', user: 'registry', started: at, finished: at, from, to: c, strategy: 'initial', steps: [{ weight: 100, at }], result: 'done', reason: 'first healthy unit of the service' },
      };
    });
  }

  /**
   * Read-modify-write of services/<svc> (and an audit record with it), checked against the
   * revision read: a concurrent writer makes the transaction fail and the edit is redone.
   */
  async update(
    service: string,
    edit: (cur: ServiceSettings | undefined) => { settings: ServiceSettings; audit?: Omit<SwapRecord, 'id'> } | undefined,
    extra: { compare?: Compare[]; ops?: Op[] } = {},
  ): Promise<{ settings: ServiceSettings | undefined; revision: number; record?: SwapRecord }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const kv = await this.etcd.get(this.k.service(service));
      const cur = kv ? (JSON.parse(kv.value) as ServiceSettings) : undefined;
      const out = edit(cur);
      if (!out) return { settings: cur, revision: kv?.modRevision ?? 0 };
      const compare: Compare[] = [{ key: this.k.service(service), target: 'MOD', result: 'EQUAL', revision: kv?.modRevision ?? 0 }, ...(extra.compare ?? [])];
      const ops: Op[] = [{ put: { key: this.k.service(service), value: JSON.stringify(out.settings) } }, ...(extra.ops ?? [])];
      let record: SwapRecord | undefined;
      if (out.audit) {
        const a = await this.auditOps(service, out.audit);
        compare.push(a.compare);
        ops.push(...a.ops);
        record = a.record;
      }
      const t = await this.etcd.txn(compare, ops, [], `update service ${service}`);
      if (t.succeeded) {
        await this.replica.waitFor(t.revision);
        return { settings: out.settings, revision: t.revision, ...(record ? { record } : {}) };
      }
      if (extra.compare?.length) {
        // The caller's own condition (leadership, the swap's revision) may be what failed.
        const again = await this.etcd.txn(extra.compare, [], [], 'check');
        if (!again.succeeded) throw new Conflict(`update of service ${service} lost a race (leadership or swap state changed)`);
      }
    }
    throw new Conflict(`service ${service} is changing too fast to update; try again`);
  }

  /** The next audit id and the ops that append the record under it (compare: nobody took the id). */
  async auditOps(service: string, rec: Omit<SwapRecord, 'id'>): Promise<{ compare: Compare; ops: Op[]; record: SwapRecord }> {
    const seq = await this.etcd.get(this.k.auditSeq(service));
    const id = (seq ? Number(seq.value) : 0) + 1;
    const record: SwapRecord = { id, ...rec };
    return {
      compare: { key: this.k.auditSeq(service), target: 'MOD', result: 'EQUAL', revision: seq?.modRevision ?? 0 },
      ops: [
        { put: { key: this.k.auditSeq(service), value: String(id) } },
        { put: { key: this.k.audit(service, id), value: JSON.stringify(record) } },
      ],
      record,
    };
  }

  async deregister(service: string, node: string): Promise<boolean> {
    const have = this.replica.units.get(service)?.get(node);
    if (!have) return false;
    const lease = this.replica.alive.get(`${service}/${node}`)?.lease;
    const t = await this.etcd.txn([], [{ del: { key: this.k.unit(service, node) } }, { del: { key: this.k.alive(service, node) } }], [], `deregister ${service}/${node}`);
    if (lease) await this.etcd.revoke(lease).catch(() => undefined);
    await this.replica.waitFor(t.revision);
    return true;
  }

  async configure(name: string, edit: ServiceEdit): Promise<ServiceRecord> {
    await this.update(name, (cur) => ({
      settings: { ...(cur ?? { name, previewAllow: ['127.0.0.0/8'], healthPath: '/healthz', active: null, weights: { blue: 0, green: 0 } }), ...edit },
    }));
    return this.get(name);
  }

  async remove(name: string): Promise<boolean> {
    if (!this.replica.settings.has(name)) return false;
    if (this.replica.swaps.has(name)) throw new Conflict(`service '${name}' has a swap in flight; wait for it to finish`);
    const t = await this.etcd.txn(
      [{ key: this.k.swap(name), target: 'CREATE', result: 'EQUAL', revision: 0 }],
      [{ del: { key: this.k.service(name) } }, { del: { key: `${this.k.prefix}units/${name}/`, prefix: true } }, { del: { key: `${this.k.prefix}alive/${name}/`, prefix: true } }],
      [],
      `remove service ${name}`,
    );
    if (!t.succeeded) throw new Conflict(`service '${name}' has a swap in flight; wait for it to finish`);
    await this.replica.waitFor(t.revision);
    return true;
  }

  /** Leader's housekeeping: unit records dead longer than `forgetMs` are dropped. */
  async forget(forgetMs: number): Promise<void> {
    const now = this.now();
    const ops: Op[] = [];
    for (const [service, m] of this.replica.units) {
      for (const node of m.keys()) {
        const id = `${service}/${node}`;
        if (this.replica.alive.has(id)) continue;
        const since = this.replica.deadSince.get(id);
        if (since === undefined) this.replica.deadSince.set(id, now);
        else if (now - since > forgetMs) ops.push({ del: { key: this.k.unit(service, node) } });
      }
    }
    for (let i = 0; i < ops.length; i += 100) await this.etcd.txn([], ops.slice(i, i + 100), [], 'forget dead units');
  }
}
