// `debpkg build` reads its argv without yargs (cli/build-argv.ts) only for shapes where the
// result is what yargs makes of them: each accepted argv is parsed by yargs with the real
// `build` command declaration too, and the two must agree; every other shape goes to yargs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import yargs from 'yargs';
import { parseBuildArgv } from '../../cli/build-argv.js';
import { buildCommand, type BuildArgs } from '../../cli/commands/build.js';

/** What yargs hands the build handler for `argv`, configured as cli/main.ts configures it. */
async function viaYargs(argv: string[]): Promise<BuildArgs> {
  let got: BuildArgs | undefined;
  const cli = yargs(argv)
    .strict()
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  buildCommand(cli, async (args) => {
    got = args;
  });
  await cli.parseAsync();
  if (got === undefined) throw new Error(`yargs ran no build for ${argv.join(' ')}`);
  return got;
}

const pick = (a: BuildArgs): Record<string, unknown> => ({
  config: a.config,
  output: a.output,
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
