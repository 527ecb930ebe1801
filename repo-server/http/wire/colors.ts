// Color registry records → the API's JSON (../wire.ts): traffic, swap records with each step's
// gate verdicts, and the evidence a refused swap answers with. The domain (colors/) keeps its
// records in its own words; aptly's PascalCase is spelled here only.

import type { GateResult, HealthCheck, SwapRecord, SwapStep, Traffic } from '../../colors/model.js';
import type { GateRefused, SwapPreview } from '../../colors/swap.js';
import type { GateRefusedWire, GateWire, SwapPreviewWire, SwapStepWire, SwapWire, TrafficWire } from '../wire.js';

export function trafficWire(t: Traffic): TrafficWire;
export function trafficWire(t: Traffic | undefined): TrafficWire | null;
export function trafficWire(t: Traffic | undefined): TrafficWire | null {
  return t ? { Active: t.active, Weights: { ...t.weights } } : null;
}

/** A duration as the API takes it back: whole seconds as `2s`, else `250ms`. */
const durationWire = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

export const checkWire = (c: HealthCheck): { Interval: string; Fall: number; Rise: number; Timeout: string } => ({
  Interval: durationWire(c.intervalMs),
  Fall: c.fall,
  Rise: c.rise,
  Timeout: durationWire(c.timeoutMs),
});

const gateWire = (g: GateResult): GateWire => ({
  Color: g.color,
  Required: g.required,
  Healthy: g.healthy,
  Passed: g.passed,
  Units: g.units.map((u) => ({ Node: u.node, Alive: u.alive, Reported: u.reported, Probe: u.probe, ...(u.detail ? { Detail: u.detail } : {}) })),
});

const stepWire = (s: SwapStep): SwapStepWire => ({ Weight: s.weight, At: s.at, ...(s.gate ? { Gate: gateWire(s.gate) } : {}) });

export const swapWire = (r: SwapRecord): SwapWire => ({
  Id: r.id,
  Service: r.service,
  Kind: r.kind,
  User: r.user,
  Started: r.started,
  Finished: r.finished,
  From: trafficWire(r.from),
  To: r.to,
  Strategy: r.strategy,
  Steps: r.steps.map(stepWire),
  Result: r.result,
  ...(r.reason ? { Reason: r.reason } : {}),
});

/** A refused swap's evidence: the recorded attempt, every unit's verdict included. */
export const gateRefusedWire = (err: GateRefused): GateRefusedWire => ({ Code: 'gate_refused', Record: swapWire(err.record) });

export const swapPreviewWire = (p: SwapPreview): SwapPreviewWire => ({
  Service: p.service,
  Kind: p.kind,
  To: p.to,
  Strategy: p.strategy,
  From: trafficWire(p.from),
  Steps: p.steps.map((s) => ({ Weight: s.weight, Traffic: trafficWire(s.traffic) })),
  Gate: p.gate ? gateWire(p.gate) : null,
  Passed: p.refused === undefined,
  ...(p.refused ? { Reason: p.refused } : {}),
});
