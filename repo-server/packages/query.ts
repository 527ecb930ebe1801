// aptly's package query language (aptly query/lex.go + query/syntax.go for the syntax,
// deb/query.go + deb/package.go for what each term matches), as accepted by
// `GET /api/repos/:name/packages?q=`, `repo remove`, snapshot filters, ...
//
//   Query := A | A '|' Query          ',' (AND) binds tighter than '|' (OR)
//   A     := B | B ',' A
//   B     := C | '!' B
//   C     := '(' Query ')' | D
//   D     := <name> [ '(' [op] value ')' ] [ '{' arch '}' ]  |  <name>_<version>_<arch>
//   op    := << | < | <= | >> | > | >= | = | % | ~     ('<' means '<=', '>' means '>=')
//
// A term whose name starts with '$' or an upper-case letter (and has no '_') is a field
// condition ("Priority (required)", "$Version (>= 1.0)"); anything else is a dependency
// condition on the package name ("nginx (>= 1.2) {amd64}") or a package reference.

import { compareVersions, parseVersion, VersionError } from '../../deb/version.js';
import { parseRelationField, RelationError } from '../../deb/relation.js';

export type QueryOp = '<<' | '<=' | '=' | '>=' | '>>' | '%' | '~';

export type QueryNode =
  | { kind: 'or'; left: QueryNode; right: QueryNode }
  | { kind: 'and'; left: QueryNode; right: QueryNode }
  | { kind: 'not'; query: QueryNode }
  /** Field condition; without `op` it means "the field is set and non-empty". */
  | { kind: 'field'; field: string; op?: QueryOp; value?: string }
  /** Dependency-like condition on the package name (a bare name also matches Provides). */
  | { kind: 'dependency'; name: string; op?: QueryOp; version?: string; arch?: string }
  /** `name_version_arch`: exactly that package (plain string equality, like aptly). */
  | { kind: 'package'; name: string; version: string; arch: string };

/** Field access for one package. Control fields are looked up as-is; see packageFields(). */
export interface PackageFields {
  get(field: string): string | undefined;
}

export type PackageType = 'deb' | 'udeb' | 'source';

