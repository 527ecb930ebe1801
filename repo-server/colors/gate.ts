// The gate before every traffic move: the target color must have at least `required` units
// healthy right now — a fresh lease, a healthy self-report, and a live health check from the
// server itself (a heartbeat can be up to one interval old). Draining or unknown is unhealthy.

import { isIP } from 'node:net';
import type { Color, GateResult, GateUnit, ServiceRecord, Unit } from './model.js';

export type { GateResult, GateUnit } from './model.js';

export interface GateOptions {
  alive: (u: Unit) => boolean;
  /** Probe each unit's health endpoint from the server (default true). */
  probe: boolean;
  probeTimeoutMs: number;
}

export function healthUrl(u: Unit, path: string): string {
  const host = isIP(u.address) === 6 ? `[${u.address}]` : u.address;
  return `http://${host}:${u.port}${path}`;
}

async function probe(url: string, timeoutMs: number): Promise<{ ok: boolean; detail?: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? { ok: true } : { ok: false, detail: `HTTP ${res.status}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, detail: e.cause?.code ?? e.name };
  }
}

export async function checkGate(s: ServiceRecord, color: Color, minHealthy: number | undefined, opts: GateOptions): Promise<GateResult> {
  const members = s.units.filter((u) => u.color === color);
  // "All registered": a unit whose lease ran out without deregistering is unknown, and unknown
  // counts as unhealthy; a unit that deregistered cleanly is no longer a member.
  const required = minHealthy ?? s.minHealthy ?? Math.max(1, members.length);
  const units = await Promise.all(
    members.map(async (u): Promise<GateUnit> => {
      const alive = opts.alive(u);
      const base = { node: u.node, alive, reported: u.health };
      if (!alive || u.health !== 'healthy') return { ...base, probe: 'skipped', detail: alive ? `reports ${u.health}` : 'lease expired' };
      if (!opts.probe) return { ...base, probe: 'skipped' };
      const r = await probe(healthUrl(u, u.healthPath || s.healthPath), opts.probeTimeoutMs);
      return { ...base, probe: r.ok ? 'ok' : 'failed', ...(r.detail ? { detail: r.detail } : {}) };
    }),
  );
  const healthy = units.filter((u) => u.alive && u.reported === 'healthy' && u.probe !== 'failed').length;
  return { color, required, healthy, passed: healthy >= required && required >= 1, units };
}
