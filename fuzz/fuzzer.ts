// The fuzz loop: build the corpus and bombs, start the server, run cases (a range, one case,
// or a replayed finding) within the count and time bounds, report each violation with its
// seed, case number and mutation (and save it), then the publish + apt check.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptCheck } from './apt-check.js';
import { loadBombs } from './bombs.js';
import { DEFAULT_MIX, makeCase, type FuzzCase, type Mix } from './cases.js';
import { buildCorpus } from './corpus.js';
import { loadFinding, saveFinding, saveRunFinding } from './findings.js';
import { Harness, type Accepted } from './harness.js';
import { formatSummary, Stats, type Summary } from './report.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Run only this case number. */
  only?: number;
  replay?: string;
  timeLimitS: number;
  findings: string;
  apt: boolean;
  aptSample: number;
  mix?: Mix;
  progressEvery?: number;
  log?: (s: string) => void;
}

export async function runFuzz(o: FuzzOptions): Promise<Summary> {
  const log = o.log ?? ((s: string) => console.log(s));
  const stats = new Stats(o.seed);
  const deadline = Date.now() + o.timeLimitS * 1000;
  const runDir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-fuzz-run-'));
  let harness: Harness | undefined;
  try {
    let next: (i: number) => Promise<FuzzCase | undefined>;
    if (o.replay) {
      const c = await loadFinding(o.replay);
      next = async (i) => (i === 0 ? c : undefined);
      log(`replaying ${o.replay}: seed ${c.seed} case ${c.caseNo} ${c.mutation}`);
    } else {
      const corpus = await buildCorpus();
      const bombs = await loadBombs(log);
      const first = o.only ?? 0;
      const last = o.only !== undefined ? o.only + 1 : o.cases;
      next = async (i) => (first + i < last ? makeCase(o.seed, first + i, corpus, bombs, o.mix ?? DEFAULT_MIX) : undefined);
      log(`fuzz: seed ${o.seed}, cases ${first}..${last - 1}, corpus ${corpus.length} seeds, ${bombs.size} bombs, time limit ${o.timeLimitS} s`);
    }
    harness = await Harness.start(runDir);
    const accepted: Accepted[] = [];
    const loopStart = Date.now();
    for (let i = 0; ; i++) {
      if (Date.now() > deadline) {
        log(`time limit of ${o.timeLimitS} s reached after ${i} cases`);
        break;
      }
      const c = await next(i);
      if (!c) break;
      const t0 = Date.now();
      const out = await harness.runCase(c);
      stats.recordTime(c.cls, Date.now() - t0);
      accepted.push(...out.accepted);
      if (out.poisoned) {
        stats.recordRunViolations([out.poisoned]);
        log(`VIOLATION seed=${c.seed} after case=${c.caseNo} (data dir)\n  ${out.poisoned.kind}: ${out.poisoned.detail}`);
        accepted.length = 0;
      }
      stats.recordCase(c.cls, c.seedId.startsWith('fz-large'), out.accepted.length, out.refusal, out.violations);
      if (out.violations.length > 0) {
        const file = await saveFinding(o.findings, c, out.violations);
        for (const v of out.violations) log(`VIOLATION seed=${c.seed} case=${c.caseNo} class=${c.cls} seed-pkg=${c.seedId} mutation=${c.mutation}\n  ${v.kind}: ${v.detail.split('\n').join('\n  ')}\n  saved: ${file}`);
      }
      if (o.only !== undefined || o.replay) {
        log(`case ${c.caseNo}: ${c.mutation}\n  ${out.replies.map((r) => `${r.method} ${r.path.slice(0, 80)} → ${r.status || r.error} (${r.ms} ms) ${r.text.slice(0, 300)}`).join('\n  ')}`);
      }
      const every = o.progressEvery ?? 250;
      if ((i + 1) % every === 0) {
        const s = stats.s;
        log(`progress: ${s.cases} cases, ${s.accepted} accepted, ${s.refused} refused, ${s.violatingCases} violating, ${harness.restarts} restarts, peak RSS server ${Math.round(harness.peakServerKb / 1024)} MB, with children ${Math.round(harness.peakTreeKb / 1024)} MB`);
      }
    }
    stats.loopDone(loopStart);
    if (o.apt) {
      const apt = await aptCheck(harness.target(), accepted, { sample: o.aptSample, seed: o.seed, log });
      stats.s.apt = { suites: apt.suites, sampled: apt.sampled, installed: apt.installed, dependencyRefusals: apt.dependencyRefusals };
      stats.recordRunViolations(apt.violations);
      for (const [i, v] of apt.violations.entries()) {
        const file = await saveRunFinding(o.findings, `s${o.seed}-${v.kind}-${i + 1}.txt`, v.detail + '\n');
        log(`VIOLATION seed=${o.seed} (end of run)\n  ${v.kind}: ${v.detail.split('\n').join('\n  ')}\n  saved: ${file}`);
      }
    }
    await harness.stop();
    const summary = stats.finish(harness.peakKb(), harness.restarts);
    log(formatSummary(summary));
    return summary;
  } finally {
    await harness?.stop().catch(() => undefined);
    await rm(runDir, { recursive: true, force: true });
  }
}

export function violationCount(s: Summary): number {
  return Object.values(s.violations).reduce((a, b) => a + b, 0);
}
