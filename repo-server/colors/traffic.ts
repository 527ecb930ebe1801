// Pure: what the load balancer should do for one service, from the registry's view of it.
// A color's traffic share is split over its units by their relative weights, then scaled to
// the LB's integer weights (1-256) so the shares survive rounding as closely as possible.

import type { LbServer, LbService } from './lb/adapter.js';
import { COLORS, type ServiceRecord, type Unit } from './model.js';

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
  const scale = top > 0 ? LB_MAX_WEIGHT / top : 0;
  // Largest remainder per color: the color's total is rounded once, so a small share spread
  // over many units is not inflated by rounding each unit up to weight 1.
  const weightOf = new Map<Unit, number>();
  for (const c of COLORS) {
    const members = units.filter((u) => (raw.get(u) ?? 0) > 0 && u.color === c);
    if (members.length === 0) continue;
    const ideal = members.map((u) => (raw.get(u) ?? 0) * scale);
    const target = Math.max(1, Math.round(ideal.reduce((n, x) => n + x, 0)));
    const floors = ideal.map((x) => Math.min(LB_MAX_WEIGHT, Math.floor(x)));
    let left = target - floors.reduce((n, x) => n + x, 0);
    const order = ideal.map((x, i) => ({ i, rem: x - Math.floor(x) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
    for (const { i } of order) {
      if (left <= 0) break;
      if (floors[i]! < LB_MAX_WEIGHT) {
        floors[i]!++;
        left--;
      }
    }
    members.forEach((u, i) => weightOf.set(u, floors[i]!));
  }
  const servers: LbServer[] = units.map((u) => ({ name: serverName(u), color: u.color, address: u.address, port: u.port, weight: weightOf.get(u) ?? 0 }));
  return {
    name: s.name,
    ...(s.listen ? { listen: s.listen } : {}),
    healthPath: s.healthPath,
    ...(s.check ? { check: s.check } : {}),
    previewAllow: s.previewAllow,
    servers,
  };
}
