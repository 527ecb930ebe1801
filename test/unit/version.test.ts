import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareVersions,
  formatVersion,
  parseVersion,
  satisfiesRelation,
  VersionError,
  versionWithoutEpoch,
} from '../../deb/version.js';

// Deterministic PRNG (mulberry32) so failures are reproducible.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const hasDpkg = spawnSync('dpkg', ['--version']).status === 0;

/** Run one sh script (one process for all cases) and return its output lines. */
function runSh(script: string): string[] {
  const r = spawnSync('sh', ['-s'], { input: script, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split('\n');
}

const sign = (n: number) => (n < 0 ? 'lt' : n > 0 ? 'gt' : 'eq');

test('parseVersion splits epoch, upstream and revision', () => {
  assert.equal(parseVersion('1.0'), { epoch: 0, upstream: '1.0', revision: '' });
  assert.equal(parseVersion('2:1.0-3'), { epoch: 2, upstream: '1.0', revision: '3' });
  // Revision is after the LAST hyphen; ':' is allowed in upstream only with an epoch.
  assert.equal(parseVersion('1:2.0-rc1-0ubuntu1'), { epoch: 1, upstream: '2.0-rc1', revision: '0ubuntu1' });
  assert.equal(parseVersion('1:1:2'), { epoch: 1, upstream: '1:2', revision: '' });
  assert.equal(parseVersion(' 1.0~beta+dfsg.1-2~bpo12+1\t'), { epoch: 0, upstream: '1.0~beta+dfsg.1', revision: '2~bpo12+1' });
  assert.equal(parseVersion('007:1'), { epoch: 7, upstream: '1', revision: '' });
  assert.equal(parseVersion('2147483647:1').epoch, 2147483647);
});

test('parseVersion rejects bad syntax with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    ['1.0:a', /version '1\.0:a' has bad syntax: epoch in version is not number/],
    [':1.0', /epoch in version is empty/],
    ['-1:1.0', /epoch in version is negative/],
    ['2147483648:1', /epoch in version is too big/],
    ['99999999999999999999999:1', /too big/],
    ['1:', /nothing after colon/],
    ['1.0-', /revision number is empty/],
    ['1:-1', /upstream version is empty/],
    ['a1.0', /upstream version must start with a digit/],
    ['1:v2', /must start with a digit/],
    ['1.0 2', /embedded spaces/],
    ['1_0', /invalid character '_' in upstream version/],
    ['1.0-1_2', /invalid character '_' in revision/],
    ['1.0-a:b', /epoch in version is not number/],
  ];
  for (const [text, re] of cases) {
    try {
      parseVersion(text);
      assert.unreachable(`accepted '${text}'`);
    } catch (e) {
      assert.instance(e, VersionError, `'${text}'`);
      assert.match((e as Error).message, re, `'${text}'`);
    }
  }
});

test('formatVersion / versionWithoutEpoch', () => {
  assert.is(formatVersion(parseVersion('0:1.0-1')), '1.0-1');
  assert.is(formatVersion(parseVersion('3:1.0')), '3:1.0');
  assert.is(formatVersion({ epoch: 1, upstream: '2.0-x', revision: '1' }), '1:2.0-x-1');
  assert.is(versionWithoutEpoch('1:2.30-1+deb12u1'), '2.30-1+deb12u1');
  assert.is(versionWithoutEpoch('2.30'), '2.30');
  assert.throws(() => versionWithoutEpoch('x'), (e: unknown) => e instanceof VersionError);
});

