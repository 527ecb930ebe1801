// color section → the node side of a color group (docs/color-groups.md §1): a registration
// agent (POSIX sh + curl), its unit.env and systemd unit, and the maintainer-script hooks that
// enable it without ever registering at image-bake time. No Node.js on fleet nodes.

import type { Snippets } from './maintainer-scripts.js';
import type { PackageMetadata } from './metadata.js';
import { SpecError } from './spec-error.js';
import type { Spec } from './spec-types.js';
import { SYSTEMD_UNIT_DIR } from './systemd.js';
import { render, shellQuote } from './templates.js';

export const AGENT_DIR = '/usr/lib/debpkg-agent';

/** The registry's own patterns (repo-server/colors/validate.ts): what passes here, the server accepts. */
const SERVICE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HEALTH_PATH_RE = /^\/[A-Za-z0-9._~/-]{0,200}$/;
const VERSION_RE = /^[A-Za-z0-9.+~:-]{1,128}$/;
const DURATION_RE = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/;

const INTERVAL_MS = { min: 500, max: 60_000, fallback: 2000 };
const TIMEOUT_MS = { min: 100, fallback: 1000 };

/** One service's unit parameters, as the agent reads them from unit.env. */
export interface ColorUnit {
  service: string;
  package: string;
  version: string;
  port: number;
  healthPath: string;
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  /** debpkg-agent-<service>.service */
  unitName: string;
  agentPath: string;
}

export interface ColorFile {
  path: string;
  data: Buffer;
  mode: number;
  origin: string;
}

function durationMs(text: string, path: (string | number)[]): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new SpecError(path, `'${text}' is not a duration like 2s, 1.5s or 500ms`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}

/** Milliseconds → the seconds the agent hands to sleep and curl -m (decimal, no trailing zeros). */
export function seconds(ms: number): string {
  return String(ms / 1000);
}

function intIn(text: string, path: (string | number)[], min: number, max: number, what: string): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new SpecError(path, `'${text}' is not ${what} (${min}-${max})`);
  return n;
}

/** Validates the color section against the registry's rules; undefined without one. */
export function colorUnit(spec: Spec, meta: PackageMetadata): ColorUnit | undefined {
  const c = spec.color;
  if (c === undefined) return undefined;
  const service = c.service ?? meta.name;
  if (!SERVICE_RE.test(service)) {
    throw new SpecError(
      ['color', 'service'],
      c.service === undefined
        ? `the package name '${meta.name}' is not a registry service name (lowercase letters, digits and -); set color.service`
        : `'${service}' is not a registry service name (lowercase letters, digits and -, at most 63 characters)`,
    );
  }
  if (!VERSION_RE.test(meta.version)) throw new SpecError(['version'], `'${meta.version}' is too long for the registry (128 characters)`);
  const port = intIn(c.port, ['color', 'port'], 1, 65535, 'a TCP port');
  const weight = c.weight === undefined ? 100 : intIn(c.weight, ['color', 'weight'], 1, 256, 'a unit weight');
  const healthPath = c.health?.path ?? '/healthz';
  if (!HEALTH_PATH_RE.test(healthPath)) {
    throw new SpecError(['color', 'health', 'path'], `'${healthPath}' must be an absolute URL path of A-Z a-z 0-9 . _ ~ / - (no query string)`);
  }
  const intervalMs = c.health?.interval === undefined ? INTERVAL_MS.fallback : durationMs(c.health.interval, ['color', 'health', 'interval']);
  if (intervalMs < INTERVAL_MS.min || intervalMs > INTERVAL_MS.max) {
    throw new SpecError(['color', 'health', 'interval'], `must be between ${seconds(INTERVAL_MS.min)}s and ${seconds(INTERVAL_MS.max)}s (a unit leaves the pool after the server's TTL, 10s by default)`);
  }
  const timeoutMs = c.health?.timeout === undefined ? Math.min(TIMEOUT_MS.fallback, intervalMs) : durationMs(c.health.timeout, ['color', 'health', 'timeout']);
  if (timeoutMs < TIMEOUT_MS.min || timeoutMs > intervalMs) {
    throw new SpecError(['color', 'health', 'timeout'], `must be between ${seconds(TIMEOUT_MS.min)}s and the interval (${seconds(intervalMs)}s)`);
  }
  const unitName = `debpkg-agent-${service}.service`;
  const clash = (spec.systemd ?? []).findIndex((u) => u.name === unitName);
  if (clash >= 0) throw new SpecError(['systemd', clash, 'name'], `'${unitName}' is the color agent's unit, generated from the color section`);
  return {
    service,
    package: meta.name,
    version: meta.version,
    port,
    healthPath,
    intervalMs,
    timeoutMs,
    weight,
    unitName,
    agentPath: `${AGENT_DIR}/${service}/agent`,
  };
}

