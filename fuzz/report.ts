// Run statistics and the end-of-run summary: cases, accepted, refusals by class, violations by
// kind and by mutator class, exits, OOM (RSS over the limit), hangs, peak RSS, time.

import type { MutatorClass } from './cases.js';
import type { Violation, ViolationKind } from './invariants.js';

export interface Summary {
  seed: number;
  cases: number;
  accepted: number;
  refused: number;
  /** Cases per mutator class (bombs and > 8 MiB seeds included, so a test can see they ran). */
  byClass: Record<string, number>;
  /** Milliseconds spent per mutator class (server time included). */
  msByClass: Record<string, number>;
  largeCases: number;
  refusals: Record<string, number>;
  violations: Record<string, number>;
  /** "<kind> <mutator class>" → count. */
  violationsByClass: Record<string, number>;
  violatingCases: number;
  runViolations: Violation[];
  restarts: number;
  peakTreeRssMb: number;
  peakHwmMb: number;
  seconds: number;
  /** Time of the case loop alone (without corpus/bomb set-up and the apt check). */
  caseSeconds: number;
  msPer1000: number;
  apt?: { suites: string[]; sampled: number; installed: number; dependencyRefusals: number };
}

const inc = (o: Record<string, number>, k: string, n = 1): void => {
  o[k] = (o[k] ?? 0) + n;
};

export class Stats {
  readonly s: Summary;
  private readonly started = Date.now();

  constructor(seed: number) {
    this.s = { seed, cases: 0, accepted: 0, refused: 0, byClass: {}, msByClass: {}, largeCases: 0, refusals: {}, violations: {}, violationsByClass: {}, violatingCases: 0, runViolations: [], restarts: 0, peakTreeRssMb: 0, peakHwmMb: 0, seconds: 0, caseSeconds: 0, msPer1000: 0 };
  }

  recordCase(cls: MutatorClass, large: boolean, accepted: number, refusal: string | undefined, violations: Violation[]): void {
    const s = this.s;
    s.cases++;
    inc(s.byClass, cls);
    if (large) s.largeCases++;
    if (accepted > 0) s.accepted++;
    if (refusal) {
      s.refused++;
      inc(s.refusals, refusal);
    }
    if (violations.length > 0) s.violatingCases++;
    for (const k of new Set(violations.map((v) => v.kind))) {
      inc(s.violations, k);
      inc(s.violationsByClass, `${k} ${cls}`);
    }
  }

  /** Marks the end of the case loop (started at loopStart). */
  loopDone(loopStart: number): void {
    this.s.caseSeconds = Math.round((Date.now() - loopStart) / 100) / 10;
    this.s.msPer1000 = this.s.cases > 0 ? Math.round((this.s.caseSeconds * 1000 * 1000) / this.s.cases) : 0;
  }

  recordTime(cls: MutatorClass, ms: number): void {
    inc(this.s.msByClass, cls, ms);
  }

  recordRunViolations(vs: Violation[]): void {
    for (const v of vs) {
      this.s.runViolations.push(v);
      inc(this.s.violations, v.kind);
    }
  }

  finish(peak: { treeKb: number; hwmKb: number }, restarts: number): Summary {
    const s = this.s;
    s.seconds = Math.round((Date.now() - this.started) / 100) / 10;
    s.peakTreeRssMb = Math.round(peak.treeKb / 1024);
    s.peakHwmMb = Math.round(peak.hwmKb / 1024);
    s.restarts = restarts;
    return s;
  }

  totalViolations(): number {
    return Object.values(this.s.violations).reduce((a, b) => a + b, 0);
  }
}

const count = (o: Record<string, number>, kind: ViolationKind): number => o[kind] ?? 0;

export function formatSummary(s: Summary): string {
  const lines = [
    `fuzz summary (seed ${s.seed})`,
    `  cases ${s.cases} in ${s.caseSeconds} s (${(s.msPer1000 / 1000).toFixed(1)} s per 1000; whole run ${s.seconds} s); by class: ${Object.entries(s.byClass).map(([k, v]) => `${k} ${v}`).join(', ')}; > 8 MiB: ${s.largeCases}`,
    `  mean ms per case: ${Object.entries(s.msByClass).map(([k, v]) => `${k} ${Math.round(v / (s.byClass[k] ?? 1))}`).join(', ')}`,
    `  accepted ${s.accepted}, refused ${s.refused}`,
    `  exits ${count(s.violations, 'exit')}, OOM (RSS > limit) ${count(s.violations, 'rss')}, hangs ${count(s.violations, 'hang')}, 5xx ${count(s.violations, '5xx')}, resets ${count(s.violations, 'reset')}, non-JSON ${count(s.violations, 'non-json')}, traversal ${count(s.violations, 'traversal')}; server restarts ${s.restarts}`,
    `  peak RSS ${s.peakTreeRssMb} MB (server + children, sampled), server VmHWM ${s.peakHwmMb} MB`,
  ];
  if (s.apt) lines.push(`  apt (${s.apt.suites.join(', ') || 'not reached'}): ${s.apt.sampled} sampled, ${s.apt.installed} installs ok, ${s.apt.dependencyRefusals} clean dependency refusals`);
  lines.push(`  violations: ${s.violatingCases} case(s)${s.runViolations.length ? `, ${s.runViolations.length} at run level (data dir, publish, apt)` : ''}`);
  for (const [k, v] of Object.entries(s.violationsByClass).sort((a, b) => b[1] - a[1])) lines.push(`    ${k.padEnd(22)} ${v}`);
  lines.push('  refusals by class (top 25):');
  for (const [k, v] of Object.entries(s.refusals).sort((a, b) => b[1] - a[1]).slice(0, 25)) lines.push(`    ${String(v).padStart(5)}  ${k}`);
  return lines.join('\n');
}
