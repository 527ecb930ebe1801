import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatRelation, parseRelation, parseRelationField, RelationError } from '../../deb/relation.js';

function rejects(text: string, re: RegExp, field?: string): void {
  try {
    parseRelationField(text, field ? { field } : {});
    assert.unreachable(`accepted '${text}'`);
  } catch (e) {
    assert.instance(e, RelationError, `'${text}'`);
    assert.match((e as Error).message, re, `'${text}'`);
  }
}

test('parses AND of OR-groups', () => {
  assert.equal(parseRelationField('aa (>= 1.0) | bb, cc'), [
    [{ name: 'aa', op: '>=', version: '1.0' }, { name: 'bb' }],
    [{ name: 'cc' }],
  ]);
  assert.equal(parseRelationField(''), []);
  assert.equal(parseRelationField('  \n '), []);
});

test('parses arch qualifiers, restrictions and profiles', () => {
  assert.equal(parseRelation('python3:any (>= 3.11~)'), { name: 'python3', arch: 'any', op: '>=', version: '3.11~' });
  assert.equal(parseRelation('libc6:amd64'), { name: 'libc6', arch: 'amd64' });
  assert.equal(parseRelation('foo (<< 2:1.0-1) [amd64 arm64] <!nocheck> <stage1  cross>'), {
    name: 'foo',
    op: '<<',
    version: '2:1.0-1',
    archRestrictions: ['amd64', 'arm64'],
    profiles: '<!nocheck> <stage1 cross>',
  });
  assert.equal(parseRelation('bar [!i386 !linux-any]'), { name: 'bar', archRestrictions: ['!i386', '!linux-any'] });
  assert.equal(parseRelation('g++-12 <!nocheck>'), { name: 'g++-12', profiles: '<!nocheck>' });
});

test('accepts free whitespace, folded lines and a trailing comma', () => {
  const field = 'libfoo1 ( >=1.2-3 ),\n libbar-dev(= 1:2.0)|\n\tlibbaz-dev [ amd64 ] ,\n';
  assert.is(formatRelation(parseRelationField(field)), 'libfoo1 (>= 1.2-3), libbar-dev (= 1:2.0) | libbaz-dev [amd64]');
});

test('normalises obsolete < and > to <= and >= (as dpkg does)', () => {
  assert.equal(parseRelation('aa (< 1.0)'), { name: 'aa', op: '<=', version: '1.0' });
  assert.equal(parseRelation('aa (>1.0)'), { name: 'aa', op: '>=', version: '1.0' });
  assert.equal(parseRelation('aa (>>1.0)'), { name: 'aa', op: '>>', version: '1.0' });
});

test('formatRelation round-trips canonical text', () => {
  for (const s of [
    'aa (>= 1.0) | bb, cc',
    'libc6 (>= 2.36), python3:any, foo:arm64 (= 1:2.0-1~bpo12+1)',
    'debhelper-compat (= 13), dh-python <!nocheck>, pkg-config [linux-any] <!stage1> <cross>',
  ]) {
    assert.is(formatRelation(parseRelationField(s)), s);
  }
});

test('rejects bad package names, naming the offending part', () => {
  rejects('Foo', /invalid package name 'Foo'/);
  rejects('a', /invalid package name 'a'/); // Policy: at least two characters
  rejects('-foo', /invalid package name '-foo'/);
  rejects('foo_bar (>= 1)', /invalid package name 'foo_bar'/);
  rejects('good, ba$d', /invalid package name 'ba\$d'/);
  rejects('(>= 1.0)', /missing package name/);
  rejects('aa, , bb', /empty relation between commas/);
  rejects('aa | | bb', /empty relation/);
  rejects(',', /empty relation/);
});

test('rejects bad versions and operators', () => {
  rejects('foo (>= v1.0)', /relation 'foo \(>= v1\.0\)'.*upstream version must start with a digit/);
  rejects('foo (>= 1.0_1)', /invalid character '_'/);
  rejects('foo (>= )', /missing version/);
  rejects('foo (1.0)', /missing or unknown operator in '\(1\.0\)'/);
  rejects('foo (!= 1.0)', /unknown operator/);
  rejects('foo (>= 1.0', /unterminated version restriction/);
  rejects('foo (>= 1.0 2)', /embedded spaces/);
});

test('rejects bad arch qualifiers, arch lists and profiles', () => {
  rejects('foo:', /invalid architecture qualifier 'foo:'/);
  rejects('foo:all', /invalid architecture qualifier 'foo:all'/);
  rejects('foo:AMD64', /invalid architecture qualifier/);
  rejects('foo []', /empty architecture restriction/);
  rejects('foo [amd64 !i386]', /mixes negated and non-negated/);
  rejects('foo [amd_64]', /invalid architecture 'amd_64'/);
  rejects('foo [amd64', /unterminated architecture restriction/);
  rejects('foo <>', /empty build profile/);
  rejects('foo <no$check>', /invalid build profile 'no\$check'/);
  // Order is fixed: (version) [archs] <profiles>.
  rejects('foo [amd64] (>= 1.0)', /unexpected '\(>= 1\.0\)' after 'foo \[amd64\]'/);
  rejects('foo bar', /unexpected 'bar' after 'foo'/);
});

test('field-specific rules: Provides and conflict-like fields', () => {
  assert.equal(parseRelationField('foo (= 1.0), bar', { field: 'Provides' }), [
    [{ name: 'foo', op: '=', version: '1.0' }],
    [{ name: 'bar' }],
  ]);
  rejects('foo (>= 1.0)', /Provides field.*only exact versions/, 'Provides');
  rejects('foo (< 1.0)', /only exact versions/, 'provides');
  rejects('foo | bar', /alternatives \('\|'\) are not allowed/, 'Provides');
  rejects('foo | bar', /alternatives/, 'Conflicts');
  rejects('foo | bar', /alternatives/, 'Breaks');
  assert.is(parseRelationField('foo | bar', { field: 'Depends' }).length, 1);
  // Without a field name nothing field-specific is enforced.
  assert.is(parseRelationField('foo (>= 1) | bar')[0]!.length, 2);
});

test.run();
