// Checks for what agents and operators send: every value that ends up in an LB config or a
// file name is matched against a strict pattern (no config injection from unit data).

import { isIP } from 'node:net';
import { Invalid } from '../model/errors.js';
import { COLORS, DEFAULT_CHECK, type Color, type Health, type HealthCheck } from './model.js';

export const SERVICE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const NODE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const VERSION_RE = /^[A-Za-z0-9.+~:-]{1,128}$/;
export const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]{0,127}$/;
export const PATH_RE = /^\/[A-Za-z0-9._~\/-]{0,200}$/;
export const HEALTH: readonly Health[] = ['healthy', 'unhealthy', 'draining'];

export function serviceName(v: string): string {
  if (!SERVICE_RE.test(v)) throw new Invalid(`service name '${v}' must match ${SERVICE_RE.source}`);
  return v;
}

export function nodeId(v: string): string {
  if (!NODE_RE.test(v)) throw new Invalid(`node id '${v}' must match ${NODE_RE.source}`);
  return v;
}

export function color(v: unknown, field: string): Color {
  if (typeof v !== 'string' || !(COLORS as readonly string[]).includes(v)) throw new Invalid(`${field} must be one of ${COLORS.join(', ')}`);
  return v as Color;
}

export function address(v: unknown, field = 'Address'): string {
  if (typeof v !== 'string' || !(isIP(v) || HOST_RE.test(v))) throw new Invalid(`${field} must be an IP address or host name`);
  return v;
}

export function port(v: unknown, field = 'Port'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new Invalid(`${field} must be an integer 1-65535`);
  return v;
}

export function intIn(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Invalid(`${field} must be an integer ${min}-${max}`);
  return v;
}

export function version(v: unknown, field = 'Version'): string {
  if (typeof v !== 'string' || !VERSION_RE.test(v)) throw new Invalid(`${field} must be a Debian version`);
  return v;
}

export function packageName(v: unknown, field = 'Package'): string {
  if (typeof v !== 'string' || !PACKAGE_RE.test(v)) throw new Invalid(`${field} must be a Debian package name`);
  return v;
}

export function healthPath(v: unknown, field = 'HealthPath'): string {
  if (typeof v !== 'string' || !PATH_RE.test(v)) throw new Invalid(`${field} must be an absolute URL path of [A-Za-z0-9._~/-]`);
  return v;
}

export function health(v: unknown, field = 'Health'): Health {
  if (typeof v !== 'string' || !(HEALTH as readonly string[]).includes(v)) throw new Invalid(`${field} must be one of ${HEALTH.join(', ')}`);
  return v as Health;
}

/** HOST:PORT with an IPv4/IPv6 literal host (what the LB binds). */
export function listen(v: unknown, field = 'Listen'): string {
  const m = typeof v === 'string' ? /^(\[[0-9a-fA-F:]+\]|[0-9.]+):([0-9]{1,5})$/.exec(v) : null;
  if (!m || !isIP(m[1]!.replace(/^\[|\]$/g, '')) || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new Invalid(`${field} must be IP:PORT, e.g. 127.0.0.1:9000`);
  }
  return v as string;
}

export function cidr(v: unknown, field: string): string {
  const m = typeof v === 'string' ? /^([0-9a-fA-F.:]+)(?:\/([0-9]{1,3}))?$/.exec(v) : null;
  const kind = m ? isIP(m[1]!) : 0;
  const bits = m?.[2] === undefined ? (kind === 4 ? 32 : 128) : Number(m[2]);
  if (!m || kind === 0 || bits > (kind === 4 ? 32 : 128)) throw new Invalid(`${field} must be an address or CIDR network`);
  return v as string;
}

/** An object body with only the given keys (unknown fields are refused, naming them). */
export function objectBody(body: unknown, allowed: readonly string[], what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Invalid(`${what}: body must be a JSON object`);
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new Invalid(`${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  return body as Record<string, unknown>;
}

/** Go-style durations as aptly and the CLI take them: 500ms, 5s, 2m. */
export function durationMs(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  const m = typeof v === 'string' ? /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(v) : null;
  if (!m) throw new Invalid(`${field} must be a duration like 500ms, 5s or 2m`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

/**
 * A service's `Check` ({Interval, Fall, Rise, Timeout}, each optional) over `base`, the check it
 * has now; null puts the defaults back. Bounds keep HAProxy's and nginx's own limits out of
 * reach and a check from hammering a unit (≥ 100 ms apart).
 */
export function healthCheck(v: unknown, base: HealthCheck, field = 'Check'): HealthCheck {
  if (v === null) return { ...DEFAULT_CHECK };
  const b = objectBody(v, ['Interval', 'Fall', 'Rise', 'Timeout'], field);
  const ms = (x: unknown, name: string): number => {
    const n = durationMs(x, `${field}.${name}`);
    if (n < 100 || n > 60_000) throw new Invalid(`${field}.${name} must be between 100ms and 60s`);
    return n;
  };
  return {
    intervalMs: b.Interval !== undefined ? ms(b.Interval, 'Interval') : base.intervalMs,
    fall: b.Fall !== undefined ? intIn(b.Fall, `${field}.Fall`, 1, 100) : base.fall,
    rise: b.Rise !== undefined ? intIn(b.Rise, `${field}.Rise`, 1, 100) : base.rise,
    timeoutMs: b.Timeout !== undefined ? ms(b.Timeout, 'Timeout') : base.timeoutMs,
  };
}