export class QueryError extends Error {
  constructor(
    readonly query: string,
    /** 0-based offset into the query text. */
    readonly position: number,
    readonly reason: string,
  ) {
    super(`invalid package query at position ${position}: ${reason}`);
    this.name = 'QueryError';
  }
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenType = 'string' | 'op' | '(' | ')' | '{' | '}' | '|' | ',' | '!' | 'eof';
interface Token {
  type: TokenType;
  value: string;
  pos: number;
}

// Ends an unquoted word. aptly forgets '(' here (an off-by-one in lex.go), which only makes
// "name(>= 1)" a syntax error there; we treat it as the delimiter it obviously is.
const WORD_END = /[\s()|,!{}]/;

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    const pos = i;
    if (/\s/.test(c)) {
      i++;
    } else if ('(){}|,!'.includes(c)) {
      tokens.push({ type: c as TokenType, value: c, pos });
      i++;
    } else if (c === '<' || c === '>') {
      // "<<", "<=", or the legacy single '<' which (as in dpkg) means '<='.
      const next = query[i + 1];
      const op = next === c ? c + c : `${c}=`;
      i += next === c || next === '=' ? 2 : 1;
      tokens.push({ type: 'op', value: op, pos });
    } else if (c === '=' || c === '%' || c === '~') {
      // Operators are only recognised at the start of a token: "a=b" is one word.
      tokens.push({ type: 'op', value: c, pos });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= query.length) throw new QueryError(query, pos, 'unterminated quoted string');
        let ch = query[i++]!;
        if (ch === c) break;
        if (ch === '\\') {
          if (i >= query.length) throw new QueryError(query, pos, 'unterminated quoted string');
          ch = query[i++]!;
        }
        value += ch;
      }
      tokens.push({ type: 'string', value, pos });
    } else {
      let end = i;
      while (end < query.length && !WORD_END.test(query[end]!)) end++;
      tokens.push({ type: 'string', value: query.slice(i, end), pos });
      i = end;
    }
  }
  tokens.push({ type: 'eof', value: '', pos: query.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser

/** Compiled '~' / '%' patterns, kept off the AST so the AST stays plain data. */
const compiled = new WeakMap<QueryNode, RegExp>();

/** Parse a query; throws QueryError (with the offending position) on malformed input. */
export function parse(query: string): QueryNode {
  const tokens = tokenize(query);
  let k = 0;
  const cur = (): Token => tokens[k]!;
  const describe = (t: Token) => (t.type === 'eof' ? 'end of query' : t.type === 'string' ? JSON.stringify(t.value) : `'${t.value}'`);
  const fail = (t: Token, reason: string): never => {
    throw new QueryError(query, t.pos, reason);
  };
  const expect = (type: TokenType, what: string): Token => {
    const t = cur();
    if (t.type !== type) fail(t, `unexpected ${describe(t)}, expecting ${what}`);
    k++;
    return t;
  };

  // Right-nested like aptly's parser; AND/OR are associative so this is only cosmetic.
  const orExpr = (): QueryNode => {
    const left = andExpr();
    if (cur().type !== '|') return left;
    k++;
    return { kind: 'or', left, right: orExpr() };
  };
  const andExpr = (): QueryNode => {
    const left = notExpr();
    if (cur().type !== ',') return left;
    k++;
    return { kind: 'and', left, right: andExpr() };
  };
  const notExpr = (): QueryNode => {
    if (cur().type !== '!') return primary();
    k++;
    return { kind: 'not', query: notExpr() };
  };
  const primary = (): QueryNode => {
    if (cur().type !== '(') return term();
    k++;
    const q = orExpr();
    expect(')', "')'");
    return q;
  };

  const term = (): QueryNode => {
    const nameTok = expect('string', 'field or package name');
    const name = nameTok.value;
    if (name === '') fail(nameTok, 'empty field or package name');

    let op: QueryOp | undefined;
    let valueTok: Token | undefined;
    if (cur().type === '(') {
      k++;
      // No operator means '=' ("Priority (required)", "nginx (1.2)").
      op = cur().type === 'op' ? (tokens[k++]!.value as QueryOp) : '=';
      valueTok = expect('string', 'value');
      expect(')', "')'");
    }
    const value = valueTok?.value;

    if (name.startsWith('$') || (/^\p{Lu}/u.test(name) && !name.includes('_'))) {
      const node: QueryNode = op ? { kind: 'field', field: name, op, value: value! } : { kind: 'field', field: name };
      // $Version compares like a Debian version, every other field as a plain string.
      if (name === '$Version') checkVersion(op, value, valueTok);
      compilePattern(node, op, value, valueTok);
      return node;
    }

    if (!op) {
      const ref = splitPackageRef(name);
      if (ref) return { kind: 'package', ...ref };
    }

    const node: Extract<QueryNode, { kind: 'dependency' }> = { kind: 'dependency', name };
    if (op) {
      node.op = op;
      node.version = value!;
    }
    if (cur().type === '{') {
      k++;
      node.arch = expect('string', 'architecture').value;
      expect('}', "'}'");
    }
    checkVersion(op, value, valueTok);
    compilePattern(node, op, value, valueTok);
    return node;
  };

  const checkVersion = (op: QueryOp | undefined, value: string | undefined, at: Token | undefined) => {
    if (!op || op === '%' || op === '~' || value === undefined) return;
    try {
      parseVersion(value);
    } catch (e) {
      if (e instanceof VersionError) fail(at!, e.message);
      throw e;
    }
  };
  const compilePattern = (node: QueryNode, op: QueryOp | undefined, value: string | undefined, at: Token | undefined) => {
    if ((op !== '~' && op !== '%') || value === undefined) return;
    try {
      compiled.set(node, op === '~' ? goRegExp(value) : globRegExp(value));
    } catch (e) {
      fail(at!, `${op === '~' ? 'invalid regular expression' : 'invalid shell pattern'} ${JSON.stringify(value)}: ${(e as Error).message}`);
    }
  };

  const ast = orExpr();
  if (cur().type !== 'eof') fail(cur(), `unexpected ${describe(cur())}, expecting ',', '|' or end of query`);
  return ast;
}

/** aptly's package reference "name_version_arch": first '_' ends the name, last '_' starts the arch. */
function splitPackageRef(text: string): { name: string; version: string; arch: string } | undefined {
  const i = text.indexOf('_');
  const j = text.lastIndexOf('_');
  if (i < 0 || j === i) return undefined;
  return { name: text.slice(0, i), version: text.slice(i + 1, j), arch: text.slice(j + 1) };
}

/** Go RE2 syntax is close to JS; translate a leading "(?flags)" which JS lacks. */
function goRegExp(source: string): RegExp {
  const m = /^\(\?([imsU]+)\)/.exec(source);
  if (m?.[1]?.includes('U')) throw new Error('ungreedy flag (?U) is not supported');
  return m ? new RegExp(source.slice(m[0].length), m[1]!.replace(/(.)(?=.*\1)/g, '')) : new RegExp(source);
}

/**
 * Go's filepath.Match as a RegExp: '*' and '?' do not match '/', '[^...]' negates, '\' escapes,
 * and the whole string must match. Malformed patterns throw (aptly silently matches nothing).
 */
function globRegExp(pattern: string): RegExp {
  const chars = [...pattern];
  const lit = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let i = 0;
  let re = '^';
  // One class member: Go's getEsc(), which also insists the class is eventually closed.
  const member = (): string => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') throw new Error(`bad character class at '${chars.slice(i).join('')}'`);
    if (c === '\\') c = chars[++i];
    if (c === undefined) throw new Error('trailing backslash');
    if (++i >= chars.length) throw new Error("missing ']'");
    return c;
  };
  while (i < chars.length) {
    const c = chars[i++]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i >= chars.length) throw new Error('trailing backslash');
      re += lit(chars[i++]!);
    } else if (c === '[') {
      const negated = chars[i] === '^';
      if (negated) i++;
      let ranges = '';
      for (let n = 0; !(chars[i] === ']' && n > 0); n++) {
        const lo = member();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = member();
        }
        // Go just never matches a reversed range; JS would reject it, so drop it.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges += lo === hi ? lit(lo) : `${lit(lo)}-${lit(hi)}`;
      }
      i++;
      re += `[${negated ? '^' : ''}${ranges}]`;
    } else re += lit(c);
  }
  return new RegExp(`${re}$`, 'u');
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Case-insensitive PackageFields over a control stanza, tagged with aptly's $PackageType. */
export function packageFields(fields: Record<string, string> | Map<string, string>, type: PackageType = 'deb'): PackageFields {
  const map = new Map<string, string>();
  for (const [k, v] of fields instanceof Map ? fields : Object.entries(fields)) map.set(k.toLowerCase(), v);
  map.set('$packagetype', type);
  return { get: (field) => map.get(field.toLowerCase()) };
}

