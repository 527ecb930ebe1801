// Swaps in a group of servers. Any server takes the request and records it in swaps/<svc>
// (create-if-absent: one swap per service at a time); only the elected LB driver runs it, one
// recorded phase at a time, each transition a transaction fenced by its leadership and by the
// record's revision. A new leader finds the record and carries on from its phase; the
// requesting server answers once the audit record that closes the swap appears.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Election } from '../../cluster/election.js';
import type { Compare, EtcdClient, Op } from '../../cluster/etcd-client.js';
import { Conflict, UpstreamFailed } from '../../model/errors.js';
import { checkGate, type GateOptions } from '../gate.js';
import type { Color, SwapRecord, SwapResult, SwapStep, Traffic } from '../model.js';
import type { LbDriver, Swapper } from '../registry-api.js';
import { describeGate, GateRefused, trafficFor, type SwapRequest } from '../swap.js';
import type { EtcdRegistry } from './etcd-registry.js';
import type { SwapState } from './keys.js';

type Log = (msg: string, detail?: Record<string, unknown>) => void;

const stamp = (): string => new Date().toISOString();

const GAVE_UP = 'etcd committed the request only after the requester had given up (answered 503): nothing was moved';

/**
 * A recorded swap no driver has taken yet whose requester answered 503 (`expires` passed): it
 * must never run. Whoever sees it first (the driver, or the next requester) closes it as refused.
 */
function abandoned(st: SwapState, now: number): boolean {
  return st.drivers.length === 0 && now > st.expires;
}

/** The audit record that closes `st`. */
function closingRecord(st: SwapState, result: SwapResult, reason?: string): Omit<SwapRecord, 'id'> {
  return { service: st.service, kind: st.kind, user: st.user, started: st.started, finished: stamp(), from: st.from, to: st.to, strategy: st.strategy, steps: st.steps, result, ...(reason ? { reason } : {}), ref: st.ref };
}

export class EtcdSwaps implements Swapper {
  private readonly driving = new Set<string>();

  constructor(
    private readonly etcd: EtcdClient,
    private readonly registry: EtcdRegistry,
    private readonly election: Election,
    private readonly lb: LbDriver,
    private readonly gateOptions: Omit<GateOptions, 'alive'>,
    private readonly log: Log,
  ) {}

  private get replica() {
    return this.registry.replica;
  }
  private get k() {
    return this.replica.keys;
  }

  // ---- requester side (any server) ----

  swap(service: string, req: SwapRequest): Promise<SwapRecord> {
    const s = this.registry.get(service);
    const from: Traffic = { active: s.active, weights: { ...s.weights } };
    return this.request(service, s, {
      kind: 'swap',
      to: req.to,
      strategy: req.strategy,
      user: req.user,
      from,
      targets: req.steps.map((p) => trafficFor(req.to, p, from)),
      weights: req.steps,
      ...(req.minHealthy !== undefined ? { minHealthy: req.minHealthy } : {}),
      waitMs: req.waitMs,
    });
  }

  rollback(service: string, user: string, force = false): Promise<SwapRecord> {
    const s = this.registry.get(service);
    if (!s.previous) return Promise.reject(new Conflict(`service '${service}' has no earlier traffic state to roll back to`));
    const target = s.previous;
    const to: Color = target.weights.blue >= target.weights.green ? 'blue' : 'green';
    return this.request(service, s, { kind: 'rollback', to, strategy: 'rollback', user, from: { active: s.active, weights: { ...s.weights } }, targets: [target], weights: [target.weights[to]], minHealthy: 1, ...(force ? { noGate: true } : {}), waitMs: 0 });
  }

  private async request(service: string, s: { name: string }, plan: Omit<SwapState, 'ref' | 'service' | 'started' | 'step' | 'phase' | 'steps' | 'drivers' | 'expires'>): Promise<SwapRecord> {
    const expires = Date.now() + this.etcd.timeoutMs;
    const state: SwapState = { ...plan, ref: randomUUID(), service: s.name, started: stamp(), step: 0, phase: 'gate', steps: [], drivers: [], expires };
    const settingsRev = this.replica.settings.get(service)?.rev ?? 0;
    // Subscribe before writing: the closing record may arrive before the txn's answer does.
    let onAudit: (r: SwapRecord) => void = () => undefined;
    const done = new Promise<SwapRecord>((resolve) => {
      onAudit = (r: SwapRecord): void => {
        if (r.ref !== state.ref) return;
        this.replica.off('audit', onAudit);
        resolve(r);
      };
      this.replica.on('audit', onAudit);
    });
    try {
      await this.record(service, state, settingsRev);
    } catch (err) {
      this.replica.off('audit', onAudit);
      throw err;
    }
    const rec = await done;
    if (rec.result === 'refused' || rec.result === 'reverted') throw new GateRefused(rec);
    if (rec.result === 'failed') throw new UpstreamFailed(rec.reason ?? 'the load balancer did not take the change');
    return rec;
  }

