// debpkg against real nfpm: each ported config (test/support/nfpm-config-list.ts) is built with
// `debpkg package -p deb` and compared with what nfpm v2.41.1 produced for it, recorded from the
// real binary by bench/record-nfpm.ts into test/fixtures/nfpm/nfpm-results.json (CI cannot build
// nfpm). Compared: every entry with mode, owner and symlink target, conffiles, every control field,
// control.tar members and ar members. A difference passes only if it is one of the deliberate
// ones below, each listed with its reason in docs/spec.md "Differences from nfpm"; a deliberate
// difference that no longer shows up fails too, so this table and the docs stay true.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffSummaries, summariseDeb } from '../support/deb-summary.js';
import { configKey, NFPM_CONFIGS, NFPM_ENV, NFPM_FIXTURES, NFPM_RESULTS, type NfpmResults } from '../support/nfpm-config-list.js';
import { CLI, execFileP } from '../support/project.js';

const recorded = JSON.parse(readFileSync(NFPM_RESULTS, 'utf8')) as NfpmResults;

/** Differences in every package, by design (docs/spec.md "Differences from nfpm"). */
const EVERYWHERE: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /^control Installed-Size: nfpm '\d+', debpkg '\d+'$/, why: "dpkg's per-file rounding up (nfpm divides the byte total, 0 for a small package)" },
  { pattern: /^control License: only nfpm /, why: 'not a Debian control field; the licence goes into the DEP-5 copyright file' },
  { pattern: /^control Section: nfpm '', debpkg 'misc'$/, why: 'nfpm writes an empty Section field; debpkg defaults it' },
  { pattern: /^control Description: nfpm '[^']*', debpkg '[^']*'$/, why: 'extended description lines keep their indentation (nfpm trims it)' },
  { pattern: /^entry \/: only debpkg \(drwxr-xr-x root\/root\)$/, why: 'the ./ root entry, as dpkg-deb writes it' },
  { pattern: /^entry \/usr\/(share\/)?: only debpkg \(drwxr-xr-x root\/root\)$/, why: 'parents of /usr/share/doc/<name>' },
  { pattern: /^entry \/usr\/share\/doc\/(\S+\/)?: only debpkg \(drwxr-xr-x root\/root\)$/, why: 'the doc directory' },
  { pattern: /^entry \/usr\/share\/doc\/\S+\/(copyright|changelog(\.Debian)?\.gz): only debpkg \(-rw-r--r-- root\/root\)$/, why: 'copyright and changelog, as Policy 12.5/12.7 ask' },
  { pattern: /^entry (\S+): nfpm l--------- 0\/0 -> (.*), debpkg lrwxrwxrwx root\/root -> \2$/, why: 'symlinks get mode 0777 and owner names, as tar and dpkg-deb write them' },
  { pattern: /^entry (\S+): nfpm (\S+) 0\/0, debpkg \2 root\/root$/, why: 'owner names written for every entry (nfpm leaves them empty on generated files)' },
  { pattern: /^conffile \/etc\/\S+: only debpkg$/, why: 'files under /etc are conffiles, as dh_installdeb marks them' },
];

/** Differences only some configs show, each deliberate. */
const PER_CONFIG: Record<string, RegExp[]> = {
  // version 1.0.0 has no Debian revision: a native package's changelog is changelog.gz (Policy 12.7)
  'init/nfpm.yaml': [/^entry \/usr\/share\/doc\/foo\/changelog\.Debian\.gz: only nfpm /],
};

/** Configs debpkg refuses on purpose though nfpm builds them (docs/spec.md). */
const REFUSED: Record<string, RegExp> = {
  'testdata/contents.yaml': /name: 'contents foo' is not a valid package name/,
  'testdata/overrides.yaml': /invalid package name 'deb_depend'/,
};

async function debpkg(config: string, cwd: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, [CLI, 'package', '-p', 'deb', '-f', config, '-t', `${out}/`], { cwd, env: { ...process.env, ...NFPM_ENV } });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let compared = 0;
let identical = 0;
for (const c of NFPM_CONFIGS) {
  const key = configKey(c);
  test(`debpkg vs nfpm: ${key}`, async () => {
    const theirs = recorded.configs[key];
    assert.ok(theirs, `${key} has a recorded nfpm result (run bench/record-nfpm.ts)`);
    const out = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'nfpm-rec-'));
    try {
      const r = await debpkg(c.config, join(NFPM_FIXTURES, c.cwd), out);
      if (REFUSED[key]) {
        assert.ok('summary' in theirs, 'nfpm builds it');
        assert.is(r.code, 2, r.stderr);
        assert.match(r.stderr, REFUSED[key]!);
        return;
      }
      if ('error' in theirs) {
        // nfpm fails on it (a missing key file, a crash); debpkg must fail too or build it whole
        if (r.code !== 0) assert.ok(r.stderr.trim() !== '', 'says why');
        else await summariseDeb(r.stdout.trim());
        return;
      }
      assert.is(r.code, 0, `builds as nfpm does (stderr: ${r.stderr})`);
      const diff = diffSummaries(theirs.summary, await summariseDeb(r.stdout.trim()));
      const expected = PER_CONFIG[key] ?? [];
      const unexplained = diff.filter((d) => !EVERYWHERE.some((e) => e.pattern.test(d)) && !expected.some((p) => p.test(d)));
      assert.equal(unexplained, [], `differences from nfpm not listed as deliberate:\n  ${unexplained.join('\n  ')}`);
      for (const p of expected) assert.ok(diff.some((d) => p.test(d)), `${p} still differs`);
      compared++;
      if (expected.length === 0) identical++;
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
}

test('summary', () => {
  const buildable = Object.values(recorded.configs).filter((r) => 'summary' in r).length;
  process.stdout.write(
    `\n  nfpm ${recorded.nfpm}: ${buildable} of ${NFPM_CONFIGS.length} configs build with nfpm; debpkg matches nfpm on ${compared} of them ` +
      `(${identical} with only the package-wide deliberate differences), refuses ${Object.keys(REFUSED).length} on purpose\n`,
  );
  assert.is(compared + Object.keys(REFUSED).length, buildable, 'every config nfpm builds is compared or refused on purpose');
});

test.run();
