// Pure: the nginx view of an LbState, as one standalone nginx.conf (run with `nginx -c FILE`).
// nginx has no runtime API in its free version, so a swap is a new config plus a graceful
// reload; every value from the registry is checked again (state-check.ts) before it reaches the
// config, because a stray `;` or `}` in unit data would otherwise become nginx directives.

import { isIP } from 'node:net';
import { join } from 'node:path';
import { render } from '../../../lib/templates.js';
import { COLORS, type Color } from '../model.js';
import type { LbService, LbState } from './adapter.js';
import { checkFilePath, checkInt, validateState } from './state-check.js';

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

/** The shared LB check's error (state-check.ts), under the name callers of this module know. */
export { LbConfigError as NginxConfigError, validateState } from './state-check.js';

/** `host:port` for an upstream `server` line; IPv6 literals get brackets. */
export function upstreamAddress(address: string, port: number): string {
  return `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}

function checkTuning(t: NginxTuning, paths: NginxPaths): void {
  checkFilePath(paths.runDir, 'runDir');
  if (t.workerProcesses !== 'auto') checkInt(t.workerProcesses, 'workerProcesses', 1, 512);
  checkInt(t.workerShutdownTimeoutS, 'workerShutdownTimeoutS', 1, 86_400);
  checkInt(t.upstreamKeepalive, 'upstreamKeepalive', 1, 10_000);
  checkInt(t.upstreamKeepaliveTimeoutS, 'upstreamKeepaliveTimeoutS', 1, 3600);
  checkInt(t.clientKeepaliveTimeoutS, 'clientKeepaliveTimeoutS', 0, 3600);
}

/**
 * nginx (open source) has no active checks: a service's Check becomes its passive one, `fall`
 * failed requests within interval × fall take a server out for as long (Rise and Timeout have
 * no equivalent). Without a Check, nginx's own defaults (1 failure, 10 s).
 */
function passiveCheck(s: LbService): string {
  if (!s.check) return '';
  return ` max_fails=${s.check.fall} fail_timeout=${Math.max(1, Math.ceil((s.check.intervalMs * s.check.fall) / 1000))}s`;
}

interface UpstreamView {
  name: string;
  servers: { hostPort: string; /** What follows the address on the `server` line: weight and passive check. */ options: string; comment: string }[];
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
    servers: live.map((v) => ({ hostPort: upstreamAddress(v.address, v.port), options: ` weight=${v.weight}${passiveCheck(s)}`, comment: v.name })),
    idle: s.servers.filter((v) => v.weight === 0).map((v) => ({ comment: `${v.name} ${upstreamAddress(v.address, v.port)} weight 0` })),
  };
}

/** Preview upstreams ignore traffic weights: every unit of the color shares equally. */
function previewUpstream(s: LbService, c: Color): UpstreamView | undefined {
  const servers = s.servers.filter((v) => v.color === c);
  if (servers.length === 0) return undefined;
  return { name: `${s.name}_${c}`, servers: servers.map((v) => ({ hostPort: upstreamAddress(v.address, v.port), options: passiveCheck(s), comment: v.name })), idle: [] };
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
