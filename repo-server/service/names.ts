// Names that end up in paths are validated here and nowhere trusted as paths otherwise.

import { invalid } from './errors.js';

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,199}$/;

/** Upload directories and file names: one safe path segment, never "." or "..". */
export function safeSegment(value: string, what: string): string {
  if (!SAFE.test(value) || value.includes('..')) throw invalid(`invalid ${what} '${value}': use letters, digits and . _ + ~ - (not starting with . or -)`);
  return value;
}

/** Repo and snapshot names (aptly allows spaces; they never become paths here). */
export function objectName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200 || /[\0\n\r/]/.test(value)) {
    throw invalid(`invalid ${what} name`);
  }
  return value;
}

/** A value for an error message: control characters escaped, long values cut. */
export const shown = (value: string): string => (value.length > 80 ? `${JSON.stringify(value.slice(0, 80)).slice(1, -1)}…` : JSON.stringify(value).slice(1, -1));

/** `field` names the request field (aptly's name) the value came from, for the error. */
export function distributionName(value: string, field = 'Distribution'): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(value)) throw invalid(`${field}: invalid distribution '${shown(value)}' (letters, digits and . _ -, at most 100)`);
  return value;
}

export function componentName(value: string, field = 'Component'): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,99}$/.test(value)) throw invalid(`${field}: invalid component '${shown(value)}' (lowercase letters, digits and . _ -, at most 100)`);
  return value;
}

/** Publish prefixes: "." or slash-separated safe segments. */
export function publishPrefix(value: string): string {
  if (value === '.') return value;
  const parts = value.split('/');
  if (parts.some((p) => !SAFE.test(p) || p.includes('..')) || parts.length > 8) throw invalid(`invalid publish prefix '${value}'`);
  if (parts[0] === 'api' || parts[0] === 'keys') throw invalid(`publish prefix '${value}' collides with a server path`);
  return value;
}

/** aptly's URL form of a prefix: ":." is ".", "_" is "/", "__" is "_". */
export function prefixFromUrl(param: string): string {
  // aptly's ParsePrefix: ":." and an empty prefix ("/api/publish//dist") both mean the root.
  if (param === ':.' || param === '') return '.';
  return param.replace(/__|_/g, (m) => (m === '__' ? '_' : '/'));
}