  /**
   * Writes swaps/<svc> if no swap is in flight. A record no driver ever took whose requester
   * has given up (etcd committed it only after the 503, e.g. once quorum came back) does not
   * count as in flight: it is closed as refused in the same transaction that records this one,
   * so the next swap is not told "in flight" until the driver gets round to it. Both that close
   * and the driver's compare the record's revision, so exactly one of them writes its audit
   * record; nothing but the record and the audit log changes (no traffic moves).
   */
  private async record(service: string, state: SwapState, settingsRev: number): Promise<void> {
    // `from` is what the registry holds now: a concurrent change makes the caller retry.
    const unchanged: Compare = { key: this.k.service(service), target: 'MOD', result: 'EQUAL', revision: settingsRev };
    const put: Op = { put: { key: this.k.swap(service), value: JSON.stringify(state) } };
    const create = (): Promise<{ succeeded: boolean }> => this.etcd.txn([{ key: this.k.swap(service), target: 'CREATE', result: 'EQUAL', revision: 0 }, unchanged], [put], [], `record the swap of ${service}`);
    if ((await create()).succeeded) return;
    let busy = await this.etcd.get(this.k.swap(service));
    // Bounded: each round is lost only to another writer of the record (a driver, a requester).
    for (let round = 0; busy && round < 3; round++) {
      const st = JSON.parse(busy.value) as SwapState;
      if (!abandoned(st, Date.now())) throw new Conflict(`a swap of ${service} is in flight (${st.ref}); wait for it or roll back after it`);
      const a = await this.registry.auditOps(service, closingRecord(st, 'refused', GAVE_UP));
      const t = await this.etcd.txn([{ key: this.k.swap(service), target: 'MOD', result: 'EQUAL', revision: busy.modRevision }, unchanged, a.compare], [...a.ops, put], [], `close the abandoned swap of ${service} and record this one`);
      if (t.succeeded) {
        this.log('swap refused: its requester had given up before etcd committed it', { service, ref: st.ref, closedBy: 'requester' });
        return;
      }
      busy = await this.etcd.get(this.k.swap(service));
      if (!busy) {
        // The driver closed it meanwhile: try the plain create once more.
        if ((await create()).succeeded) return;
        busy = await this.etcd.get(this.k.swap(service));
      }
    }
    if (busy) throw new Conflict(`a swap of ${service} is in flight (${(JSON.parse(busy.value) as SwapState).ref}); wait for it or roll back after it`);
    throw new Conflict(`service ${service} changed while the swap was requested; try again`);
  }

  // ---- driver side (the elected server only) ----

  /** Called on election and whenever swaps/* changes: drive every swap nobody here drives yet. */
  resumeAll(): void {
    if (!this.election.isLeader) return;
    for (const service of this.replica.swaps.keys()) {
      if (this.driving.has(service)) continue;
      this.driving.add(service);
      void this.drive(service)
        .catch((err: unknown) => this.log('swap driver stopped', { service, err: String(err) }))
        .finally(() => {
          this.driving.delete(service);
          // A new record may have arrived while this one was finishing.
          if (this.replica.swaps.has(service)) setTimeout(() => this.resumeAll(), 100).unref();
        });
    }
  }

  private fence(): Compare[] {
    const f = this.election.fencing;
    if (!f) throw new Conflict('no longer the LB-driving server');
    return [{ key: f.key, target: 'CREATE', result: 'EQUAL', revision: f.revision }];
  }

  /** Writes the next phase (and any other ops) if we still lead and nobody else moved the record. */
  private async advance(st: SwapState, rev: number, next: SwapState, ops: Op[] = []): Promise<number> {
    const t = await this.etcd.txn(
      [...this.fence(), { key: this.k.swap(st.service), target: 'MOD', result: 'EQUAL', revision: rev }],
      [{ put: { key: this.k.swap(st.service), value: JSON.stringify(next) } }, ...ops],
      [],
      `swap ${st.service}: ${next.phase} of step ${next.step + 1}`,
    );
    if (!t.succeeded) throw new Conflict(`swap ${st.service}: the record moved on or the lead was lost`);
    await this.replica.waitFor(t.revision);
    return t.revision;
  }

