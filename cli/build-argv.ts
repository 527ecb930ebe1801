// `debpkg build` without yargs: yargs and its helpers are ~0.2 s of a build's start-up
// (docs/benchmarks.md, issue 18), more than the rest of a small build. This reads the argument
// shapes a build is run with — each option of `debpkg build` at most once, as `--name value`,
// `--name=value` or `-x value`, and the two flags bare — and answers undefined for anything else
// (help, a repeated or unknown option, a positional word, a value that starts with '-', a
// flag given a value), which then goes to yargs as before, so every usage error stays yargs'.
// test/unit/build-argv.test.ts checks each accepted shape against yargs' own parse.

import type { BuildArgs } from './commands/build.js';

type StringOption = 'config' | 'output' | 'base-dir';
type FlagOption = 'strict-env' | 'json';

/** Every name `debpkg build` declares (cli/commands/build.ts), aliases included. */
const STRING_NAMES: Record<string, StringOption> = {
  '--config': 'config',
  '-f': 'config',
  '--output': 'output',
  '-o': 'output',
  '-t': 'output',
  '--target': 'output',
  '--base-dir': 'base-dir',
};
const FLAG_NAMES: Record<string, FlagOption> = { '--strict-env': 'strict-env', '--json': 'json' };

/** `argv` (after `node main.js`) as yargs would parse it, or undefined when yargs must decide. */
export function parseBuildArgv(argv: readonly string[]): BuildArgs | undefined {
  if (argv[0] !== 'build') return undefined;
  const strings: Partial<Record<StringOption, string>> = {};
  const flags: Partial<Record<FlagOption, true>> = {};
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    const option = STRING_NAMES[name];
    const flag = FLAG_NAMES[name];
    if (option !== undefined) {
      const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined || value.startsWith('-') || strings[option] !== undefined) return undefined;
      strings[option] = value;
    } else if (flag !== undefined && eq < 0 && flags[flag] === undefined) {
      flags[flag] = true;
    } else {
      return undefined;
    }
  }
  return {
    ...(strings.config !== undefined ? { config: strings.config } : {}),
    ...(strings.output !== undefined ? { output: strings.output } : {}),
    ...(strings['base-dir'] !== undefined ? { 'base-dir': strings['base-dir'] } : {}),
    'strict-env': flags['strict-env'] ?? false,
    json: flags.json ?? false,
  };
}
