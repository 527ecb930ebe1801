#!/usr/bin/env node
// The debpkg command: build packages, inspect them, talk to the repo server, run it.
// Start-up is lazy (docs/benchmarks.md, CLI start-up): `--version` loads nothing but this file
// and package.json, and a named command loads yargs and that command's module only; the full
// table is loaded for the top-level help and for a name that matches no command (suggestions).

import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { exitCodeFor, reportError, EXIT, UsageError } from './errors.js';
import { removePartialFiles } from '../lib/fs-atomic.js';

type Registrar = (y: Argv) => Argv;

/** Top-level command names (aliases included) → the module that declares them. */
const COMMANDS: { names: string[]; load: () => Promise<Registrar> }[] = [
  { names: ['build', 'package', 'pkg'], load: async () => (await import('./commands/build.js')).buildCommand },
  { names: ['inspect'], load: async () => (await import('./commands/inspect.js')).inspectCommand },
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).serveCommand },
  { names: ['upload'], load: async () => (await import('./commands/upload.js')).uploadCommand },
  { names: ['repo'], load: async () => (await import('./commands/repo.js')).repoCommand },
  { names: ['snapshot'], load: async () => (await import('./commands/snapshot.js')).snapshotCommand },
  { names: ['publish'], load: async () => (await import('./commands/publish.js')).publishCommand },
  { names: ['swap', 'rollback', 'status', 'lb'], load: async () => (await import('./commands/color.js')).colorCommands },
  { names: ['agent'], load: async () => (await import('./commands/agent.js')).agentCommand },
];

/** The command modules `argv` needs: the one its first word names, else all of them. */
export function commandsFor(argv: string[]): { names: string[]; load: () => Promise<Registrar> }[] {
  const first = argv.find((a) => !a.startsWith('-'));
  const named = first === undefined ? undefined : COMMANDS.find((c) => c.names.includes(first));
  return named ? [named] : COMMANDS;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
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
