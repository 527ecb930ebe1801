#!/usr/bin/env node
// The debpkg command: build packages, inspect them, and (later) talk to the repo server.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { buildCommand } from './commands/build.js';
import { inspectCommand } from './commands/inspect.js';
import { serveCommand } from './commands/serve.js';
import { uploadCommand } from './commands/upload.js';
import { repoCommand } from './commands/repo.js';
import { snapshotCommand } from './commands/snapshot.js';
import { publishCommand } from './commands/publish.js';
import { colorCommands } from './commands/color.js';
import { agentCommand } from './commands/agent.js';
import { exitCodeFor, reportError, EXIT, UsageError } from './errors.js';
import { removePartialFiles } from '../lib/fs-atomic.js';

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
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
  buildCommand(cli);
  inspectCommand(cli);
  serveCommand(cli);
  uploadCommand(cli);
  repoCommand(cli);
  snapshotCommand(cli);
  publishCommand(cli);
  colorCommands(cli);
  agentCommand(cli);
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

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
