// The color-group vocabulary shared by the registry, the swap engine and the LB adapters.

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
