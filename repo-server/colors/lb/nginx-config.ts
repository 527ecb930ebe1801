// Pure: the nginx view of an LbState, as one standalone nginx.conf (run with `nginx -c FILE`).
// nginx has no runtime API in its free version, so a swap is a new config plus a graceful
// reload; every value from the registry is checked here again before it reaches the config,
// because a stray `;` or `}` in unit data would otherwise become nginx directives.

import { isIP } from 'node:net';
import { join } from 'node:path';
import { render } from '../../../build/templates.js';
import { COLORS, type Color } from '../model.js';
import type { LbServer, LbService, LbState } from './adapter.js';

export interface NginxPaths {
  /** Directory for the pid file, error log and temp directories (one nginx instance per directory). */
  runDir: string;
}

export interface NginxTuning {
  /** `worker_processes`: a number or 'auto'. */
  workerProcesses: number | 'auto';
  /** Seconds an old worker may keep serving after a reload before nginx closes what is left. */
  workerShutdownTimeoutS: number;
  /** Idle connections each worker keeps per upstream. */
  upstreamKeepalive: number;
  /** Idle time (s) after which nginx drops an upstream connection; keep it below the units' own keep-alive timeout. */
  upstreamKeepaliveTimeoutS: number;
  /** Client keep-alive idle timeout (s); 0 turns client keep-alive off (every response says `Connection: close`). */
  clientKeepaliveTimeoutS: number;
}

export const DEFAULT_TUNING: NginxTuning = {
  workerProcesses: 'auto',
  workerShutdownTimeoutS: 30,
  upstreamKeepalive: 16,
  // Node's http server closes idle sockets after 5 s; nginx must let go first, or a request sent on
  // a socket the unit is just closing fails (retried only for idempotent methods).
  upstreamKeepaliveTimeoutS: 4,
  clientKeepaliveTimeoutS: 15,
};

export class NginxConfigError extends Error {}

const SERVICE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SERVER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,191}$/;
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LISTEN_RE = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]{1,5})$/;
const CIDR_RE = /^([0-9a-fA-F.:]+)(?:\/([0-9]{1,3}))?$/;
// Paths go into the config unquoted; a space, `;`, quote or brace would end the directive.
const RUN_DIR_RE = /^\/[A-Za-z0-9._\/+-]*$/;

function fail(field: string, message: string): never {
  throw new NginxConfigError(`${field}: ${message}`);
}

