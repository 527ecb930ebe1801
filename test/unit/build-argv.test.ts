// `debpkg build` and `debpkg package` read their argv without yargs (cli/build-argv.ts) only for
// shapes where the result is what yargs makes of them: each accepted argv is parsed by yargs
// with the real command declarations too, and the two must agree; every other shape goes to yargs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import yargs from 'yargs';
import { parseBuildArgv, parsePackageArgv } from '../../cli/build-argv.js';
import { buildCommand, type BuildArgs, type PackageArgs } from '../../cli/commands/build.js';

/** What yargs hands the build or package handler for `argv`, configured as cli/main.ts configures it. */
async function viaYargs(argv: string[]): Promise<BuildArgs | PackageArgs> {
  let got: BuildArgs | PackageArgs | undefined;
  const cli = yargs(argv)
    .strict()
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  buildCommand(
    cli,
    async (args) => {
      got = args;
    },
    async (args) => {
      got = args;
    },
  );
  await cli.parseAsync();
  if (got === undefined) throw new Error(`yargs ran no build for ${argv.join(' ')}`);
  return got;
}

/** The fields the handler reads (yargs also sets every alias as a key). */
const pick = (a: BuildArgs | PackageArgs, kind: 'build' | 'package' = 'build'): Record<string, unknown> => ({
  config: a.config,
  ...(kind === 'build' ? { output: (a as BuildArgs).output } : { target: (a as PackageArgs).target, packager: (a as PackageArgs).packager }),
  'base-dir': a['base-dir'],
  'strict-env': a['strict-env'],
  json: a.json,
});

const ACCEPTED: string[][] = [
  ['build'],
  ['build', '-f', 'pkg/debpkg.yaml'],
  ['build', '--config', 'nfpm.yaml', '-o', 'out/'],
  ['build', '--config=a b.yaml', '--output=x.deb'],
  ['build', '-t', 'dist', '--json'],
  ['build', '--target', 'out/my.deb', '--strict-env', '--base-dir', '/src'],
  ['build', '--json', '--strict-env', '-f', '0644', '--base-dir=.'],
  ['build', '--output=', '-f', 'x.yaml'],
];

test('every accepted shape parses as yargs parses it', async () => {
  for (const argv of ACCEPTED) {
    const fast = parseBuildArgv(argv);
    assert.ok(fast, `accepted: ${argv.join(' ')}`);
    assert.equal(pick(fast), pick(await viaYargs(argv)), argv.join(' '));
  }
});

const PACKAGE_ACCEPTED: string[][] = [
  ['package', '-p', 'deb'],
  ['package', '-p', 'deb', '-f', 'nfpm.yaml', '-t', 'out/'],
  ['pkg', '--packager=deb', '--target=dist/x.deb', '--config', 'a b.yaml'],
  ['package', '-t', 'x.deb', '--json', '--strict-env', '--base-dir', '/src'],
  ['package', '--target', 'out/', '--packager', 'deb', '--base-dir=.'],
];

test('every accepted package shape parses as yargs parses it (yargs as the full CLI runs it)', async () => {
  for (const argv of PACKAGE_ACCEPTED) {
    const fast = parsePackageArgv(argv);
    assert.ok(fast, `accepted: ${argv.join(' ')}`);
    assert.equal(pick(fast, 'package'), pick(await viaYargs(argv), 'package'), argv.join(' '));
    assert.is(parseBuildArgv(argv), undefined, 'not a build');
  }
});

test('package: anything else is left to yargs', () => {
  for (const argv of [
    ['package', '--help'],
    ['package', '-p'],
    ['package', '-p', 'deb', '-p', 'rpm'],
    ['package', '-o', 'out/'],
    ['package', '--output', 'out/'],
    ['package', 'extra'],
    ['package', '-p', '--json'],
    ['pkg', '--version'],
    ['build', '-p', 'deb'],
    ['package', '--constructor', 'x'],
    ['package', '--toString', 'x'],
  ]) assert.is(parsePackageArgv(argv), undefined, argv.join(' '));
});

test('anything else is left to yargs (help, unknown or repeated options, stray words, flag values)', () => {
  const REFUSED: string[][] = [
    ['build', '--help'],
    ['build', '-h'],
    ['package', '-p', 'deb'],
    ['build', 'extra'],
    ['build', '--verbose'],
    ['build', '-f'],
    ['build', '-f', '--json'],
    ['build', '-f', 'a.yaml', '--config', 'b.yaml'],
    ['build', '-o', 'a/', '-t', 'b/'],
    ['build', '--json', '--json'],
    ['build', '--json=false'],
    ['build', '--json', 'false'],
    ['build', '--no-json'],
    ['build', '-f=a.yaml'],
    ['build', '-fa.yaml'],
    ['build', '--', '-f'],
    ['--json', 'build'],
  ];
  for (const argv of REFUSED) assert.is(parseBuildArgv(argv), undefined, argv.join(' '));
});

test.run();
