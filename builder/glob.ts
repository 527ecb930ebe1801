// The glob dialect of contents[].src, as nfpm reads it (goreleaser/fileglob on gobwas/glob), so a
// migrated spec matches the same files: `*` and `?` stay within one path segment, `**` matches any
// run of characters including `/` (so `a/**/b` needs at least one directory between a and b, and
// `a/**` takes everything below a), `[abc]`, `[a-z]`, `[!a]`, `{x,y}` (nestable, may span `/`),
// and `\` quotes the next character. Hidden files are not special.
// Our own matcher rather than fast-glob: fast-glob's `**` means "zero or more directories" and its
// root handling is what crashed on absolute patterns; here a pattern is split once into a static
// directory (walked from) and a dynamic rest (compiled to one RegExp tested on paths below it).

export class GlobSyntaxError extends Error {}

export interface CompiledGlob {
  /** The directory before the first wildcard, unquoted ('' = the base directory; '/' = root). */
  staticDir: string;
  /** Tested on a path relative to staticDir ("sub/file.txt"). */
  matcher: RegExp;
  /** How many path segments below staticDir can match at most (Infinity with `**` or braces). */
  maxDepth: number;
}

const META = new Set(['*', '?', '[', '{']);

/** Index of the first unquoted wildcard character, or -1 for a plain path. */
function firstMeta(pattern: string): number {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') i++;
    else if (META.has(c)) return i;
  }
  return -1;
}

export function isGlob(pattern: string): boolean {
  return firstMeta(pattern) >= 0;
}

/** Drops the quoting backslashes of a pattern without wildcards ("a\{b\}" → "a{b}"). */
export function unquote(pattern: string): string {
  return pattern.replace(/\\(.)/gs, '$1');
}

const escapeRegExp = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Translates pattern[from..] up to an unquoted stop character (',' or '}' inside braces). */
function translate(pattern: string, from: number, inBraces: boolean): { source: string; end: number } {
  let out = '';
  let i = from;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (inBraces && (c === ',' || c === '}')) return { source: out, end: i };
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw new GlobSyntaxError('ends with a lone \\');
      out += escapeRegExp(pattern[i + 1]!);
      i += 2;
    } else if (c === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*';
        i += 2;
      } else {
        out += '[^/]*';
        i += 1;
      }
    } else if (c === '?') {
      out += '[^/]';
      i += 1;
    } else if (c === '[') {
      const cls = translateClass(pattern, i);
      out += cls.source;
      i = cls.end;
    } else if (c === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      while (true) {
        const alt = translate(pattern, j, true);
        alternatives.push(alt.source);
        if (alt.end >= pattern.length) throw new GlobSyntaxError("unclosed '{'");
        j = alt.end + 1;
        if (pattern[alt.end] === '}') break;
      }
      out += `(?:${alternatives.join('|')})`;
      i = j;
    } else {
      out += escapeRegExp(c);
      i += 1;
    }
  }
  if (inBraces) return { source: out, end: pattern.length };
  return { source: out, end: i };
}

/** `[abc]`, `[a-z]`, `[!abc]`: one character of a segment (never `/`). */
function translateClass(pattern: string, open: number): { source: string; end: number } {
  let i = open + 1;
  const negated = pattern[i] === '!';
  if (negated) i++;
  let body = '';
  let first = true;
  while (i < pattern.length && (pattern[i] !== ']' || first)) {
    let c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) c = pattern[++i]!;
    // A range keeps its '-'; every other character is taken literally.
    body += c === '-' && !first && pattern[i + 1] !== ']' ? '-' : c.replace(/[\\\]^-]/g, '\\$&');
    first = false;
    i++;
  }
  if (i >= pattern.length) throw new GlobSyntaxError("unclosed '['");
  return { source: negated ? `[^/${body}]` : `(?!/)[${body}]`, end: i + 1 };
}

export function compileGlob(written: string): CompiledGlob {
  // A trailing "/" names nothing more than the pattern without it (as in nfpm).
  const pattern = written.length > 1 ? written.replace(/\/+$/, '') : written;
  const meta = firstMeta(pattern);
  if (meta < 0) throw new GlobSyntaxError('has no wildcard');
  const slash = pattern.lastIndexOf('/', meta);
  const staticDir = slash < 0 ? '' : slash === 0 ? '/' : unquote(pattern.slice(0, slash));
  const dynamic = pattern.slice(slash + 1);
  if (dynamic === '') throw new GlobSyntaxError('ends with /');
  const matcher = new RegExp(`^${translate(dynamic, 0, false).source}$`, 's');
  const unbounded = dynamic.includes('**') || dynamic.includes('{');
  return { staticDir, matcher, maxDepth: unbounded ? Infinity : dynamic.split('/').length };
}
