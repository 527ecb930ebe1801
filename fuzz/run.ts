#!/usr/bin/env node
// Entry point: `node dist/fuzz/run.js --cases N --seed S …` (npm run fuzz). Exit 0 only when
// no invariant was violated; 1 on any violation; 2 on a usage error.

import { parseArgs, USAGE } from './args.js';
import { runFuzz, violationCount } from './fuzzer.js';

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (opts === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const summary = await runFuzz(opts);
process.exit(violationCount(summary) > 0 ? 1 : 0);
