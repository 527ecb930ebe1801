// Pure: the HAProxy view of an LbState. Each service has one backend holding both colors
// (traffic moves by weights over the runtime API) and one preview backend per color. Every
// value is checked (state-check.ts) before it is rendered: the template escapes nothing, and a
// space, `#` or line break in a value would be new HAProxy keywords or directives.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { render } from '../../../lib/templates.js';
import { COLORS, DEFAULT_CHECK, type HealthCheck } from '../model.js';
import type { LbService, LbState } from './adapter.js';
import { checkFilePath, validateState } from './state-check.js';

/**
 * The `server` line's check options of a service, in the config and when a server is added at
 * runtime. A unit going down is re-checked 4× as often (fastinter), so `fall` failures take it
 * out in about fall × interval / 4 once the first has been seen.
 */
export function checkOptions(check: HealthCheck = DEFAULT_CHECK): string {
  const i = check.intervalMs;
  return `check inter ${i}ms fastinter ${Math.max(100, Math.round(i / 4))}ms downinter ${i}ms fall ${check.fall} rise ${check.rise}`;
}

/** backend name → the check options of its servers (a service's traffic and preview backends share them). */
export function backendChecks(state: LbState): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of state.services) for (const b of [s.name, ...COLORS.map((c) => `${s.name}_${c}`)]) out.set(b, checkOptions(s.check));
  return out;
}
/** Preview backends ignore traffic weights: every unit of the color shares equally. */
const PREVIEW_WEIGHT = 100;

export interface HaproxyPaths {
  socket: string;
  stateFile: string;
}

export interface DesiredServer {
  address: string;
  port: number;
  weight: number;
}

export function hostPort(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

/** backend name → server name → what it should be. */
export function desiredBackends(state: LbState): Map<string, Map<string, DesiredServer>> {
  const out = new Map<string, Map<string, DesiredServer>>();
  for (const s of state.services) {
    out.set(s.name, new Map(s.servers.map((v) => [v.name, { address: v.address, port: v.port, weight: v.weight }])));
    for (const c of COLORS) {
      out.set(`${s.name}_${c}`, new Map(s.servers.filter((v) => v.color === c).map((v) => [v.name, { address: v.address, port: v.port, weight: PREVIEW_WEIGHT }])));
    }
  }
  return out;
}

/**
 * What needs a reload to change (frontends, backends, checks: the runtime API cannot change a
 * server's check interval); servers and weights do not.
 */
export function topologyOf(state: LbState): string {
  const shape = state.services
    .map((s: LbService) => ({ name: s.name, listen: s.listen ?? null, health: s.healthPath, allow: s.previewAllow, ...(s.check ? { check: checkOptions(s.check), checkTimeout: s.check.timeoutMs } : {}) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

export function renderHaproxy(state: LbState, paths: HaproxyPaths): string {
  validateState(state);
  checkFilePath(paths.socket, 'socket');
  checkFilePath(paths.stateFile, 'stateFile');
  const services = [...state.services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({
      name: s.name,
      listen: s.listen,
      healthPath: s.healthPath,
      checkTimeout: `${(s.check ?? DEFAULT_CHECK).timeoutMs}ms`,
      previewAllowAcl: s.previewAllow.length > 0 ? `src ${s.previewAllow.join(' ')}` : 'always_false',
      servers: s.servers.map((v) => ({ name: v.name, hostPort: hostPort(v.address, v.port), weight: v.weight, checkOptions: checkOptions(s.check) })),
      colors: COLORS.map((c) => ({
        service: s.name,
        color: c,
        healthPath: s.healthPath,
        checkTimeout: `${(s.check ?? DEFAULT_CHECK).timeoutMs}ms`,
        servers: s.servers.filter((v) => v.color === c).map((v) => ({ name: v.name, hostPort: hostPort(v.address, v.port), weight: PREVIEW_WEIGHT, checkOptions: checkOptions(s.check) })),
      })),
    }));
  return render('lb/haproxy.cfg', { topology: topologyOf(state), socket: paths.socket, stateFile: paths.stateFile, services });
}
