#!/usr/bin/env node
// The `debpkg` executable (package.json "bin"). CommonJS on purpose: `--version` and the cached
// `--help` texts are printed before Node's ESM loader starts, which alone costs ~20 ms here
// (docs/benchmarks.md, CLI start-up); every other command is handed to main.js (ESM).

import { quickAnswer } from './help-cache.cjs';

const answer = quickAnswer(process.argv.slice(2));
if (answer !== undefined) process.stdout.write(answer);
else void import('./main.js');
