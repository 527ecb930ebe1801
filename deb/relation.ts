// Dependency-style control fields (Policy 7.1): "a:any (>= 1.0) [amd64] <!nocheck> | b, c".
// Pure parsing/formatting; versions are validated with the dpkg-compatible parser.

import { parseVersion, VersionError, type RelationOp } from './version.js';

export type { RelationOp } from './version.js';

export interface Relation {
  name: string;
  /** Architecture qualifier: "any", "native" or an architecture name (name:arch). */
  arch?: string;
  op?: RelationOp;
  version?: string;
  /** e.g. ['amd64', 'arm64'] or ['!i386'] (never mixed, per Policy). */
  archRestrictions?: string[];
  /** Build-profile restriction formula, canonicalised: "<!nocheck> <stage1 cross>". */
  profiles?: string;
}

export interface RelationOptions {
  /** Control field name; enables field-specific rules (Provides: only "=", no "|" in Conflicts etc.). */
  field?: string;
  /**
   * A binary package's field (DEBIAN/control, a Packages index) rather than a source's:
   * no [arch] or <profile> restrictions and no ':native' (dpkg-gencontrol resolves those;
   * apt's Packages parser fails on them), no trailing comma, and no arch qualifier in
   * Provides / Built-Using / Static-Built-Using.
   */
  binary?: boolean;
}

export class RelationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelationError';
  }
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_NAME = /^[a-z0-9][a-z0-9-]*$/;
const ARCH_TERM = /^!?[a-z0-9][a-z0-9-]*$/;
const PROFILE_TERM = /^!?[a-z0-9][a-z0-9.+-]*$/;
// Longest operators first; '<' and '>' are dpkg's obsolete spellings of '<=' and '>='.
const OPERATOR = /^(<<|<=|>=|>>|=|<|>)/;
const LEGACY_OP: Record<string, RelationOp> = { '<': '<=', '>': '>=' };
// Policy 7.1: alternatives are only meaningful in the "depends"-like fields.
const NO_ALTERNATIVES = new Set([
  'provides', 'conflicts', 'breaks', 'replaces', 'build-conflicts', 'build-conflicts-indep', 'build-conflicts-arch', 'built-using', 'static-built-using',
]);
// Fields naming packages (or sources) that exist as such, where an arch qualifier means nothing.
const NO_ARCH_QUALIFIER = new Set(['provides', 'built-using', 'static-built-using']);
// Policy 7.8: Built-Using names exact source versions.
const EXACT_VERSION = new Set(['built-using', 'static-built-using']);

/** Parse a whole field into an AND-list of OR-groups. An empty field yields []. */
export function parseRelationField(text: string, options: RelationOptions = {}): Relation[][] {
  const field = options.field?.toLowerCase() ?? '';
  const where = options.field ? `${options.field} field` : 'relation field';
  if (text.trim() === '') return [];
  const parts = text.split(',');
  // Tolerate one trailing comma in source fields (as written by `wrap-and-sort -t`), not empty
  // items in between; a binary package's field is already normalised and has none.
  if (!options.binary && parts.length > 1 && parts[parts.length - 1]!.trim() === '') parts.pop();
  return parts.map((group) => {
    if (group.trim() === '') throw new RelationError(`${where}: empty relation between commas in '${text.trim()}'`);
    const alternatives = group.split('|');
    if (alternatives.length > 1 && NO_ALTERNATIVES.has(field)) {
      throw new RelationError(`${where}: alternatives ('|') are not allowed: '${group.trim()}'`);
    }
    return alternatives.map((alt) => parseRelation(alt, options));
  });
}