test('compareVersions hand-written cases', () => {
  const lt: [string, string][] = [
    ['1.0~rc1', '1.0'],
    ['1.0~~', '1.0~'],
    ['1.0~', '1.0'],
    ['1.0', '1.0a'],
    ['1.0a', '1.0+'], // letters sort before non-letters
    ['1.0', '1.0.1'],
    ['9.9', '1:0.1'],
    ['1.0-1', '1.0+b1'],
    ['1.0-1', '1.0-1+b1'],
    ['1.0-1~bpo1', '1.0-1'],
    ['1.2', '1.10'],
    ['1.9999999999999999999998', '1.9999999999999999999999'], // beyond 2^53
    ['1.9007199254740993', '1.9007199254740994'],
    ['2.0-9', '2.0-10'],
    ['1:1.0', '2:0.1'],
    ['1.0-A', '1.0-a'],
  ];
  for (const [a, b] of lt) {
    assert.is(compareVersions(a, b), -1, `${a} < ${b}`);
    assert.is(compareVersions(b, a), 1, `${b} > ${a}`);
  }
  const eq: [string, string][] = [
    ['1.0', '1.0-0'],
    ['1.01', '1.1'],
    ['0:1.0', '1.0'],
    ['1.000000000000000000001', '1.1'],
    ['1.0-00', '1.0'],
  ];
  for (const [a, b] of eq) assert.is(compareVersions(a, b), 0, `${a} = ${b}`);
  assert.is(compareVersions(parseVersion('1.0'), '1.0'), 0);
});

test('satisfiesRelation', () => {
  assert.ok(satisfiesRelation('1.0', '<<', '1.1'));
  assert.not.ok(satisfiesRelation('1.1', '<<', '1.1'));
  assert.ok(satisfiesRelation('1.1', '<=', '1.1'));
  assert.ok(satisfiesRelation('1.1', '<', '1.1')); // legacy '<' means '<='
  assert.ok(satisfiesRelation('1.1', '=', '1.1-0'));
  assert.not.ok(satisfiesRelation('1.1', '=', '1.1-1'));
  assert.ok(satisfiesRelation('1.1', '>=', '1.1'));
  assert.ok(satisfiesRelation('1.1', '>', '1.1')); // legacy '>' means '>='
  assert.ok(satisfiesRelation('1:0', '>>', '99'));
  assert.not.ok(satisfiesRelation('1.0~rc1', '>=', '1.0'));
});

