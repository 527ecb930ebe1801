import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compileQuery,
  fieldValue,
  matches,
  packageFields,
  parse,
  QueryError,
  type PackageFields,
  type QueryNode,
} from '../../repo-server/packages/query.js';

// A small archive covering binary/arch-all/udeb/source packages, epochs and binNMU sources.
const PACKAGES: Array<{ id: string; pkg: PackageFields }> = [
  {
    id: 'nginx',
    pkg: packageFields({
      Package: 'nginx',
      Version: '1.24.0-1',
      Architecture: 'amd64',
      Source: 'nginx',
      Priority: 'optional',
      Section: 'httpd',
      'Installed-Size': '100',
      'Multi-arch': 'foreign',
      Provides: 'httpd, httpd-cgi',
      Depends: 'nginx-common (= 1.24.0-1), libc6 (>= 2.34)',
    }),
  },
  {
    id: 'nginx-common',
    pkg: packageFields({ Package: 'nginx-common', Version: '1.24.0-1', Architecture: 'all', Source: 'nginx', Priority: 'optional', Section: 'httpd' }),
  },
  {
    id: 'libfoo1',
    pkg: packageFields({
      Package: 'libfoo1',
      Version: '1:2.0~rc1-1+b1',
      Architecture: 'amd64',
      Source: 'foo (1:2.0~rc1-1)',
      Priority: 'required',
      Section: 'non-free/libs',
      Provides: 'libfoo-abi-2 (= 2.0), default-foo',
    }),
  },
  { id: 'di-utils', pkg: packageFields({ Package: 'di-utils', Version: '1.148', Architecture: 'i386', Section: 'debian-installer' }, 'udeb') },
  { id: 'hello/src', pkg: packageFields({ Package: 'hello', Version: '2.10-3', Architecture: 'any', Section: 'devel' }, 'source') },
];

const select = (q: string) => {
  const pred = compileQuery(q);
  return PACKAGES.filter((p) => pred(p.pkg)).map((p) => p.id);
};

const dep = (name: string, extra: Partial<Extract<QueryNode, { kind: 'dependency' }>> = {}): QueryNode => ({ kind: 'dependency', name, ...extra });
const field = (f: string, op?: Extract<QueryNode, { kind: 'field' }>['op'], value?: string): QueryNode =>
  op ? { kind: 'field', field: f, op, value: value! } : { kind: 'field', field: f };

