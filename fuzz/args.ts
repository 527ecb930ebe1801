// Command line of dist/fuzz/run.js. Bounded by default (2000 cases, 10 minutes); a seed is
// chosen and printed when none is given, so every run can be repeated.

import type { FuzzOptions } from './fuzzer.js';

export const USAGE = `usage: node dist/fuzz/run.js [--cases N] [--seed S] [--case N] [--time-limit SECONDS]
                           [--findings DIR] [--no-apt] [--apt-sample N] [--replay FILE.json]
  --cases N          cases to run (default 2000)
  --seed S           run seed (default: chosen from the clock and printed)
  --case N           run only case N of seed S (reproduce a reported violation)
  --time-limit S     stop starting cases after S seconds (default 600)
  --findings DIR     where violating inputs are saved (default ./fuzz-findings)
  --no-apt           skip the end-of-run publish + apt-get check
  --apt-sample N     accepted packages to apt-get install per suite (default 20)
  --replay FILE      re-send a saved finding (its .json; the .deb beside it)`;

function int(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${name} needs a non-negative integer (got ${v ?? 'nothing'})`);
  return n;
}

export function parseArgs(argv: string[]): FuzzOptions | 'help' {
  const o: FuzzOptions = { seed: Date.now() % 2 ** 31, cases: 2000, timeLimitS: 600, findings: 'fuzz-findings', apt: true, aptSample: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string | undefined => argv[++i];
    switch (a) {
      case '--cases': o.cases = int(a, v()); break;
      case '--seed': o.seed = int(a, v()); break;
      case '--case': o.only = int(a, v()); break;
      case '--time-limit': o.timeLimitS = int(a, v()); break;
      case '--findings': { const d = v(); if (!d) throw new Error('--findings needs a directory'); o.findings = d; break; }
      case '--no-apt': o.apt = false; break;
      case '--apt-sample': o.aptSample = int(a, v()); break;
      case '--replay': { const f = v(); if (!f) throw new Error('--replay needs a finding .json file'); o.replay = f; break; }
      case '-h':
      case '--help': return 'help';
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (o.only !== undefined || o.replay) o.apt = false;
  return o;
}
