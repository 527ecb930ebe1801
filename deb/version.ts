// Debian package versions (Policy 5.6.12), mirroring dpkg's parseversion()
// and verrevcmp() from lib/dpkg/parsehelp.c and lib/dpkg/version.c so that
// what we accept, reject and how we order matches dpkg exactly.

export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** '' when the version has no Debian revision. */
  revision: string;
}

/** Canonical relation operators as written in control files. */
export type RelationOp = '<<' | '<=' | '=' | '>=' | '>>';
/** Also the obsolete '<' (means '<=') and '>' (means '>='), still honoured by dpkg. */
export type VersionOp = RelationOp | '<' | '>';

export class VersionError extends Error {
  constructor(
    readonly version: string,
    readonly reason: string,
  ) {
    super(`version '${version}' has bad syntax: ${reason}`);
    this.name = 'VersionError';
  }
}

const INT_MAX = 2147483647;
// dpkg trims with c_isblank (space, tab only) ...
const BLANK = /[ \t]/;
// ... but the epoch goes through strtol(), which also skips isspace() and takes a sign.
const STRTOL = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/;
const UPSTREAM_OK = /^[A-Za-z0-9.+~:-]$/;
const REVISION_OK = /^[A-Za-z0-9.+~]$/;

export function parseVersion(text: string): DebianVersion {
  const bad = (reason: string) => new VersionError(text, reason);
  let start = 0;
  let end = text.length;
  while (start < end && BLANK.test(text[start]!)) start++;
  if (start === end) throw bad('version string is empty');
  while (end > start && BLANK.test(text[end - 1]!)) end--;
  let s = text.slice(start, end);
  if (BLANK.test(s)) throw bad('version string has embedded spaces');

  let epoch = 0;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    // Any ':' means an epoch must precede the first one (so upstream can
    // only contain ':' when an epoch is present).
    const m = STRTOL.exec(s);
    if (!m) throw bad('epoch in version is empty');
    if (m[0].length !== colon) throw bad('epoch in version is not number');
    const digits = m[2]!.replace(/^0+/, '');
    // "-0" is not negative for strtol(), so dpkg accepts it.
    if (m[1] === '-' && digits !== '') throw bad('epoch in version is negative');
    if (digits.length > 10 || Number(digits) > INT_MAX) throw bad('epoch in version is too big');
    if (colon + 1 === s.length) throw bad('nothing after colon in version number');
    epoch = Number(digits);
    s = s.slice(colon + 1);
  }

  // The revision is everything after the LAST hyphen, so upstream may hold '-'.
  const hyphen = s.lastIndexOf('-');
  const upstream = hyphen >= 0 ? s.slice(0, hyphen) : s;
  const revision = hyphen >= 0 ? s.slice(hyphen + 1) : '';
  if (hyphen >= 0 && revision === '') throw bad('revision number is empty');
  if (upstream === '') throw bad('upstream version is empty');
  if (!isDigit(upstream.charCodeAt(0))) throw bad('upstream version must start with a digit');
  for (const c of upstream) {
    if (!UPSTREAM_OK.test(c)) throw bad(`invalid character '${c}' in upstream version`);
  }
  for (const c of revision) {
    if (!REVISION_OK.test(c)) throw bad(`invalid character '${c}' in revision`);
  }
  return { epoch, upstream, revision };
}

/** Canonical text; the epoch is omitted when it is 0. */
export function formatVersion(v: DebianVersion): string {
  return (v.epoch ? `${v.epoch}:` : '') + v.upstream + (v.revision ? `-${v.revision}` : '');
}

/** "upstream[-revision]", as used in .deb file names (which never carry the epoch). */
export function versionWithoutEpoch(text: string): string {
  return formatVersion({ ...parseVersion(text), epoch: 0 });
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

// dpkg's order(): '~' < end of string/digits < letters < everything else.
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0; // NaN: past the end of the string
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // '~'
  return c + 256;
}

/** dpkg's verrevcmp() on one part (upstream or revision). */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, compared character by character.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const d = order(a.charCodeAt(i)) - order(b.charCodeAt(j));
      if (d) return d;
      i++;
      j++;
    }
    // Digit runs compared numerically without converting to Number (they can
    // exceed 2^53): skip leading zeros, then longer wins, then lexical order.
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    let ei = i;
    let ej = j;
    while (ei < a.length && isDigit(a.charCodeAt(ei))) ei++;
    while (ej < b.length && isDigit(b.charCodeAt(ej))) ej++;
    if (ei - i !== ej - j) return ei - i - (ej - j);
    const da = a.slice(i, ei);
    const db = b.slice(j, ej);
    if (da !== db) return da < db ? -1 : 1;
    i = ei;
    j = ej;
  }
  return 0;
}

function toVersion(v: string | DebianVersion): DebianVersion {
  return typeof v === 'string' ? parseVersion(v) : v;
}

/** Like `dpkg --compare-versions`: negative, 0 or positive (always -1, 0 or 1). */
export function compareVersions(a: string | DebianVersion, b: string | DebianVersion): number {
  const va = toVersion(a);
  const vb = toVersion(b);
  const r =
    va.epoch !== vb.epoch
      ? va.epoch - vb.epoch
      : verrevcmp(va.upstream, vb.upstream) || verrevcmp(va.revision, vb.revision);
  return Math.sign(r);
}

/** Does `version` satisfy "(op ref)"? E.g. satisfiesRelation('1.2', '>=', '1.0') === true. */
export function satisfiesRelation(version: string | DebianVersion, op: VersionOp, ref: string | DebianVersion): boolean {
  const c = compareVersions(version, ref);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
    case '<':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
    case '>':
      return c >= 0;
    case '>>':
      return c > 0;
    default:
      throw new TypeError(`unknown relation operator '${String(op)}'`);
  }
}