  private async drive(service: string): Promise<void> {
    const kv = await this.etcd.get(this.k.swap(service));
    if (!kv) return;
    let rev = kv.modRevision;
    let st = JSON.parse(kv.value) as SwapState;
    const me = this.election.opts.id;
    if (abandoned(st, Date.now())) return this.finish(st, rev, 'refused', GAVE_UP);
    if (st.drivers.at(-1) !== me) {
      const next = { ...st, drivers: [...st.drivers, me] };
      if (st.drivers.length > 0) this.log('resuming a swap a previous leader started', { service, ref: st.ref, phase: st.phase, step: st.step });
      rev = await this.advance(st, rev, next);
      st = next;
    }
    for (;;) {
      if (!this.election.isLeader) return;
      if (st.phase === 'gate') {
        const s = this.registry.get(service);
        const gate = st.noGate ? undefined : await checkGate(s, st.to, st.minHealthy, { ...this.gateOptions, alive: (u) => this.registry.alive(u) });
        const step: SwapStep = { weight: st.weights[st.step]!, at: stamp(), ...(gate ? { gate } : {}) };
        const steps = [...st.steps, step];
        if (gate && !gate.passed) {
          if (st.step === 0) return this.finish({ ...st, steps }, rev, 'refused', describeGate(step));
          return this.finish({ ...st, steps }, rev, 'reverted', `${describeGate(step)}; traffic put back`, st.from);
        }
        const target = st.targets[st.step]!;
        const next: SwapState = { ...st, steps, phase: 'weights' };
        // The traffic and the phase that says so are one write.
        const settings = await this.registry.update(service, (cur) => (cur ? { settings: { ...cur, active: target.active, weights: { ...target.weights }, ...(st.step === 0 ? { previous: st.from } : {}) } } : undefined), {
          compare: [...this.fence(), { key: this.k.swap(service), target: 'MOD', result: 'EQUAL', revision: rev }],
          ops: [{ put: { key: this.k.swap(service), value: JSON.stringify(next) } }],
        });
        rev = settings.revision;
        st = next;
      } else if (st.phase === 'weights') {
        try {
          await this.lb.sync();
        } catch (err) {
          const back = st.step === 0 ? st.from : st.targets[st.step - 1]!;
          return this.finish(st, rev, 'failed', `load balancer did not take the change: ${(err as Error).message}`, back);
        }
        const last = st.step === st.targets.length - 1;
        const next: SwapState = { ...st, phase: 'verify', until: Date.now() + (last ? 0 : st.waitMs) };
        rev = await this.advance(st, rev, next);
        st = next;
      } else {
        const left = (st.until ?? 0) - Date.now();
        if (left > 0) await sleep(Math.min(left, st.waitMs));
        if (!this.election.isLeader) return;
        if (st.step === st.targets.length - 1) return this.finish(st, rev, 'done');
        const next: SwapState = { ...st, step: st.step + 1, phase: 'gate' };
        delete next.until;
        rev = await this.advance(st, rev, next);
        st = next;
      }
    }
  }

  /** Closes the swap: the audit record and the record's removal in one write (traffic back too, if given). */
  private async finish(st: SwapState, rev: number, result: SwapResult, reason?: string, back?: Traffic): Promise<void> {
    const record = closingRecord(st, result, reason);
    const compare = [...this.fence(), { key: this.k.swap(st.service), target: 'MOD', result: 'EQUAL', revision: rev } as Compare];
    const ops: Op[] = [{ del: { key: this.k.swap(st.service) } }];
    if (back) {
      await this.registry.update(st.service, (cur) => (cur ? { settings: { ...cur, active: back.active, weights: { ...back.weights } }, audit: record } : undefined), { compare, ops });
      await this.lb.sync().catch((err: unknown) => this.log('load balancer update failed', { err: String(err) }));
    } else {
      const a = await this.registry.auditOps(st.service, record);
      const t = await this.etcd.txn([...compare, a.compare], [...ops, ...a.ops], [], `close the swap of ${st.service}`);
      if (!t.succeeded) throw new Conflict(`swap ${st.service}: closing lost a race`);
    }
    this.log('swap finished', { service: st.service, ref: st.ref, result, drivers: st.drivers });
  }
}
