// Pure: the HAProxy view of an LbState. Each service has one backend holding both colors
// (traffic moves by weights over the runtime API) and one preview backend per color. Every
// value is checked (state-check.ts) before it is rendered: the template escapes nothing, and a
// space, `#` or line break in a value would be new HAProxy keywords or directives.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { render } from '../../../lib/templates.js';
import { COLORS } from '../model.js';
import type { LbService, LbState } from './adapter.js';
import { checkFilePath, validateState } from './state-check.js';

/** Health-check options every server gets, in the config and when added at runtime. */
export const CHECK_OPTIONS = 'check inter 1s fastinter 250ms downinter 1s fall 2 rise 1';
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

/** What needs a reload to change (frontends, backends, checks); servers and weights do not. */
export function topologyOf(state: LbState): string {
  const shape = state.services
    .map((s: LbService) => ({ name: s.name, listen: s.listen ?? null, health: s.healthPath, allow: s.previewAllow }))
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
      previewAllowAcl: s.previewAllow.length > 0 ? `src ${s.previewAllow.join(' ')}` : 'always_false',
      servers: s.servers.map((v) => ({ name: v.name, hostPort: hostPort(v.address, v.port), weight: v.weight, checkOptions: CHECK_OPTIONS })),
      colors: COLORS.map((c) => ({
        service: s.name,
        color: c,
        healthPath: s.healthPath,
        servers: s.servers.filter((v) => v.color === c).map((v) => ({ name: v.name, hostPort: hostPort(v.address, v.port), weight: PREVIEW_WEIGHT, checkOptions: CHECK_OPTIONS })),
      })),
    }));
  return render('lb/haproxy.cfg', { topology: topologyOf(state), socket: paths.socket, stateFile: paths.stateFile, services });
}