/** The agent runs curl for its health checks and heartbeats; a plain "curl" item counts as already there. */
export function withAgentDepends(spec: Spec): Spec {
  if (spec.color === undefined) return spec;
  const depends = spec.depends ?? [];
  if (depends.some((d) => /^curl(:any)?\s*(\(.*\))?$/.test(d.trim()))) return spec;
  return { ...spec, depends: [...depends, 'curl'] };
}

/**
 * The service name is written unquoted into the agent script (a path, a printf format) and
 * the unit file, and the agent path into the maintainer scripts' unit view: checked again here
 * for a ColorUnit that did not come from colorUnit().
 */
function checkUnit(unit: ColorUnit): void {
  if (!SERVICE_RE.test(unit.service)) throw new SpecError(['color', 'service'], `'${JSON.stringify(unit.service).slice(1, -1)}' is not a registry service name`);
  if (unit.unitName !== `debpkg-agent-${unit.service}.service` || unit.agentPath !== `${AGENT_DIR}/${unit.service}/agent`) {
    throw new SpecError(['color', 'service'], 'the agent unit name and path must derive from the service name');
  }
}

export function colorFiles(unit: ColorUnit): ColorFile[] {
  checkUnit(unit);
  const dir = `${AGENT_DIR}/${unit.service}`;
  const env = render('color/unit.env', {
    name: unit.service,
    service: shellQuote(unit.service),
    package: shellQuote(unit.package),
    version: shellQuote(unit.version),
    port: String(unit.port),
    healthPath: shellQuote(unit.healthPath),
    interval: seconds(unit.intervalMs),
    timeout: seconds(unit.timeoutMs),
    weight: String(unit.weight),
  });
  return [
    { path: unit.agentPath, data: Buffer.from(render('color/agent.sh', { service: unit.service })), mode: 0o755, origin: 'color (agent)' },
    { path: `${dir}/unit.env`, data: Buffer.from(env), mode: 0o644, origin: 'color (unit.env)' },
    {
      path: `${SYSTEMD_UNIT_DIR}/${unit.unitName}`,
      data: Buffer.from(render('color/agent.service', { service: unit.service, agent: unit.agentPath })),
      mode: 0o644,
      origin: 'color (agent unit)',
    },
  ];
}

/**
 * postinst: enable, start only on a live configured node. prerm: deregister before the
 * package's own units stop (so the load balancer stops sending traffic first). postrm: the
 * usual mask/purge of the unit's enablement state.
 */
export function addColorSnippets(unit: ColorUnit, snippets: Snippets): void {
  checkUnit(unit);
  const view = { unit: shellQuote(unit.unitName), agent: shellQuote(unit.agentPath) };
  snippets.postinst.push(render('color/postinst', view).trimEnd());
  snippets.prerm.unshift(render('color/prerm', view).trimEnd());
  snippets.postrm.push(render('systemd/postrm', { units: view.unit }).trimEnd());
}