/**
 * A field's value as aptly's Package.GetField() sees it. The special fields are taken from
 * `get` when it provides them and derived from the control fields otherwise.
 */
export function fieldValue(pkg: PackageFields, field: string): string {
  const direct = pkg.get(field);
  if (direct !== undefined) return direct;
  const isSource = () => fieldValue(pkg, '$PackageType') === 'source';
  const source = pkg.get('Source') ?? '';
  const paren = source.indexOf('(');
  switch (field.toLowerCase()) {
    case 'name':
      return pkg.get('Package') ?? '';
    case '$packagetype':
      return 'deb';
    case '$version':
      return pkg.get('Version') ?? '';
    case '$architecture':
      return isSource() ? 'source' : (pkg.get('Architecture') ?? '');
    case '$source':
      // Binary packages only; "Source: foo (1.2-1)" names foo, and no Source means the package's own name.
      if (isSource()) return '';
      if (source === '') return fieldValue(pkg, 'Name');
      return paren >= 0 ? source.slice(0, paren).trim() : source;
    case '$sourceversion': {
      if (isSource()) return '';
      const close = source.lastIndexOf(')');
      return paren >= 0 && close > paren ? source.slice(paren + 1, close).trim() : fieldValue(pkg, '$Version');
    }
  }
  return '';
}

