// The repo server under the seeded fuzzer (fuzz/): 2,000 mutated packages (bit flips, ar and
// tar header damage, control-field abuse, odd upload names, > 8 MiB packages, decompression
// bombs) through upload → add against a server child process, holding every answer to 2xx/4xx
// JSON within 10 s, the process to never exit and to stay under 300 MB; then every accepted
// package is published and apt on bookworm and trixie must update and install a sample.
// A fixed seed keeps CI reproducible; DEBPKG_FUZZ_SEED explores others.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFuzz } from '../../fuzz/fuzzer.js';
import { formatSummary } from '../../fuzz/report.js';

const CASES = 2000;

test(`fuzz: ${CASES} seeded cases keep every invariant, then the accepted packages publish and install on bookworm and trixie`, async () => {
  const seed = Number(process.env.DEBPKG_FUZZ_SEED ?? 20261202);
  const findings = process.env.DEBPKG_FUZZ_FINDINGS ?? (await mkdtemp(join(tmpdir(), 'debpkg-fuzz-findings-')));
  const lines: string[] = [];
  const summary = await runFuzz({
    seed,
    cases: CASES,
    timeLimitS: 420,
    findings,
    apt: true,
    aptSample: 20,
    progressEvery: 500,
    log: (s) => {
      lines.push(s);
      if (!s.startsWith('VIOLATION')) console.log(s);
    },
  });
  const report = [
    formatSummary(summary),
    'first case violations:',
    ...lines.filter((l) => l.startsWith('VIOLATION')).slice(0, 10),
    'run-level violations (data dir, publish, apt):',
    ...summary.runViolations.map((v) => `${v.kind}: ${v.detail}`),
    `findings saved in ${findings}`,
  ].join('\n');
  assert.ok(summary.cases >= CASES, `only ${summary.cases} of ${CASES} cases ran within the time limit\n${report}`);
  assert.ok((summary.byClass.bomb ?? 0) > 0, 'no decompression bomb was sent');
  assert.ok(summary.largeCases > 0, 'no > 8 MiB package was sent');
  assert.ok(summary.accepted > 0, 'nothing was accepted, so apt judged nothing');
  assert.equal(summary.apt?.suites, ['bookworm', 'trixie'], report);
  assert.equal(summary.violations, {}, report);
});

test.run();
