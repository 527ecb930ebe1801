// The color registry's key layout on etcd, one place for every reader and writer:
//   <p>services/<svc>            service settings + traffic (active, weights, previous): revision-checked txns
//   <p>units/<svc>/<node>        a unit's last report (persistent: a dead unit stays visible, Alive false)
//   <p>alive/<svc>/<node>        bound to the unit's lease; its existence is the unit's liveness
//   <p>swaps/<svc>               the swap in flight: the recorded state machine a new leader resumes
//   <p>audit/<svc>/<id>          append-only audit log (ids from <p>auditseq/<svc>)
//   <p>leader                    the LB-driving server, bound to its session lease

import type { Color, HealthCheck, SwapStep, Traffic } from '../model.js';

export const DEFAULT_PREFIX = '/debpkg/colors/';

export interface Keys {
  prefix: string;
  service(svc: string): string;
  unit(svc: string, node: string): string;
  alive(svc: string, node: string): string;
  swap(svc: string): string;
  audit(svc: string, id: number): string;
  auditSeq(svc: string): string;
  leader: string;
}

export function keys(prefix = DEFAULT_PREFIX): Keys {
  return {
    prefix,
    service: (s) => `${prefix}services/${s}`,
    unit: (s, n) => `${prefix}units/${s}/${n}`,
    alive: (s, n) => `${prefix}alive/${s}/${n}`,
    swap: (s) => `${prefix}swaps/${s}`,
    audit: (s, id) => `${prefix}audit/${s}/${String(id).padStart(12, '0')}`,
    auditSeq: (s) => `${prefix}auditseq/${s}`,
    leader: `${prefix}leader`,
  };
}

export type ParsedKey =
  | { kind: 'service' | 'swap' | 'auditseq'; service: string }
  | { kind: 'unit' | 'alive'; service: string; node: string }
  | { kind: 'audit'; service: string; id: number }
  | { kind: 'leader' };

export function parseKey(prefix: string, key: string): ParsedKey | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const parts = key.slice(prefix.length).split('/');
  const [kind, a, b] = parts;
  if (kind === 'leader' && parts.length === 1) return { kind: 'leader' };
  if (!a) return undefined;
  if ((kind === 'services' || kind === 'swaps' || kind === 'auditseq') && parts.length === 2) {
    return { kind: kind === 'services' ? 'service' : kind === 'swaps' ? 'swap' : 'auditseq', service: a };
  }
  if ((kind === 'units' || kind === 'alive') && b && parts.length === 3) return { kind: kind === 'units' ? 'unit' : 'alive', service: a, node: b };
  if (kind === 'audit' && b && parts.length === 3) return { kind: 'audit', service: a, id: Number(b) };
  return undefined;
}

/** What services/<svc> holds: the ServiceRecord minus its units. */
export interface ServiceSettings extends Traffic {
  name: string;
  listen?: string;
  previewAllow: string[];
  healthPath: string;
  minHealthy?: number;
  check?: HealthCheck;
  previous?: Traffic;
}

export type SwapPhase = 'gate' | 'weights' | 'verify';

/**
 * A swap in flight, as recorded in swaps/<svc>. Each step runs gate → weights (the traffic
 * written together with this phase, in one transaction) → verify (the LB took it; wait until
 * `until`) → the next step's gate; the last step ends in the audit record ("done").
 */
export interface SwapState {
  ref: string;
  kind: 'swap' | 'rollback';
  service: string;
  user: string;
  started: string;
  from: Traffic;
  to: Color;
  strategy: string;
  /** Traffic each step sets, and its weight on `to` for the record. */
  targets: Traffic[];
  weights: number[];
  minHealthy?: number;
  /** Rollback --force: no gate. */
  noGate?: boolean;
  waitMs: number;
  step: number;
  phase: SwapPhase;
  until?: number;
  steps: SwapStep[];
  /**
   * Epoch ms after which the requester has answered 503 (etcd did not confirm the write in
   * time). A write etcd commits only after that (it can, once quorum is back) must not move
   * traffic: the driver that first sees the record past this, or the next swap's requester
   * (swap-driver.ts), closes it as refused.
   */
  expires: number;
  /** Servers that drove it, in order (a takeover adds one). */
  drivers: string[];
}
