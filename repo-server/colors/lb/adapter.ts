// One interface for every load balancer: the registry hands over the whole desired state and
// the adapter makes the running LB match it (desired state, not a stream of edits, so a missed
// or repeated call never leaves the LB diverged).

import type { LbConfig } from '../../config.js';
import type { Color, HealthCheck } from '../model.js';

export interface LbServer {
  /** Stable server name, unique within the service: `<color>-<node>` sanitised. */
  name: string;
  color: Color;
  address: string;
  port: number;
  /** Share of the service's traffic this server should get, as an LB weight 0-256 (0 = no new requests). */
  weight: number;
}

export interface LbService {
  name: string;
  /** HOST:PORT the LB listens on for this service; services without one get no frontend. */
  listen?: string;
  healthPath: string;
  /** How each unit is checked; DEFAULT_CHECK when absent. */
  check?: HealthCheck;
  /** Source networks (CIDR) allowed to use the preview routes /blue/… and /green/…. */
  previewAllow: string[];
  /** Every alive unit of both colors; units of the idle color are present with weight 0. */
  servers: LbServer[];
}

export interface LbState {
  services: LbService[];
}

export interface LbAdapter {
  readonly name: string;
  /** The whole LB configuration for this state (what `debpkg lb render` prints). */
  render(state: LbState): string;
  /** Make the running LB match `state`; resolves once new requests follow it. */
  apply(state: LbState): Promise<void>;
  close(): Promise<void>;
}

/** Where an adapter keeps its files (absolute: the configs name them). */
export interface LbPaths {
  dir: string;
  configFile: string;
  socket: string;
  stateFile: string;
}

export type LbLog = (msg: string, detail?: Record<string, unknown>) => void;

/**
 * One load balancer debpkg can drive, as listed in adapters.ts. Each adapter file exports one,
 * declared with `satisfies LbAdapterKind` so a missing or mistyped member fails the build.
 */
export interface LbAdapterKind {
  readonly name: string;
  /** The config file's name in the adapter's directory when none is configured. */
  readonly configFileName: string;
  /** Opens the adapter (a managed one starts its LB with `initial`). */
  open(cfg: LbConfig, paths: LbPaths, initial: LbState, log: LbLog): Promise<LbAdapter>;
  /** The config this adapter would write for `state` (debpkg lb render). */
  render(state: LbState, paths: LbPaths): string;
}
