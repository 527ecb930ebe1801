#!/usr/bin/env node
// The debpkg command: build packages, inspect them, talk to the repo server, run it.
// Start-up is lazy (docs/benchmarks.md, CLI start-up): `--version` loads nothing but this file
// and package.json, and a named command loads yargs and that command's module only; the full
// table is loaded for the top-level help and for a name that matches no command (suggestions).
// `--help` and `<command> --help` are answered from texts yargs wrote at build (help-cache.ts),
// and `debpkg build` with the usual arguments runs without yargs at all (build-argv.ts).

import { readFileSync } from 'node:fs';
import { commandsFor } from './command-table.js';
import { cachedHelp } from './help-cache.js';
import { exitCodeFor, reportError, EXIT, UsageError } from './errors.js';
import { removePartialFiles } from '../lib/fs-atomic.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  const help = cachedHelp(argv, packageVersion());
  if (help !== undefined) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const build = argv[0] === 'build' ? (await import('./build-argv.js')).parseBuildArgv(argv) : undefined;
  if (build !== undefined) {
    try {
      await (await import('./commands/build.js')).runBuild(build);
      return EXIT.ok;
    } catch (err) {
      reportError(err);
      return exitCodeFor(err);
    }
  }
  let code: number = EXIT.ok;
  const [{ default: yargs }, registrars] = await Promise.all([import('yargs'), Promise.all(commandsFor(argv).map((c) => c.load()))]);
  const cli = yargs(argv)
    .scriptName('debpkg')
    .usage('$0 <command> [options]')
    .strict()
    // A repeated flag means the last one wins, as in most Unix tools.
    .parserConfiguration({ 'duplicate-arguments-array': false })
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    // Fixed (yargs' default on a pipe or a wide terminal), so the build-time help texts match.
    .wrap(80)
    .version()
    .fail((msg, err) => {
      if (err) throw err;
      // Throwing stops yargs: a usage error must never go on to run the command.
      throw new UsageError(`${msg}\n(run debpkg --help for usage)`);
    });
  for (const register of registrars) register(cli);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportError(err);
    return exitCodeFor(err);
  }
  return code;
}

// An interrupted build leaves nothing behind: partial packages are removed before exiting.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    removePartialFiles();
    process.exit(code);
  });
}

// yargs' hideBin, without loading yargs: the arguments after `node main.js`.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