// Random valid versions built from the characters that matter for ordering.
function genVersion(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const digits = (): string => {
    const x = r();
    if (x < 0.1) return '0'.repeat(1 + Math.floor(r() * 3)) + String(Math.floor(r() * 20)); // leading zeros
    if (x < 0.2) return pick(['9007199254740993', '9007199254740992', '18446744073709551617', '123456789012345678901234567890']);
    if (x < 0.25) return String(Math.floor(r() * 1e9)) + String(Math.floor(r() * 1e9)); // ~18 digits
    return String(Math.floor(r() * (r() < 0.5 ? 3 : 12)));
  };
  const letters = () => pick(['a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'dfsg', 'b', 'ubuntu', 'bpo']);
  const hasEpoch = r() < 0.3;
  const hasRev = r() < 0.6;
  const seps = ['.', '.', '+', '~', '~~', ...(hasRev ? ['-'] : []), ...(hasEpoch ? [':'] : [])];
  let up = digits();
  for (let n = Math.floor(r() * 5); n > 0; n--) {
    const k = r();
    up += k < 0.45 ? pick(seps) : k < 0.7 ? letters() : digits();
  }
  let rev = '';
  if (hasRev) {
    const revParts = ['.', '+', '~', 'b', 'ubuntu', 'deb', 'bpo', 'A'];
    for (let n = 1 + Math.floor(r() * 3); n > 0; n--) rev += r() < 0.5 ? digits() : pick(revParts);
  }
  return (hasEpoch ? `${pick(['0', '1', '2', '01', '10'])}:` : '') + up + (hasRev ? `-${rev}` : '');
}

// Small edits of a version produce the interesting near-equal comparisons.
function mutate(v: string, r: () => number): string {
  const i = Math.floor(r() * (v.length + 1));
  const edits = [
    () => v,
    () => v + '~',
    () => v + pick(['a', '0', '.0', '+', '~b', '-0', '.1']),
    () => v.slice(0, i) + '~' + v.slice(i),
    () => v.slice(0, i) + '0' + v.slice(i),
    () => v.replace(/\d/, (d) => String((Number(d) + 1) % 10)),
    () => v.replace(/(\d)(?!.*\d)/, (d) => String((Number(d) + 9) % 10)),
    () => v.replace(/^\d+:/, ''),
    () => `1:${v.replace(/^\d+:/, '')}`,
    () => v.replace(/-[^-]*$/, ''),
    () => v.toUpperCase(),
    () => v.replace(/[a-z]/, 'Z'),
  ];
  function pick(xs: string[]): string {
    return xs[Math.floor(r() * xs.length)]!;
  }
  return edits[Math.floor(r() * edits.length)]!();
}

function isValid(v: string): boolean {
  try {
    parseVersion(v);
    return true;
  } catch {
    return false;
  }
}

test('compareVersions agrees with dpkg --compare-versions on 4000 generated pairs', () => {
  assert.ok(hasDpkg, 'dpkg is required: the suite compares against the real dpkg (test/setup-host.sh installs it)');
  const r = prng(0x5eed);
  const pairs: [string, string][] = [];
  while (pairs.length < 4000) {
    const a = genVersion(r);
    const b = r() < 0.5 ? mutate(a, r) : r() < 0.5 ? genVersion(r) : mutate(genVersion(r), r);
    if (isValid(a) && isValid(b)) pairs.push(r() < 0.5 ? [a, b] : [b, a]);
  }
  const script = [
    'c() { if dpkg --compare-versions "$1" lt "$2"; then echo lt; elif dpkg --compare-versions "$1" eq "$2"; then echo eq; else echo gt; fi; }',
    ...pairs.map(([a, b]) => `c ${shq(a)} ${shq(b)}`),
  ].join('\n');
  const want = runSh(script);
  assert.is(want.length, pairs.length);
  const counts = { lt: 0, eq: 0, gt: 0 };
  const mismatches: string[] = [];
  pairs.forEach(([a, b], k) => {
    const got = sign(compareVersions(a, b));
    counts[got]++;
    if (got !== want[k]) mismatches.push(`${a} vs ${b}: dpkg ${want[k]}, ours ${got}`);
  });
  assert.equal(mismatches.slice(0, 10), [], `${mismatches.length} mismatches`);
  // Make sure the generator actually exercises every outcome.
  assert.ok(counts.lt > 300 && counts.eq > 300 && counts.gt > 300, JSON.stringify(counts));
});

test('parseVersion accepts/rejects exactly what dpkg --validate-version does', () => {
  assert.ok(hasDpkg, 'dpkg is required: the suite compares against the real dpkg');
  const r = prng(42);
  const alphabet = ['0', '1', '9', '0', '1', '.', '+', '~', '-', '-', ':', ':', 'a', 'Z', ' ', '\t', '_', '!', '/', '@', ',', '$', "'", '"', '=', '%'];
  const samples = new Set<string>([
    '', ' ', '1', '1.0', '+1:1.0', '-0:1.0', ' 1.0 ', '1.0\t', '01:1.0', '2147483647:1', '2147483648:1',
    '99999999999999999999:1', '1:a', 'a', '1.0-', '1:-1', '1_0', '1.0-a:b', '1:1:1', 'A1', '1.0-1-2', '-1', ':1',
    '1 .0', '1e:1', '1:1.0-1:2', '0:0', '1.0-~', '1.0-+', '1.0--1', '1:1-1-', '~1', '1~', '1.0-1.a+B~',
  ]);
  // Half mostly-valid (generated + mutated), half random noise.
  while (samples.size < 300) samples.add(mutate(genVersion(r), r));
  while (samples.size < 700) {
    let s = '';
    for (let n = Math.floor(r() * 9); n > 0; n--) s += alphabet[Math.floor(r() * alphabet.length)]!;
    samples.add(s);
  }
  const list = [...samples];
  const script = [
    'v() { if dpkg --validate-version -- "$1" 2>/dev/null; then echo ok; else echo bad; fi; }',
    ...list.map((s) => `v ${shq(s)}`),
  ].join('\n');
  const want = runSh(script);
  assert.is(want.length, list.length);
  const mismatches = list
    .map((s, k) => ({ s, dpkg: want[k], ours: isValid(s) ? 'ok' : 'bad' }))
    .filter((m) => m.dpkg !== m.ours)
    .map((m) => `${JSON.stringify(m.s)}: dpkg ${m.dpkg}, ours ${m.ours}`);
  assert.equal(mismatches, []);
  const ok = want.filter((w) => w === 'ok').length;
  assert.ok(ok > 100 && list.length - ok > 100, `ok=${ok} of ${list.length}`);
});

test.run();
