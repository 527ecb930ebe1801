// Pure: the checks every LB renderer runs on an LbState before a value reaches a config file
// or the HAProxy runtime API. The API validates what agents and operators send
// (colors/validate.ts); this is the last line of defence for whatever slips by (a registry.json
// written by an older version or edited by hand, a new caller): one `;`, `}`, `#`, space or line
// break in a value would otherwise become directives or a second runtime command.

import { isIP } from 'node:net';
import { COLORS, type HealthCheck } from '../model.js';
import type { LbServer, LbState } from './adapter.js';

export class LbConfigError extends Error {}

const SERVICE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SERVER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,191}$/;
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LISTEN_RE = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+):([0-9]{1,5})$/;
const CIDR_RE = /^([0-9a-fA-F.:]+)(?:\/([0-9]{1,3}))?$/;
/** The registry's health path pattern (colors/validate.ts). */
const HEALTH_PATH_RE = /^\/[A-Za-z0-9._~/-]{0,200}$/;
/** Paths go into configs unquoted; a space, `;`, `#`, quote or brace would end the directive. */
const FILE_PATH_RE = /^\/[A-Za-z0-9._/+-]{0,4000}$/;

export function fail(field: string, message: string): never {
  throw new LbConfigError(`${field}: ${message}`);
}

/** A value for an error message: control characters escaped. */
const shown = (v: string): string => JSON.stringify(v).slice(1, -1);

export function checkInt(v: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer ${min}-${max}, got ${String(v)}`);
  return v;
}

/** An absolute path written into a config (socket, state file, run directory). */
export function checkFilePath(v: string, field: string): string {
  if (!FILE_PATH_RE.test(v)) fail(field, `'${shown(v)}' must be an absolute path of [A-Za-z0-9._/+-]`);
  return v;
}

function checkServer(v: LbServer, field: string): void {
  if (!SERVER_NAME_RE.test(v.name)) fail(`${field}.name`, `'${shown(v.name)}' must match ${SERVER_NAME_RE.source}`);
  if (!(COLORS as readonly string[]).includes(v.color)) fail(`${field}.color`, `must be one of ${COLORS.join(', ')}`);
  if (!(isIP(v.address) !== 0 || HOST_RE.test(v.address))) fail(`${field}.address`, `'${shown(v.address)}' must be an IP address or host name`);
  checkInt(v.port, `${field}.port`, 1, 65535);
  checkInt(v.weight, `${field}.weight`, 0, 256);
}

function checkListen(v: string, field: string): void {
  const m = LISTEN_RE.exec(v);
  const host = m?.[1]?.replace(/^\[|\]$/g, '');
  const kind = host === undefined ? 0 : isIP(host);
  if (!m || kind === 0 || (kind === 6) !== m[1]!.startsWith('[') || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    fail(field, `'${shown(v)}' must be IP:PORT, e.g. 127.0.0.1:9000 or [::1]:9000`);
  }
}

function checkCidr(v: string, field: string): void {
  const m = CIDR_RE.exec(v);
  const kind = m ? isIP(m[1]!) : 0;
  const bits = m?.[2] === undefined ? 0 : Number(m[2]);
  if (!m || kind === 0 || bits > (kind === 4 ? 32 : 128)) fail(field, `'${shown(v)}' must be an address or CIDR network`);
}

/** Whole numbers in the API's bounds (colors/validate.ts healthCheck): they are rendered as numbers. */
function checkHealthCheck(c: HealthCheck, at: string): void {
  const whole = (v: unknown, field: string, min: number, max: number): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${at}.${field}`, `'${shown(String(v))}' must be a whole number from ${min} to ${max}`);
  };
  whole(c.intervalMs, 'intervalMs', 100, 60_000);
  whole(c.timeoutMs, 'timeoutMs', 100, 60_000);
  whole(c.fall, 'fall', 1, 100);
  whole(c.rise, 'rise', 1, 100);
}

/** Every check the configs and runtime commands rely on; throws LbConfigError naming the field. */
export function validateState(state: LbState): void {
  const listens = new Map<string, string>();
  const names = new Set<string>();
  state.services.forEach((s, i) => {
    const at = `services[${i}]`;
    if (typeof s.name !== 'string' || !SERVICE_RE.test(s.name)) fail(`${at}.name`, `'${shown(String(s.name))}' must match ${SERVICE_RE.source}`);
    if (names.has(s.name)) fail(`${at}.name`, `service '${s.name}' appears twice`);
    names.add(s.name);
    if (s.listen !== undefined) {
      checkListen(s.listen, `${at}.listen`);
      const other = listens.get(s.listen);
      if (other !== undefined) fail(`${at}.listen`, `${s.listen} is already the listen address of service '${other}'`);
      listens.set(s.listen, s.name);
    }
    if (typeof s.healthPath !== 'string' || !HEALTH_PATH_RE.test(s.healthPath)) fail(`${at}.healthPath`, `'${shown(String(s.healthPath))}' must be an absolute URL path of [A-Za-z0-9._~/-]`);
    if (s.check !== undefined) checkHealthCheck(s.check, `${at}.check`);
    s.previewAllow.forEach((c, j) => checkCidr(c, `${at}.previewAllow[${j}]`));
    const serverNames = new Set<string>();
    s.servers.forEach((v, j) => {
      checkServer(v, `${at}.servers[${j}]`);
      if (serverNames.has(v.name)) fail(`${at}.servers[${j}].name`, `server '${v.name}' appears twice in service '${s.name}'`);
      serverNames.add(v.name);
    });
  });
}