/** Parse one relation such as "libc6:amd64 (>= 2.36) [linux-any] <!nocheck>". */
export function parseRelation(text: string, options: RelationOptions = {}): Relation {
  const src = text.trim();
  const field = options.field?.toLowerCase() ?? '';
  const where = `${options.field ? `${options.field} field, ` : ''}relation '${src}'`;
  const fail = (what: string) => new RelationError(`${where}: ${what}`);
  let pos = 0;
  const skipWs = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  };
  const take = (re: RegExp): string => {
    const m = re.exec(src.slice(pos));
    const s = m ? m[0] : '';
    pos += s.length;
    return s;
  };
  // Returns the text between an opening char at `pos` and its closing char.
  const enclosed = (close: string, label: string): string => {
    const end = src.indexOf(close, pos + 1);
    if (end < 0) throw fail(`unterminated ${label} '${src.slice(pos)}'`);
    const inner = src.slice(pos + 1, end);
    pos = end + 1;
    return inner;
  };

  if (src === '') throw fail('empty relation (missing package name)');
  const name = take(/^[^\s:([<]+/);
  if (!PACKAGE_NAME.test(name)) {
    throw fail(name ? `invalid package name '${name}'` : 'missing package name');
  }
  const rel: Relation = { name };

  if (src[pos] === ':') {
    pos++;
    const arch = take(/^[^\s([<]*/);
    if (!ARCH_NAME.test(arch) || arch === 'all' || arch === 'source') {
      throw fail(`invalid architecture qualifier '${name}:${arch}'`);
    }
    if (options.binary && arch === 'native') throw fail(`':native' is only meaningful in build dependencies`);
    if (options.binary && NO_ARCH_QUALIFIER.has(field)) throw fail(`an architecture qualifier is not allowed in ${options.field}`);
    rel.arch = arch;
  }

  skipWs();
  if (src[pos] === '(') {
    const inner = enclosed(')', 'version restriction');
    const spec = inner.trim();
    const op = OPERATOR.exec(spec)?.[0];
    if (!op) throw fail(`missing or unknown operator in '(${inner})'`);
    const version = spec.slice(op.length).trim();
    if (version === '') throw fail(`missing version in '(${inner})'`);
    try {
      parseVersion(version);
    } catch (e) {
      if (e instanceof VersionError) throw fail(e.message);
      throw e;
    }
    rel.op = LEGACY_OP[op] ?? (op as RelationOp);
    rel.version = version;
  }
  if (options.field?.toLowerCase() === 'provides' && rel.op && rel.op !== '=') {
    throw fail(`only exact versions ('=') may be used in Provides, not '${rel.op}'`);
  }
  if (options.binary && EXACT_VERSION.has(field) && rel.op !== '=') {
    throw fail(`${options.field} needs an exact source version '(= version)'`);
  }

  skipWs();
  if (options.binary && (src[pos] === '[' || src[pos] === '<')) {
    throw fail(`${src[pos] === '[' ? 'architecture' : 'build profile'} restrictions are not allowed in a binary package`);
  }

  skipWs();
  if (src[pos] === '[') {
    const inner = enclosed(']', 'architecture restriction');
    const archs = inner.trim().split(/\s+/).filter(Boolean);
    if (archs.length === 0) throw fail('empty architecture restriction list');
    for (const a of archs) {
      if (!ARCH_TERM.test(a)) throw fail(`invalid architecture '${a}' in '[${inner}]'`);
    }
    // Policy 7.1: a list is either all-negated (exclusive) or none-negated (inclusive).
    const negated = archs.filter((a) => a.startsWith('!')).length;
    if (negated !== 0 && negated !== archs.length) {
      throw fail(`architecture list '[${inner}]' mixes negated and non-negated architectures`);
    }
    rel.archRestrictions = archs;
  }

  skipWs();
  const formula: string[] = [];
  while (src[pos] === '<') {
    const inner = enclosed('>', 'build profile restriction');
    const terms = inner.trim().split(/\s+/).filter(Boolean);
    if (terms.length === 0) throw fail('empty build profile restriction <>');
    for (const t of terms) {
      if (!PROFILE_TERM.test(t)) throw fail(`invalid build profile '${t}' in '<${inner}>'`);
    }
    formula.push(`<${terms.join(' ')}>`);
    skipWs();
  }
  if (formula.length) rel.profiles = formula.join(' ');

  if (pos < src.length) throw fail(`unexpected '${src.slice(pos)}' after '${src.slice(0, pos).trimEnd()}'`);
  return rel;
}

/** Canonical text of one relation. */
export function formatSingleRelation(r: Relation): string {
  let s = r.arch ? `${r.name}:${r.arch}` : r.name;
  if (r.op && r.version !== undefined) s += ` (${r.op} ${r.version})`;
  if (r.archRestrictions?.length) s += ` [${r.archRestrictions.join(' ')}]`;
  if (r.profiles) s += ` ${r.profiles}`;
  return s;
}

/** Canonical field text: "a (>= 1.0) | b, c". */
export function formatRelation(groups: Relation[][]): string {
  return groups.map((alts) => alts.map(formatSingleRelation).join(' | ')).join(', ');
}
