#!/usr/bin/env node
// The debpkg command: build packages, inspect them, talk to the repo server, run it.
// The installed executable is debpkg.cjs, which prints `--version` and cached help texts before
// loading this module. Start-up is lazy (docs/benchmarks.md, CLI start-up): a named command loads yargs and that command's module only; the full
// table is loaded for the top-level help and for a name that matches no command (suggestions).
// `--help` and `<command> --help` are answered from texts yargs wrote at build (help-cache.ts),
// and `debpkg build` with the usual arguments runs without yargs at all (build-argv.ts).

import { commandsFor } from './command-table.js';
import { quickAnswer } from './help-cache.cjs';
import { exitCodeFor, reportError, EXIT, UsageError } from './errors.js';
import { removePartialFiles } from '../lib/fs-atomic.js';

export async function main(argv: string[]): Promise<number> {
  // Also answered here when main.js is run directly (`node dist/cli/main.js`, tests, benches).
  const answer = quickAnswer(argv);
  if (answer !== undefined) {
    process.stdout.write(answer);
    return EXIT.ok;
  }
  const fast = argv[0] === 'build' || argv[0] === 'package' || argv[0] === 'pkg' ? await import('./build-argv.js') : undefined;
  const build = fast?.parseBuildArgv(argv);
  const pack = fast?.parsePackageArgv(argv);
  if (build !== undefined || pack !== undefined) {
    try {
      const commands = await import('./commands/build.js');
      await (build !== undefined ? commands.runBuild(build) : commands.runPackage(pack!));
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
  // A failed command is done: what it left open (a server's half-made connections, timers) must
  // not keep the process alive. stderr is written synchronously on Linux, so nothing is lost.
  if (code !== EXIT.ok) process.exit(code);
});