function checkInt(v: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer ${min}-${max}, got ${String(v)}`);
  return v;
}

/** `host:port` for an upstream `server` line; IPv6 literals get brackets. */
export function upstreamAddress(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

function checkServer(v: LbServer, field: string): void {
  if (!SERVER_NAME_RE.test(v.name)) fail(`${field}.name`, `'${v.name}' must match ${SERVER_NAME_RE.source}`);
  if (!(COLORS as readonly string[]).includes(v.color)) fail(`${field}.color`, `must be one of ${COLORS.join(', ')}`);
  if (!(isIP(v.address) !== 0 || HOST_RE.test(v.address))) fail(`${field}.address`, `'${v.address}' must be an IP address or host name`);
  checkInt(v.port, `${field}.port`, 1, 65535);
  checkInt(v.weight, `${field}.weight`, 0, 256);
}

function checkListen(v: string, field: string): void {
  const m = LISTEN_RE.exec(v);
  const host = m?.[1]?.replace(/^\[|\]$/g, '');
  const kind = host === undefined ? 0 : isIP(host);
  if (!m || kind === 0 || (kind === 6) !== m[1]!.startsWith('[') || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    fail(field, `'${v}' must be IP:PORT, e.g. 127.0.0.1:9000 or [::1]:9000`);
  }
}

function checkCidr(v: string, field: string): void {
  const m = CIDR_RE.exec(v);
  const kind = m ? isIP(m[1]!) : 0;
  const bits = m?.[2] === undefined ? 0 : Number(m[2]);
  if (!m || kind === 0 || bits > (kind === 4 ? 32 : 128)) fail(field, `'${v}' must be an address or CIDR network`);
}

/** Every check the config relies on; throws NginxConfigError naming the field. */
export function validateState(state: LbState): void {
  const listens = new Map<string, string>();
  const names = new Set<string>();
  state.services.forEach((s, i) => {
    const at = `services[${i}]`;
    if (!SERVICE_RE.test(s.name)) fail(`${at}.name`, `'${s.name}' must match ${SERVICE_RE.source}`);
    if (names.has(s.name)) fail(`${at}.name`, `service '${s.name}' appears twice`);
    names.add(s.name);
    if (s.listen !== undefined) {
      checkListen(s.listen, `${at}.listen`);
      const other = listens.get(s.listen);
      if (other !== undefined) fail(`${at}.listen`, `${s.listen} is already the listen address of service '${other}'`);
      listens.set(s.listen, s.name);
    }
    s.previewAllow.forEach((c, j) => checkCidr(c, `${at}.previewAllow[${j}]`));
    const serverNames = new Set<string>();
    s.servers.forEach((v, j) => {
      checkServer(v, `${at}.servers[${j}]`);
      if (serverNames.has(v.name)) fail(`${at}.servers[${j}].name`, `server '${v.name}' appears twice in service '${s.name}'`);
      serverNames.add(v.name);
    });
  });
}

function checkTuning(t: NginxTuning, paths: NginxPaths): void {
  if (!RUN_DIR_RE.test(paths.runDir)) fail('runDir', `'${paths.runDir}' must be an absolute path of [A-Za-z0-9._/+-]`);
  if (t.workerProcesses !== 'auto') checkInt(t.workerProcesses, 'workerProcesses', 1, 512);
  checkInt(t.workerShutdownTimeoutS, 'workerShutdownTimeoutS', 1, 86_400);
  checkInt(t.upstreamKeepalive, 'upstreamKeepalive', 1, 10_000);
  checkInt(t.upstreamKeepaliveTimeoutS, 'upstreamKeepaliveTimeoutS', 1, 3600);
  checkInt(t.clientKeepaliveTimeoutS, 'clientKeepaliveTimeoutS', 0, 3600);
}

interface UpstreamView {
  name: string;
  servers: { hostPort: string; weight: string; comment: string }[];
  idle: { comment: string }[];
}

/**
 * The traffic upstream holds the servers with weight ≥ 1 (nginx has no weight 0); weight-0
 * servers are listed as comments. With no server left the upstream is not rendered at all
 * and the route answers 503, as HAProxy does with no usable server.
 */
function trafficUpstream(s: LbService): UpstreamView | undefined {
  const live = s.servers.filter((v) => v.weight > 0);
  if (live.length === 0) return undefined;
  return {
    name: s.name,
    servers: live.map((v) => ({ hostPort: upstreamAddress(v.address, v.port), weight: ` weight=${v.weight}`, comment: v.name })),
    idle: s.servers.filter((v) => v.weight === 0).map((v) => ({ comment: `${v.name} ${upstreamAddress(v.address, v.port)} weight 0` })),
  };
}

/** Preview upstreams ignore traffic weights: every unit of the color shares equally. */
function previewUpstream(s: LbService, c: Color): UpstreamView | undefined {
  const servers = s.servers.filter((v) => v.color === c);
  if (servers.length === 0) return undefined;
  return { name: `${s.name}_${c}`, servers: servers.map((v) => ({ hostPort: upstreamAddress(v.address, v.port), weight: '', comment: v.name })), idle: [] };
}

export function upstreamNames(state: LbState): string[] {
  return state.services.flatMap((s) => [trafficUpstream(s), ...COLORS.map((c) => previewUpstream(s, c))]).flatMap((u) => (u ? [u.name] : []));
}

export function renderNginx(state: LbState, paths: NginxPaths, tuning: NginxTuning = DEFAULT_TUNING): string {
  validateState(state);
  checkTuning(tuning, paths);
  const services = [...state.services]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => {
      const traffic = trafficUpstream(s);
      const previews = COLORS.map((c) => ({ color: c, upstream: previewUpstream(s, c) }));
      return {
        name: s.name,
        upstreams: [traffic, ...previews.map((p) => p.upstream)].filter((u): u is UpstreamView => u !== undefined),
        frontend:
          s.listen === undefined
            ? undefined
            : {
                listen: s.listen,
                trafficUpstream: traffic?.name,
                previews: previews.map((p) => ({ color: p.color, upstream: p.upstream?.name, allow: s.previewAllow.map((cidr) => ({ cidr })) })),
              },
      };
    });
  const r = paths.runDir;
  return render('lb/nginx.conf', {
    pidFile: join(r, 'nginx.pid'),
    errorLog: join(r, 'error.log'),
    tempDir: join(r, 'temp'),
    workerProcesses: String(tuning.workerProcesses),
    workerShutdownTimeout: `${tuning.workerShutdownTimeoutS}s`,
    upstreamKeepalive: tuning.upstreamKeepalive,
    upstreamKeepaliveTimeout: `${tuning.upstreamKeepaliveTimeoutS}s`,
    clientKeepaliveTimeout: `${tuning.clientKeepaliveTimeoutS}s`,
    services,
  });
}
