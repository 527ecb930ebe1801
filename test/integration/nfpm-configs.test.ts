// nfpm conformance: nfpm's own configs (test/fixtures/nfpm, ported from goreleaser/nfpm) built as
// written with `debpkg package -p deb`, from the fixture root as nfpm's acceptance tests run from
// nfpm's root, and checked against what nfpm's own tests assert (testdata/acceptance/deb.dockerfile,
// nfpm_test.go, deb/deb_test.go). nfpm-recorded.test.ts compares the same configs with what a real
// nfpm binary produced. Where debpkg differs on purpose, the case says so and docs/spec.md
// "Differences from nfpm" gives the reason.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, execFileP, REPO_ROOT } from '../support/project.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/nfpm');
// nfpm's acceptance tests set these for every config (acceptance_test.go).
const ENV = { BUILD_ARCH: 'amd64', SEMVER: 'v1.0.0-0.1.b1+git.abcdefgh' };

interface Entry {
  mode: string;
  owner: string;
  target?: string;
}

interface Case {
  config: string;
  /** Directory the build runs in (nfpm's acceptance tests: nfpm's root). */
  cwd?: string;
  /** Paths with their `ls -l` mode (and symlink target) that nfpm's tests require. */
  entries?: Record<string, string>;
  absent?: string[];
  control?: Record<string, string>;
  scripts?: string[];
  /** Exactly the conffiles, where debpkg's list is nfpm's plus the /etc rule (see docs). */
  conffiles?: string[];
  /** Members of control.tar besides control and md5sums (debconf files, triggers). */
  controlMembers?: string[];
  /** The build is refused with this error: nfpm builds it, debpkg does not yet / on purpose. */
  refused?: RegExp;
  /** The package's ar members in order (signatures). */
  members?: string[];
}

const FOLDER = {
  '/usr/share/whatever/folder/': 'drwxr-xr-x',
  '/usr/share/whatever/folder/file1': '-rw-r--r--',
  '/usr/share/whatever/folder/file2': '-rw-r--r--',
  '/usr/share/whatever/folder/folder2/': 'drwxr-xr-x',
  '/usr/share/whatever/folder/folder2/file1': '-rw-r--r--',
  '/usr/share/whatever/folder/folder2/file2': '-rw-r--r--',
};
const SIMPLE = { '/usr/bin/fake': '-rwxr-xr-x', '/etc/foo/whatever.conf': '-rw-r--r--' };

