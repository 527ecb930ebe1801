// The swap engine: for each step of the plan, gate → move weights → wait for the LB to follow
// → record. A gate that fails before the first move leaves traffic untouched ("refused"); one
// that fails later puts traffic back where it was before the swap ("reverted"). The old color
// stays registered at weight 0, so rollback is one weight change.

import { setTimeout as sleep } from 'node:timers/promises';
import { Conflict, Refused, UpstreamFailed } from '../model/errors.js';
import { KeyedMutex } from '../../lib/concurrency.js';
import { checkGate, type GateOptions, type GateResult } from './gate.js';
import type { LbSync } from './lb-sync.js';
import type { Color, SwapRecord, SwapStep, Traffic, Weights } from './model.js';
import type { Registry } from './registry.js';
import type { SwapPlan } from './strategy.js';

export interface SwapRequest extends SwapPlan {
  to: Color;
  minHealthy?: number;
  user: string;
}

/** The gate said no; `record` is the evidence: the recorded attempt with every unit's verdict. */
export class GateRefused extends Refused {
  constructor(readonly record: SwapRecord) {
    super(`swap of ${record.service} to ${record.to} refused: ${record.reason ?? 'gate failed'}`);
  }
}

export function trafficFor(to: Color, percent: number, from: Traffic): Traffic {
  const on = (c: Color): number => (c === to ? percent : 100 - percent);
  const weights: Weights = { blue: on('blue'), green: on('green') };
  return { active: percent === 100 ? to : (from.active ?? to), weights };
}

export function describeGate(step: SwapStep): string {
  const g = step.gate;
  if (!g) return 'gate failed';
  const bad = g.units.filter((u) => !(u.alive && u.reported === 'healthy' && u.probe !== 'failed')).map((u) => `${u.node}: ${u.detail ?? u.probe}`);
  return `${g.healthy} of ${g.required} required ${g.color} units healthy${bad.length ? ` (${bad.join('; ')})` : ''}`;
}

/** What a swap or rollback would do now: the weights after each step and the gate's verdict. */
export interface SwapPreview {
  service: string;
  kind: 'swap' | 'rollback';
  to: Color;
  strategy: string;
  from: Traffic;
  steps: Array<{ weight: number; traffic: Traffic }>;
  /** The first step's gate, as the real swap would run it now (none: a forced rollback). */
  gate?: GateResult;
  /** Why it would be refused (the gate's reasons, or no earlier state to roll back to). */
  refused?: string;
}

