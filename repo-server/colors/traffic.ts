// Pure: what the load balancer should do for one service, from the registry's view of it.
// A color's traffic share is split over its units by their relative weights, then scaled to
// the LB's integer weights (1-256) so the shares survive rounding as closely as possible.

import type { LbServer, LbService } from './lb/adapter.js';
import { COLORS, type Unit } from './model.js';
import type { ServiceRecord } from './registry.js';

export const LB_MAX_WEIGHT = 256;

/** LB server names: unique per service and safe in any LB's config syntax. */
export function serverName(u: Pick<Unit, 'color' | 'node'>): string {
  return `${u.color}-${u.node.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}


export function lbService(s: ServiceRecord, alive: (u: Unit) => boolean): LbService {
  const units = s.units.filter((u) => alive(u)).sort((a, b) => serverName(a).localeCompare(serverName(b)));
  // Raw share of each unit, in percent of the service's traffic.
  const raw = new Map<Unit, number>();
  for (const c of COLORS) {
    const members = units.filter((u) => u.color === c && u.health === 'healthy');
    const total = members.reduce((n, u) => n + u.weight, 0);
    for (const u of members) raw.set(u, total > 0 ? (s.weights[c] * u.weight) / total : 0);
  }
  const top = Math.max(0, ...raw.values());
  const servers: LbServer[] = units.map((u) => {
    const r = raw.get(u) ?? 0;
    const weight = r > 0 && top > 0 ? Math.max(1, Math.round((r / top) * LB_MAX_WEIGHT)) : 0;
    return { name: serverName(u), color: u.color, address: u.address, port: u.port, weight };
  });
  return {
    name: s.name,
    ...(s.listen ? { listen: s.listen } : {}),
    healthPath: s.healthPath,
    previewAllow: s.previewAllow,
    servers,
  };
}
