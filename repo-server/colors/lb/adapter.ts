// One interface for every load balancer: the registry hands over the whole desired state and
// the adapter makes the running LB match it (desired state, not a stream of edits, so a missed
// or repeated call never leaves the LB diverged).

import type { Color } from '../model.js';

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
  /** Source networks (CIDR) allowed to use the preview routes /blue/… and /green/…. */
  previewAllow: string[];
  /** Every alive unit of both colors; units of the idle color are present with weight 0. */
  servers: LbServer[];
}

export interface LbState {
  services: LbService[];
}

export interface LbAdapter {
  readonly name: 'haproxy' | 'nginx';
  /** The whole LB configuration for this state (what `debpkg lb render` prints). */
  render(state: LbState): string;
  /** Make the running LB match `state`; resolves once new requests follow it. */
  apply(state: LbState): Promise<void>;
  close(): Promise<void>;
}