export class SwapEngine {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly registry: Registry,
    private readonly lb: LbSync,
    private readonly gateOptions: Omit<GateOptions, 'alive'>,
  ) {}

  private gate(service: string, color: Color, minHealthy: number | undefined) {
    return checkGate(this.registry.get(service), color, minHealthy, { ...this.gateOptions, alive: (u) => this.registry.alive(u) });
  }

  private stamp(): string {
    return new Date(this.registry.now()).toISOString();
  }

  /** Moves traffic and waits for the LB; on an LB failure the registry goes back to `back`. */
  private async move(service: string, traffic: Traffic, back: Traffic, previous?: Traffic): Promise<void> {
    this.registry.setTraffic(service, traffic, previous);
    try {
      await this.lb.sync();
    } catch (err) {
      this.registry.setTraffic(service, back);
      await this.lb.sync().catch(() => undefined);
      throw new UpstreamFailed(`load balancer did not take the change: ${(err as Error).message}`);
    }
  }

  swap(service: string, req: SwapRequest): Promise<SwapRecord> {
    return this.locks.run(service, async () => {
      const s = this.registry.get(service);
      const from: Traffic = { active: s.active, weights: { ...s.weights } };
      const started = this.stamp();
      const steps: SwapStep[] = [];
      const finish = (result: SwapRecord['result'], reason?: string): SwapRecord =>
        this.registry.record({ service, kind: 'swap', user: req.user, started, finished: this.stamp(), from, to: req.to, strategy: req.strategy, steps, result, ...(reason ? { reason } : {}) });
      for (const [i, percent] of req.steps.entries()) {
        const gate = await this.gate(service, req.to, req.minHealthy);
        const step: SwapStep = { weight: percent, at: this.stamp(), gate };
        steps.push(step);
        if (!gate.passed) {
          if (i === 0) throw new GateRefused(finish('refused', describeGate(step)));
          await this.move(service, from, from);
          throw new GateRefused(finish('reverted', `${describeGate(step)}; traffic put back`));
        }
        try {
          await this.move(service, trafficFor(req.to, percent, from), i === 0 ? from : this.current(service), i === 0 ? from : undefined);
        } catch (err) {
          finish('failed', (err as Error).message);
          throw err;
        }
        if (i < req.steps.length - 1 && req.waitMs > 0) await sleep(req.waitMs);
      }
      return finish('done');
    });
  }

  /** The swap's plan and the gate's verdict now, through the same gate; nothing moves. */
  async previewSwap(service: string, req: Omit<SwapRequest, 'user'>): Promise<SwapPreview> {
    const s = this.registry.get(service);
    const from: Traffic = { active: s.active, weights: { ...s.weights } };
    const gate = await this.gate(service, req.to, req.minHealthy);
    const step: SwapStep = { weight: req.steps[0] ?? 100, at: this.stamp(), gate };
    return {
      service, kind: 'swap', to: req.to, strategy: req.strategy, from,
      steps: req.steps.map((weight) => ({ weight, traffic: trafficFor(req.to, weight, from) })),
      gate,
      ...(gate.passed ? {} : { refused: describeGate(step) }),
    };
  }

  /** What rollback would do now (the same target and gate as `rollback`). */
  async previewRollback(service: string, force = false): Promise<SwapPreview> {
    const s = this.registry.get(service);
    const from: Traffic = { active: s.active, weights: { ...s.weights } };
    if (!s.previous) return { service, kind: 'rollback', to: s.active ?? 'blue', strategy: 'rollback', from, steps: [], refused: `service '${service}' has no earlier traffic state to roll back to` };
    const target = s.previous;
    const to: Color = target.weights.blue >= target.weights.green ? 'blue' : 'green';
    const gate = force ? undefined : await this.gate(service, to, 1);
    const step: SwapStep = { weight: target.weights[to], at: this.stamp(), ...(gate ? { gate } : {}) };
    return {
      service, kind: 'rollback', to, strategy: 'rollback', from,
      steps: [{ weight: target.weights[to], traffic: { active: target.active, weights: { ...target.weights } } }],
      ...(gate ? { gate } : {}),
      ...(gate && !gate.passed ? { refused: describeGate(step) } : {}),
    };
  }

  rollback(service: string, user: string, force = false): Promise<SwapRecord> {
    return this.locks.run(service, async () => {
      const s = this.registry.get(service);
      if (!s.previous) throw new Conflict(`service '${service}' has no earlier traffic state to roll back to`);
      const from: Traffic = { active: s.active, weights: { ...s.weights } };
      const target = s.previous;
      const to: Color = target.weights.blue >= target.weights.green ? 'blue' : 'green';
      const started = this.stamp();
      const steps: SwapStep[] = [];
      const finish = (result: SwapRecord['result'], reason?: string): SwapRecord =>
        this.registry.record({ service, kind: 'rollback', user, started, finished: this.stamp(), from, to, strategy: 'rollback', steps, result, ...(reason ? { reason } : {}) });
      // Rolling back onto a color with nothing healthy would trade a bad state for an outage.
      const gate = force ? undefined : await this.gate(service, to, 1);
      const step: SwapStep = { weight: target.weights[to], at: this.stamp(), ...(gate ? { gate } : {}) };
      steps.push(step);
      if (gate && !gate.passed) throw new GateRefused(finish('refused', describeGate(step)));
      try {
        await this.move(service, target, from, from);
      } catch (err) {
        finish('failed', (err as Error).message);
        throw err;
      }
      return finish('done');
    });
  }

  private current(service: string): Traffic {
    const s = this.registry.get(service);
    return { active: s.active, weights: { ...s.weights } };
  }
}