function parseError(q: string): QueryError {
  try {
    parse(q);
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(q)} to be rejected`);
}

// ---------------------------------------------------------------------------------------------
// Parsing (cases mirror aptly query/syntax_test.go and lex_test.go)

test('parse: dependency and field terms', () => {
  assert.equal(parse('package (<< 1.3~dev), $Source'), { kind: 'and', left: dep('package', { op: '<<', version: '1.3~dev' }), right: field('$Source') });
  assert.equal(parse('package (1.3), Name (lala) | !$Source'), {
    kind: 'or',
    left: { kind: 'and', left: dep('package', { op: '=', version: '1.3' }), right: field('Name', '=', 'lala') },
    right: { kind: 'not', query: field('$Source') },
  });
  assert.equal(parse('package, ((!(Name | $Source (~ a.*))))'), {
    kind: 'and',
    left: dep('package'),
    right: { kind: 'not', query: { kind: 'or', left: field('Name'), right: field('$Source', '~', 'a.*') } },
  });
  assert.equal(parse('Name'), field('Name'));
  assert.equal(parse('package (> 5.3.7) {amd64}'), dep('package', { op: '>=', version: '5.3.7', arch: 'amd64' }));
  assert.equal(parse('package (< 5.3.7)'), dep('package', { op: '<=', version: '5.3.7' }));
  assert.equal(parse('package (>>5.3)'), dep('package', { op: '>>', version: '5.3' }));
  assert.equal(parse('package {i386}'), dep('package', { arch: 'i386' }));
  assert.equal(parse('package (~ 5\\.3.*~dev)'), dep('package', { op: '~', version: '5\\.3.*~dev' }));
  assert.equal(parse('Priority (required)'), field('Priority', '=', 'required'));
  assert.equal(parse('$Version (% 3.5-*)'), field('$Version', '%', '3.5-*'));
  // Unlike aptly's lexer, '(' ends a word, so the Debian-style spelling without a space works.
  assert.equal(parse('nginx(>=1.0)'), dep('nginx', { op: '>=', version: '1.0' }));
});

test('parse: package references name_version_arch', () => {
  assert.equal(parse('alien-data_1.3.4~dev_i386'), { kind: 'package', name: 'alien-data', version: '1.3.4~dev', arch: 'i386' });
  // An upper-case first letter does not make it a field when it contains '_'.
  assert.equal(parse('Alien-data_1.3.4~dev_i386'), { kind: 'package', name: 'Alien-data', version: '1.3.4~dev', arch: 'i386' });
  // First '_' ends the name, last '_' starts the arch.
  assert.equal(parse('libmysqlclient18_5.5.35-rel33.0-611.squeeze_amd64'), {
    kind: 'package',
    name: 'libmysqlclient18',
    version: '5.5.35-rel33.0-611.squeeze',
    arch: 'amd64',
  });
  assert.equal(parse('a_1_2_b'), { kind: 'package', name: 'a', version: '1_2', arch: 'b' });
  // One '_' only, or followed by a condition: a (never matching) dependency name.
  assert.equal(parse('a_b'), dep('a_b'));
  assert.equal(parse('a_1_b (>= 1)'), dep('a_1_b', { op: '>=', version: '1' }));
});

test('parse: quoting and escapes', () => {
  // lex_test.go: 'd"a\'ta' lexes to d"a'ta
  assert.equal(parse(`"app", 'd"a\\'ta' {i386}`), { kind: 'and', left: dep('app'), right: dep(`d"a'ta`, { arch: 'i386' }) });
  assert.equal(parse(`Description (~ "hello, world | (x)")`), field('Description', '~', 'hello, world | (x)'));
  assert.equal(parse(`Priority ('')`), field('Priority', '=', ''));
  // Operators only count at the start of a token.
  assert.equal(parse('Name (a=b)'), field('Name', '=', 'a=b'));
});

test('parse: precedence , binds tighter than |, ! tighter than both', () => {
  assert.equal(parse('a | b, c'), { kind: 'or', left: dep('a'), right: { kind: 'and', left: dep('b'), right: dep('c') } });
  assert.equal(parse('a, b | c'), { kind: 'or', left: { kind: 'and', left: dep('a'), right: dep('b') }, right: dep('c') });
  assert.equal(parse('!a, b'), { kind: 'and', left: { kind: 'not', query: dep('a') }, right: dep('b') });
  assert.equal(parse('!a | b'), { kind: 'or', left: { kind: 'not', query: dep('a') }, right: dep('b') });
  assert.equal(parse('!!a'), { kind: 'not', query: { kind: 'not', query: dep('a') } });
  assert.equal(parse('(a | b), c'), { kind: 'and', left: { kind: 'or', left: dep('a'), right: dep('b') }, right: dep('c') });
  assert.equal(parse('a | b | c'), { kind: 'or', left: dep('a'), right: { kind: 'or', left: dep('b'), right: dep('c') } });
});

test('parse errors carry position and reason', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['package (> 5.3.7), ', 19, /unexpected end of query, expecting field or package name/],
    ['package>5.3.7)', 13, /unexpected '\)', expecting ',', '\|' or end of query/],
    ['package | !|', 11, /unexpected '\|', expecting field or package name/],
    ['((package )', 11, /unexpected end of query, expecting '\)'/],
    ['!package )', 9, /unexpected '\)'/],
    ["'package )", 0, /unterminated quoted string/],
    ['package (~ 1.2[34)', 11, /invalid regular expression "1.2\[34"/],
    ['$Name (~ 1.2[34)', 9, /invalid regular expression/],
    ['Name (% [a)', 8, /invalid shell pattern "\[a"/],
    ['Name (% abc\\)', 8, /invalid shell pattern/],
    ['Priority (required) {amd64}', 20, /unexpected '\{'/],
    ['nginx_1.0_amd64 {amd64}', 16, /unexpected '\{'/],
    ['nginx (>= )', 10, /unexpected '\)', expecting value/],
    ['nginx (>= 1.0', 13, /expecting '\)'/],
    ['nginx {amd64', 12, /expecting '\}'/],
    ['nginx {}', 7, /expecting architecture/],
    ['nginx (>= abc)', 10, /version 'abc' has bad syntax/],
    ['$Version (<< 1:)', 13, /bad syntax/],
    ["''", 0, /empty field or package name/],
    ['', 0, /unexpected end of query, expecting field or package name/],
    ['a b', 2, /unexpected "b"/],
    ['(a', 2, /expecting '\)'/],
  ];
  for (const [q, pos, re] of cases) {
    const e = parseError(q);
    assert.is(e.position, pos, `position for ${JSON.stringify(q)}: ${e.message}`);
    assert.match(e.message, re, q);
    assert.match(e.message, new RegExp(`at position ${pos}:`));
    assert.is(e.query, q);
    assert.is(e.name, 'QueryError');
  }
  // Versions are not checked for glob/regexp operators, nor for plain fields.
  parse('nginx (% abc*)');
  parse('Version (>= abc)');
});

// ---------------------------------------------------------------------------------------------
// Matching

test('bare package name matches the name or Provides, any architecture', () => {
  assert.equal(select('nginx'), ['nginx']);
  assert.equal(select('hello'), ['hello/src']);
  assert.equal(select('httpd-cgi'), ['nginx']);
  // Versioned Provides entries still provide the name.
  assert.equal(select('libfoo-abi-2'), ['libfoo1']);
  assert.equal(select('default-foo'), ['libfoo1']);
  // ... but only unversioned conditions are satisfied through Provides (as aptly).
  assert.equal(select('httpd (>= 0)'), []);
  assert.equal(select('nonexistent'), []);
});

test('version relations use Debian ordering (epochs, tildes)', () => {
  assert.equal(select('nginx (>= 1.24)'), ['nginx']);
  assert.equal(select('nginx (= 1.24.0-1)'), ['nginx']);
  assert.equal(select('nginx (<< 1.24.0-1)'), []);
  assert.equal(select('nginx (>> 1.24.0)'), ['nginx']);
  assert.equal(select('nginx (<= 1.24.0-0)'), []);
  assert.equal(select('nginx (1.24.0-1)'), ['nginx']);
  // The epoch outranks everything else.
  assert.equal(select('libfoo1 (>= 3.0)'), ['libfoo1']);
  assert.equal(select('libfoo1 (<< 1:2.0)'), ['libfoo1']); // ~rc1 sorts before the release
  assert.equal(select('libfoo1 (>= 1:2.0~)'), ['libfoo1']);
  assert.equal(select('libfoo1 (>= 1:2.0~rc1-1+b1)'), ['libfoo1']);
  assert.equal(select('libfoo1 (>> 1:2.0~rc1-1+b1)'), []);
  assert.equal(select('$Version (>= 1.100)'), ['libfoo1', 'di-utils', 'hello/src']);
  assert.equal(select('$Version (<< 2)'), ['nginx', 'nginx-common', 'di-utils']);
  assert.equal(select('$Version (= 2.10-3)'), ['hello/src']);
  assert.equal(select('$Version'), PACKAGES.map((p) => p.id));
  // Version globs and regexps apply to the raw version string.
  assert.equal(select('$Version (% 1.24*)'), ['nginx', 'nginx-common']);
  assert.equal(select('$Version (~ ^1:)'), ['libfoo1']);
  assert.equal(select('nginx (% 1.2?.*)'), ['nginx']);
  assert.equal(select('nginx-common (~ -1$)'), ['nginx-common']);
  // A package with an unparsable version satisfies no version relation, without throwing.
  const broken = packageFields({ Package: 'x', Version: 'not-a-version', Architecture: 'amd64' });
  assert.is(matches(parse('x (>= 1)'), broken), false);
  assert.is(matches(parse('x'), broken), true);
});

test('architecture braces and $Architecture', () => {
  assert.equal(select('nginx {amd64}'), ['nginx']);
  assert.equal(select('nginx {i386}'), []);
  // Arch "all" matches every architecture but source.
  assert.equal(select('nginx-common {i386}'), ['nginx-common']);
  assert.equal(select('nginx-common {source}'), []);
  assert.equal(select('hello {source}'), ['hello/src']);
  assert.equal(select('hello {any}'), []);
  assert.equal(select('nginx (>= 1.0) {amd64}'), ['nginx']);
  assert.equal(select('$Architecture (amd64)'), ['nginx', 'nginx-common', 'libfoo1']);
  assert.equal(select('$Architecture (source)'), ['hello/src']);
  // Other operators compare the plain value: "all" is just a string there.
  assert.equal(select('$Architecture (% a*)'), ['nginx', 'nginx-common', 'libfoo1']);
  assert.equal(select('$Architecture (~ ^i386$)'), ['di-utils']);
  // The control field keeps the source package's own Architecture line.
  assert.equal(select('Architecture (any)'), ['hello/src']);
});

test('special fields $Source, $SourceVersion, $PackageType', () => {
  assert.equal(select('$Source (nginx)'), ['nginx', 'nginx-common']);
  assert.equal(select('$Source (foo)'), ['libfoo1']);
  // No Source field: the binary's own name; source packages have no $Source.
  assert.equal(select('$Source (di-utils)'), ['di-utils']);
  assert.equal(select('$Source'), ['nginx', 'nginx-common', 'libfoo1', 'di-utils']);
  assert.equal(select('$SourceVersion (1:2.0~rc1-1)'), ['libfoo1']);
  assert.equal(select('$SourceVersion (1.24.0-1)'), ['nginx', 'nginx-common']);
  assert.equal(select('$PackageType (udeb)'), ['di-utils']);
  assert.equal(select('$PackageType (source)'), ['hello/src']);
  assert.equal(select('$PackageType (deb)'), ['nginx', 'nginx-common', 'libfoo1']);
  // A PackageFields that supplies the specials itself wins over derivation.
  const raw: Record<string, string> = { Package: 'p', Version: '1', Architecture: 'amd64', $Source: 'elsewhere' };
  const custom: PackageFields = { get: (f) => (Object.hasOwn(raw, f) ? raw[f] : undefined) };
  assert.is(matches(parse('$Source (elsewhere)'), custom), true);
  assert.is(fieldValue(custom, '$PackageType'), 'deb');
  assert.is(fieldValue(custom, 'Name'), 'p');
});

test('field conditions: equality, presence, lexicographic order, case-insensitive names', () => {
  assert.equal(select('Priority (required)'), ['libfoo1']);
  assert.equal(select('Priority (= optional)'), ['nginx', 'nginx-common']);
  assert.equal(select('Priority'), ['nginx', 'nginx-common', 'libfoo1']);
  assert.equal(select('!Priority'), ['di-utils', 'hello/src']);
  assert.equal(select("Priority ('')"), ['di-utils', 'hello/src']);
  assert.equal(select('Name (nginx)'), ['nginx']);
  // Strings, not numbers: "100" < "9".
  assert.equal(select('Installed-Size (>= 9)'), []);
  assert.equal(select('Installed-Size (>= 10)'), ['nginx']);
  // A missing field is the empty string, which sorts first.
  assert.equal(select('Installed-Size (<< 9)'), PACKAGES.map((p) => p.id));
  assert.equal(select('Priority (>> extra)'), ['nginx', 'nginx-common', 'libfoo1']);
  assert.equal(select('Priority (<= optional)'), ['nginx', 'nginx-common', 'di-utils', 'hello/src']);
  // Stanza written "Multi-arch", query says "Multi-Arch".
  assert.equal(select('Multi-Arch (foreign)'), ['nginx']);
  // Dependency fields are matched as text, as aptly documents for field queries.
  assert.equal(select('Depends (% *nginx-common*)'), ['nginx']);
  assert.equal(select('Depends (~ libc6)'), ['nginx']);
  // Regexps with '|', ',' or parentheses need quoting.
  assert.equal(select('Provides (~ "(^|, )httpd(,|$)")'), ['nginx']);
  assert.throws(() => parse('Provides (~ (^|, )httpd)'), /unexpected '\(', expecting value/);
});

test('shell patterns follow Go filepath.Match', () => {
  assert.equal(select('Name (% nginx*)'), ['nginx', 'nginx-common']);
  assert.equal(select('Name (% nginx?common)'), ['nginx-common']);
  assert.equal(select('Name (% *-*)'), ['nginx-common', 'di-utils']);
  assert.equal(select('Name (% lib[a-f]oo?)'), ['libfoo1']);
  assert.equal(select('Name (% [^n]*)'), ['libfoo1', 'di-utils', 'hello/src']);
  assert.equal(select('Name (% [hd]*)'), ['di-utils', 'hello/src']);
  assert.equal(select('Name (% nginx)'), ['nginx']); // anchored at both ends
  // '*' does not cross '/', but a literal '/' matches.
  assert.equal(select('Section (% non-free*)'), []);
  assert.equal(select('Section (% non-free/*)'), ['libfoo1']);
  assert.equal(select('Section (% */libs)'), ['libfoo1']);
  // Escapes make metacharacters literal.
  const star = packageFields({ Package: 'x', Version: '1', Architecture: 'all', Tag: 'a*b' });
  assert.is(matches(parse('Tag (% a\\*b)'), star), true);
  assert.is(matches(parse('Tag (% a\\*c)'), star), false);
  assert.is(matches(parse("Tag (% 'a[*]b')"), star), true);
  // Regexp metacharacters are literal in globs.
  assert.is(matches(parse('Tag (% a.b)'), star), false);
});

test('regular expressions are unanchored searches (Go FindStringIndex)', () => {
  assert.equal(select('Name (~ .*-common)'), ['nginx-common']);
  assert.equal(select('Name (~ ^lib)'), ['libfoo1']);
  assert.equal(select('Name (~ oo)'), ['libfoo1']);
  assert.equal(select('Name (~ "^(nginx|hello)$")'), ['nginx', 'hello/src']);
  // Go's leading inline flags.
  assert.equal(select('Name (~ "(?i)^NGINX$")'), ['nginx']);
  assert.throws(() => parse('Name (~ "(?U)a+")'), /ungreedy/);
});

test('boolean operators and precedence when matching', () => {
  // OR(nginx, AND(nginx-common, arch i386)); nginx-common is arch all, so it matches i386.
  assert.equal(select('nginx | nginx-common, $Architecture (i386)'), ['nginx', 'nginx-common']);
  assert.equal(select('nginx | libfoo1, $Architecture (i386)'), ['nginx']);
  assert.equal(select('(nginx | libfoo1), $Architecture (i386)'), []);
  assert.equal(select('!nginx, $Source (nginx)'), ['nginx-common']);
  assert.equal(select('!(nginx | nginx-common)'), ['libfoo1', 'di-utils', 'hello/src']);
  assert.equal(select('!nginx | nginx'), PACKAGES.map((p) => p.id));
  assert.equal(select('!!nginx'), ['nginx']);
  assert.equal(select('Priority (optional), !$Architecture (all) | $PackageType (udeb)'), ['nginx', 'di-utils']);
});

test('package references match name, version and arch exactly', () => {
  assert.equal(select('nginx_1.24.0-1_amd64'), ['nginx']);
  assert.equal(select('nginx_1.24.0-1_i386'), []);
  assert.equal(select('nginx-common_1.24.0-1_all'), ['nginx-common']);
  assert.equal(select('libfoo1_1:2.0~rc1-1+b1_amd64'), ['libfoo1']);
  // String equality, not version equality (aptly's PkgQuery).
  assert.equal(select('libfoo1_01:2.0~rc1-1+b1_amd64'), []);
  assert.equal(select('hello_2.10-3_source'), ['hello/src']);
  assert.equal(select('nginx_1.24.0-1_amd64 | hello_2.10-3_source'), ['nginx', 'hello/src']);
});

test('hand-built ASTs are matched too', () => {
  const nginx = PACKAGES[0]!.pkg;
  assert.is(matches({ kind: 'dependency', name: 'nginx', op: '%', version: '1.*' }, nginx), true);
  assert.is(matches({ kind: 'field', field: 'Name', op: '~', value: '^ng' }, nginx), true);
  // A bad pattern in a hand-built AST matches nothing rather than throwing.
  assert.is(matches({ kind: 'field', field: 'Name', op: '~', value: '[' }, nginx), false);
});

test.run();