/** Does the package match the parsed query? */
export function matches(ast: QueryNode, pkg: PackageFields): boolean {
  switch (ast.kind) {
    case 'or':
      return matches(ast.left, pkg) || matches(ast.right, pkg);
    case 'and':
      return matches(ast.left, pkg) && matches(ast.right, pkg);
    case 'not':
      return !matches(ast.query, pkg);
    case 'package':
      return fieldValue(pkg, 'Name') === ast.name && fieldValue(pkg, '$Version') === ast.version && fieldValue(pkg, '$Architecture') === ast.arch;
    case 'dependency':
      return matchesDependency(pkg, ast);
    case 'field':
      return matchesField(pkg, ast);
  }
}

/** Parse once and return a predicate, for filtering many packages. */
export function compileQuery(query: string): (pkg: PackageFields) => boolean {
  const ast = parse(query);
  return (pkg) => matches(ast, pkg);
}

// aptly's MatchesArchitecture: "all" packages match every architecture except "source".
function matchesArchitecture(pkg: PackageFields, arch: string): boolean {
  const own = fieldValue(pkg, '$Architecture');
  return (own === 'all' && arch !== 'source') || own === arch;
}

function providedNames(pkg: PackageFields): string[] {
  const text = pkg.get('Provides') ?? '';
  try {
    return parseRelationField(text, { field: 'Provides' }).flat().map((r) => r.name);
  } catch (e) {
    if (!(e instanceof RelationError)) throw e;
    // Malformed Provides: still honour the names it starts each entry with.
    return text.split(',').map((s) => s.trim().split(/[\s(:]/)[0] ?? '');
  }
}

function matchesDependency(pkg: PackageFields, q: Extract<QueryNode, { kind: 'dependency' }>): boolean {
  if (q.arch !== undefined && !matchesArchitecture(pkg, q.arch)) return false;
  const name = fieldValue(pkg, 'Name');
  // Only an unversioned condition is satisfied by a virtual package (aptly compares the
  // Provides names only when no version relation is given).
  if (!q.op) return name === q.name || providedNames(pkg).includes(q.name);
  if (name !== q.name) return false;
  return matchesVersion(fieldValue(pkg, '$Version'), q.op, q.version ?? '', q);
}

function matchesVersion(version: string, op: QueryOp, ref: string, node: QueryNode): boolean {
  if (op === '%' || op === '~') return pattern(node, op, ref).test(version);
  let c: number;
  try {
    c = compareVersions(version, ref);
  } catch (e) {
    if (e instanceof VersionError) return false; // an unparsable package version satisfies nothing
    throw e;
  }
  return op === '<<' ? c < 0 : op === '<=' ? c <= 0 : op === '=' ? c === 0 : op === '>=' ? c >= 0 : c > 0;
}

function matchesField(pkg: PackageFields, q: Extract<QueryNode, { kind: 'field' }>): boolean {
  if (q.field === '$Version') return !q.op || matchesVersion(fieldValue(pkg, '$Version'), q.op, q.value ?? '', q);
  if (q.field === '$Architecture' && q.op === '=') return matchesArchitecture(pkg, q.value ?? '');
  const value = fieldValue(pkg, q.field);
  if (!q.op) return value !== '';
  const ref = q.value ?? '';
  if (q.op === '%' || q.op === '~') return pattern(q, q.op, ref).test(value);
  // Plain fields compare lexicographically, byte-wise like Go strings.
  const c = Buffer.compare(Buffer.from(value), Buffer.from(ref));
  return q.op === '<<' ? c < 0 : q.op === '<=' ? c <= 0 : q.op === '=' ? c === 0 : q.op === '>=' ? c >= 0 : c > 0;
}

function pattern(node: QueryNode, op: '%' | '~', source: string): RegExp {
  let re = compiled.get(node);
  if (!re) {
    // Hand-built ASTs never went through parse(); a bad pattern there simply matches nothing.
    try {
      re = op === '~' ? goRegExp(source) : globRegExp(source);
    } catch {
      re = /(?!)/;
    }
    compiled.set(node, re);
  }
  return re;
}

export { parse as parseQuery };
