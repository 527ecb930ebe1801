// CLI start-up (issue 16): wall time of `debpkg --version`, `--help`, `build --help` and
// `swap --help` through the installed executable (dist/cli/debpkg.cjs; also main.js run
// directly, and yargs with the help cache off, for comparison) against `node -e 0` (Node's own
// start-up, the floor no change can go under). When NODE_EXTRA_CA_CERTS is set (these machines
// set it), Node reads and parses that bundle at every start: the floor and --version are also
// measured without it. Runs are interleaved so that a busy machine slows every command alike;
// medians are reported. Also a whole build of a one-file package, by `build` and by nfpm's
// `package` (both read their arguments without yargs), and the same `package` in an argument
// shape the quick reader leaves to yargs (`-fFILE`). Writes the "cli-start" section of
// docs/benchmarks.md.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { updateSection } from './report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}dist/cli/debpkg.cjs`;
const MAIN = `${ROOT}dist/cli/main.js`;
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

// A one-file package, built in a directory of its own (each run overwrites the same .deb).
const WORK = mkdtempSync(join(tmpdir(), 'debpkg-cli-bench-'));
writeFileSync(join(WORK, 'hello.txt'), 'hello\n');
writeFileSync(join(WORK, 'nfpm.yaml'), 'name: cli-bench\nversion: "1.0"\narch: all\nmaintainer: Bench <bench@example.org>\ndescription: start-up bench\ncontents:\n  - { src: hello.txt, dst: /usr/share/cli-bench/hello.txt }\n');
const SPEC = join(WORK, 'nfpm.yaml');
const OUT = join(WORK, 'out') + '/';

/** Name, node's arguments, and extra environment (the help cache off: yargs answers). */
const CASES: [string, string[], Record<string, string | undefined>?][] = [
  ['node -e 0', ['-e', '0']],
  ['debpkg --version', [BIN, '--version']],
  ['debpkg --help', [BIN, '--help']],
  ['debpkg build --help', [BIN, 'build', '--help']],
  ['debpkg swap --help', [BIN, 'swap', '--help']],
  ['node dist/cli/main.js --version (ES module, not the executable)', [MAIN, '--version']],
  ['debpkg swap --help (yargs, DEBPKG_HELP_CACHE=0)', [BIN, 'swap', '--help'], { DEBPKG_HELP_CACHE: '0' }],
  ['debpkg build -f nfpm.yaml -o out/ (a one-file package)', [BIN, 'build', '-f', SPEC, '-o', OUT]],
  ['debpkg package -p deb -f nfpm.yaml -t out/ (the same)', [BIN, 'package', '-p', 'deb', '-f', SPEC, '-t', OUT]],
  ['debpkg package -p deb -fnfpm.yaml -t out/ (the same through yargs)', [BIN, 'package', '-p', 'deb', `-f${SPEC}`, '-t', OUT]],
  ...(EXTRA_CA === undefined
    ? []
    : ([
        ['node -e 0 (NODE_EXTRA_CA_CERTS unset)', ['-e', '0'], { NODE_EXTRA_CA_CERTS: undefined }],
        ['debpkg --version (NODE_EXTRA_CA_CERTS unset)', [BIN, '--version'], { NODE_EXTRA_CA_CERTS: undefined }],
        ['debpkg swap --help (NODE_EXTRA_CA_CERTS unset)', [BIN, 'swap', '--help'], { NODE_EXTRA_CA_CERTS: undefined }],
      ] as typeof CASES)),
];

function once(args: string[], extra: Record<string, string | undefined> = {}): number {
  const env = { ...process.env, ...extra };
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  const t0 = process.hrtime.bigint();
  // In the package's directory: `package` takes paths from the current directory, as nfpm does.
  execFileSync(process.execPath, args, { stdio: 'ignore', env, cwd: WORK });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const times = new Map<string, number[]>(CASES.map(([name]) => [name, []]));
for (let i = 0; i < RUNS; i++) for (const [name, args, env] of CASES) times.get(name)!.push(once(args, env));
// Each command against the floor measured with the same environment.
const UNSET = ' (NODE_EXTRA_CA_CERTS unset)';
const floorOf = (name: string): string => (name.endsWith(UNSET) ? `node -e 0${UNSET}` : 'node -e 0');
const rows = CASES.map(([name]) => {
  const m = median(times.get(name)!);
  const over = m - median(times.get(floorOf(name))!);
  return `| \`${name}\` | ${m.toFixed(0)} | ${name.startsWith('node -e 0') ? '—' : `${over >= 0 ? '+' : '−'}${Math.abs(over).toFixed(0)}`} |`;
});
const body = [
  `## CLI start-up (\`npm run bench:cli\`)`,
  '',
  `Median of ${RUNS} interleaved runs, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end; \`debpkg\` is the installed executable (dist/cli/debpkg.cjs).${EXTRA_CA === undefined ? '' : ` NODE_EXTRA_CA_CERTS=${EXTRA_CA} is set in this environment.`}`,
  '',
  '| command | ms | ms over `node -e 0` (same environment) |',
  '|---|---|---|',
  ...rows,
].join('\n');
console.log(body);
rmSync(WORK, { recursive: true, force: true });
if (process.env.BENCH_WRITE !== '0') await updateSection(`${ROOT}docs/benchmarks.md`, 'cli-start', body);
