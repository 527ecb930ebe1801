// CLI start-up (issue 16): wall time of `debpkg --version`, `--help`, `build --help` and
// `swap --help` (from the build-time help texts, and through yargs for comparison) against
// `node -e 0` (Node's own start-up, the floor no change can go under).
// Runs are interleaved so that a busy machine slows every command alike; medians are reported.
// Writes the "cli-start" section of docs/benchmarks.md.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { updateSection } from './report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}dist/cli/main.js`;
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

/** Name, node's arguments, and extra environment (the help cache off: yargs answers). */
const CASES: [string, string[], Record<string, string>?][] = [
  ['node -e 0', ['-e', '0']],
  ['debpkg --version', [MAIN, '--version']],
  ['debpkg --help', [MAIN, '--help']],
  ['debpkg build --help', [MAIN, 'build', '--help']],
  ['debpkg swap --help', [MAIN, 'swap', '--help']],
  ['debpkg swap --help (yargs, DEBPKG_HELP_CACHE=0)', [MAIN, 'swap', '--help'], { DEBPKG_HELP_CACHE: '0' }],
];

function once(args: string[], env: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const times = new Map<string, number[]>(CASES.map(([name]) => [name, []]));
for (let i = 0; i < RUNS; i++) for (const [name, args, env] of CASES) times.get(name)!.push(once(args, env));
const floor = median(times.get('node -e 0')!);
const rows = CASES.map(([name]) => {
  const m = median(times.get(name)!);
  return `| \`${name}\` | ${m.toFixed(0)} | ${name === 'node -e 0' ? '—' : `+${(m - floor).toFixed(0)}`} |`;
});
const body = [
  `## CLI start-up (\`npm run bench:cli\`)`,
  '',
  `Median of ${RUNS} interleaved runs, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`,
  '',
  '| command | ms | ms over `node -e 0` |',
  '|---|---|---|',
  ...rows,
].join('\n');
console.log(body);
if (process.env.BENCH_WRITE !== '0') await updateSection(`${ROOT}docs/benchmarks.md`, 'cli-start', body);