const cases: Case[] = [
  {
    config: 'testdata/acceptance/core.complex.yaml',
    entries: {
      ...SIMPLE,
      ...FOLDER,
      '/usr/bin/fake2': '-rwsr-xr-x',
      '/var/log/whatever/': 'drwxr-xr-x',
      '/usr/share/foo/': 'drwxr-xr-x',
      '/usr/foo/bar/something/': 'drwxr-xr-x',
      '/etc/something/a': '-rw-r--r--',
      '/etc/something/b': '-rw-r--r--',
      '/etc/something/c/d': '-rw-r--r--',
    },
    control: { Version: '1.2.3~beta', Depends: 'bash', Suggests: 'zsh', Recommends: 'fish', Provides: 'fake', Replaces: 'foo' },
    scripts: ['postinst', 'postrm', 'preinst', 'prerm'],
    // nfpm: only /etc/foo/whatever.conf (type: config); debpkg: every file under /etc.
    conffiles: ['/etc/foo/whatever.conf', '/etc/something/a', '/etc/something/b', '/etc/something/c/d'],
  },
  { config: 'testdata/acceptance/core.env-var-version.yaml', control: { Version: '1.0.0~0.1.b1+git.abcdefgh' }, entries: { ...SIMPLE } },
  { config: 'testdata/acceptance/core.meta.yaml', control: { Depends: 'zsh', Version: '1.2.3~beta' } },
  { config: 'testdata/acceptance/core.min.yaml', control: { Package: 'foo', Version: '1.2.3', Architecture: 'amd64' } },
  {
    config: 'testdata/acceptance/core.no-glob.yaml',
    entries: {
      '/usr/share/whatever/file1': '-rw-r--r--',
      '/usr/share/whatever/file2': '-rw-r--r--',
      '/usr/share/whatever/folder2/file1': '-rw-r--r--',
      '/usr/share/whatever/folder2/file2': '-rw-r--r--',
    },
  },
  {
    config: 'testdata/acceptance/core.overrides.yaml',
    entries: { ...SIMPLE, ...FOLDER },
    // overrides.deb replaces depends and adds only postinstall and preremove.
    control: { Depends: 'bash (>= 4.4) | fish' },
    scripts: ['postinst', 'prerm'],
    conffiles: ['/etc/foo/whatever.conf'],
  },
  // signed with nfpm's test key (ported with the configs): the member nfpm writes
  { config: 'testdata/acceptance/core.signed.yaml', entries: { '/usr/bin/fake': '-rwxr-xr-x' }, members: ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgorigin'] },
  { config: 'testdata/acceptance/core.simple.yaml', entries: { ...SIMPLE }, conffiles: ['/etc/foo/whatever.conf'] },
  { config: 'testdata/acceptance/core.symlink.yaml', entries: { '/path/to/symlink': 'lrwxrwxrwx -> /etc/foo/whatever.conf' } },
  {
    config: 'testdata/acceptance/core.withchangelog.yaml',
    entries: { '/usr/bin/fake': '-rwxr-xr-x', '/usr/share/doc/foo/copyright': '-rw-r--r--', '/usr/share/doc/foo/changelog.Debian.gz': '-rw-r--r--' },
    control: { Version: '1.2.3-simple', Section: 'misc', Maintainer: 'Foo Bar <foo@example.org>' },
  },
  { config: 'testdata/acceptance/deb.breaks.yaml', control: { Breaks: 'dummy' } },
  { config: 'testdata/acceptance/deb.debsign.sign.yaml', members: ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgorigin'] },
  { config: 'testdata/acceptance/deb.dpkg-sig.sign.yaml', members: ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgbuilder'] },
  { config: 'testdata/acceptance/deb.gzip.compression.yaml', entries: { ...SIMPLE } },
  { config: 'testdata/acceptance/deb.none.compression.yaml', entries: { ...SIMPLE } },
  { config: 'testdata/acceptance/deb.predepends.yaml', control: { 'Pre-Depends': 'less' } },
  { config: 'testdata/acceptance/deb.rules.yaml', entries: SIMPLE, controlMembers: ['rules', 'templates', 'config'] },
  { config: 'testdata/acceptance/deb.triggers.yaml', entries: { '/usr/bin/fake': '-rwxr-xr-x' }, scripts: ['postinst'], controlMembers: ['triggers'] },
  { config: 'testdata/acceptance/deb.xz.compression.yaml', entries: { ...SIMPLE } },
  { config: 'testdata/acceptance/deb.zstd.compression.yaml', entries: { ...SIMPLE } },
  { config: 'testdata/acceptance/upgrade.v1.yaml', control: { Version: '1.2.3' } },
  { config: 'testdata/acceptance/upgrade.v2.yaml', control: { Version: '2.0.0' } },
  // A package name with a space: nfpm writes it; dpkg refuses to install it.
  { config: 'testdata/contents.yaml', refused: /name: 'contents foo' is not a valid package name/ },
  {
    config: 'testdata/contents_directory.yaml',
    entries: { '/etc/foo/a.txt': '-rw-r--r--', '/etc/foo/nested/b.txt': '-rw-r--r--', '/etc/foo/multi-nested/subdir/c.txt': '-rw-r--r--' },
    control: { Maintainer: 'Unset Maintainer <unset@localhost>', Description: 'no description given' },
  },
  { config: 'testdata/contents_glob.yaml', entries: { '/etc/foo/a.txt': '-rw-r--r--', '/etc/foo/b.txt': '-rw-r--r--', '/etc/foo/c.txt': '-rw-r--r--' } },
  // a parse test of nfpm's: unset variables leave version 'v' (nfpm fails later, on its placeholder key file)
  { config: 'testdata/env-fields.yaml', refused: /version: 'v' is not a valid Debian version/ },
  // 'deb_depend' is not a Debian package name (no '_'): nfpm writes it, apt cannot resolve it.
  { config: 'testdata/overrides.yaml', refused: /overrides\.deb\.depends\[0\]: .*invalid package name 'deb_depend'/ },
  {
    config: 'testdata/overrides-missing.yaml',
    entries: { '/etc/foo/whatever.conf': '-rw-r--r--', '/deb/path.conf': '-rw-r--r--' },
    absent: ['/rpm/path.conf', '/apk/path.conf'],
    conffiles: ['/deb/path.conf', '/etc/foo/whatever.conf'],
  },
  {
    config: 'nfpm.yaml',
    cwd: 'init',
    entries: { '/usr/bin/foo': '-rwxr-xr-x', '/usr/bin/bar': '-rwxr-xr-x', '/etc/foobar.conf': '-rw-r--r--', '/sbin/foo': 'lrwxrwxrwx -> /usr/bin/foo' },
    control: { Depends: 'foo, bar', Provides: 'bar', Replaces: 'foobar', Conflicts: 'not-foo, not-bar', Section: 'default', Priority: 'extra' },
    scripts: ['postinst', 'prerm'],
    conffiles: ['/etc/foobar.conf'],
  },
];

async function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...ENV }, maxBuffer: 16 << 20 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `dpkg-deb -c` as path → "mode[ -> target]", owners checked on the way (nfpm: root:root). */
async function listing(deb: string): Promise<Map<string, Entry>> {
  const { stdout } = await execFileP('dpkg-deb', ['-c', deb]);
  const out = new Map<string, Entry>();
  for (const line of stdout.trim().split('\n')) {
    const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.(\/\S*)(?: -> (.*))?$/.exec(line);
    if (!m) throw new Error(`unexpected dpkg-deb -c line: ${line}`);
    out.set(m[3]!, { mode: m[1]!, owner: m[2]!, ...(m[4] !== undefined ? { target: m[4] } : {}) });
  }
  return out;
}

let built = 0;
for (const c of cases) {
  test(`nfpm config ${c.cwd ? `${c.cwd}/` : ''}${c.config}`, async () => {
    const out = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'nfpm-conf-'));
    try {
      const r = await run(['package', '-p', 'deb', '-f', c.config, '-t', `${out}/`], join(FIXTURES, c.cwd ?? ''));
      if (c.refused) {
        assert.is(r.code, 2, `refused (stderr: ${r.stderr})`);
        assert.match(r.stderr, c.refused);
        return;
      }
      assert.is(r.code, 0, `builds as written (stderr: ${r.stderr})`);
      built++;
      const deb = r.stdout.trim();
      const entries = await listing(deb);
      for (const [path, want] of Object.entries(c.entries ?? {})) {
        const e = entries.get(path);
        assert.ok(e, `${path} is in the package`);
        assert.is(`${e.mode}${e.target !== undefined ? ` -> ${e.target}` : ''}`, want, path);
      }
      for (const e of entries.values()) assert.is(e.owner, 'root/root');
      for (const path of c.absent ?? []) assert.not.ok(entries.has(path), `${path} is for another packager`);
      for (const [field, value] of Object.entries(c.control ?? {})) {
        const { stdout } = await execFileP('dpkg-deb', ['-f', deb, field]);
        assert.is(stdout.trim(), value, field);
      }
      const { stdout: info } = await execFileP('dpkg-deb', ['-I', deb]);
      if (c.scripts) {
        const found = ['preinst', 'postinst', 'prerm', 'postrm'].filter((s) => new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\* +${s} `, 'm').test(info));
        assert.equal(found.sort(), [...c.scripts].sort(), 'maintainer scripts');
      }
      for (const member of c.controlMembers ?? []) {
        assert.match(info, new RegExp(`^ +\\d+ bytes, +\\d+ lines +\\*? *${member} `, 'm'), `control.tar has ${member}`);
      }
      if (c.members) assert.equal((await execFileP('ar', ['t', deb])).stdout.trim().split('\n'), c.members, 'ar members');
      if (c.conffiles) {
        const listed = /conffiles/.test(info) ? (await execFileP('dpkg-deb', ['-I', deb, 'conffiles'])).stdout.trim().split('\n') : [];
        assert.equal(listed.sort(), [...c.conffiles].sort(), 'conffiles');
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
}

test('the configuration reference lists all of its problems in one run', async () => {
  const r = await run(['package', '-p', 'deb', '-f', 'reference.nfpm.yaml', '-t', '/nonexistent/'], FIXTURES);
  assert.is(r.code, 2);
  // one problem: "debpkg: error: FILE:L:C: …"; several: a "FILE: N problems:" header and one line each
  const lines = r.stderr.split('\n').filter((l) => /(^ {2}|^debpkg: error: )reference\.nfpm\.yaml:\d+:\d+: /.test(l));
  const header = /reference\.nfpm\.yaml: (\d+) problems:/.exec(r.stderr);
  assert.is(lines.length, header ? Number(header[1]) : 1, `one line per problem: ${r.stderr}`);
  for (const want of [/contents\[\d+\]\.src: must not be empty/]) {
    assert.ok(lines.some((l) => want.test(l)), `lists ${want}`);
  }
});

test('every config not refused above builds as written', () => {
  assert.is(built, cases.filter((c) => !c.refused).length);
  process.stdout.write(`\n  nfpm configs built as written: ${built} of ${cases.length + 1}\n`);
});

test.run();
