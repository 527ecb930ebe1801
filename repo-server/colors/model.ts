// The color-group vocabulary shared by the registry, its store, the gate, the swap engine and
// the LB adapters: plain data, so that none of them imports another for its types.

export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];
export type Health = 'healthy' | 'unhealthy' | 'draining';

export function otherColor(c: Color): Color {
  return c === 'blue' ? 'green' : 'blue';
}

/** Traffic share per color in percent; the two add up to 100 (or both 0 before a first swap). */
export type Weights = Record<Color, number>;

export interface Unit {
  service: string;
  node: string;
  address: string;
  port: number;
  color: Color;
  version: string;
  package: string;
  health: Health;
  /** Relative capacity of this unit within its color (1-256). */
  weight: number;
  healthPath: string;
  /** Epoch milliseconds of the last heartbeat. */
  lastSeen: number;
}

export interface GateUnit {
  node: string;
  alive: boolean;
  reported: string;
  probe: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export interface GateResult {
  color: Color;
  required: number;
  healthy: number;
  passed: boolean;
  units: GateUnit[];
}

/**
 * How the load balancer checks each unit of a service (HAProxy's active check; nginx, which has
 * only passive checks, maps interval × fall onto max_fails/fail_timeout).
 */
export interface HealthCheck {
  intervalMs: number;
  /** Failed checks in a row before a unit is taken out. */
  fall: number;
  /** Passed checks in a row before it is put back. */
  rise: number;
  /** How long one check may take. */
  timeoutMs: number;
}

/** What a service gets until its operator says otherwise. */
export const DEFAULT_CHECK: HealthCheck = { intervalMs: 1000, fall: 2, rise: 1, timeoutMs: 2000 };

export interface Traffic {
  active: Color | null;
  weights: Weights;
}

export interface ServiceRecord extends Traffic {
  name: string;
  listen?: string;
  previewAllow: string[];
  healthPath: string;
  /** Healthy units the target color needs before traffic moves; default: all alive ones, ≥ 1. */
  minHealthy?: number;
  /** The LB's check of each unit; DEFAULT_CHECK when absent. */
  check?: HealthCheck;
  /** Traffic before the last swap: what rollback restores. */
  previous?: Traffic;
  units: Unit[];
}

/** What an operator may change of a service (PUT /api/services/<svc>). */
export type ServiceEdit = Partial<Pick<ServiceRecord, 'listen' | 'previewAllow' | 'healthPath' | 'minHealthy' | 'check'>>;

export type SwapResult = 'done' | 'refused' | 'reverted' | 'failed';

export interface SwapStep {
  weight: number;
  at: string;
  gate?: GateResult;
}

export interface SwapRecord {
  id: number;
  service: string;
  kind: 'swap' | 'rollback' | 'initial';
  user: string;
  started: string;
  finished: string;
  from: Traffic;
  to: Color;
  strategy: string;
  steps: SwapStep[];
  result: SwapResult;
  reason?: string;
  /** Cluster mode: the swap request this record closes (the requester waits for it). */
  ref?: string;
}

/** What an agent reports: the unit minus what the registry knows itself. */
export type HeartbeatInput = Omit<Unit, 'service' | 'node' | 'lastSeen'>;
