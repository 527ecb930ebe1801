// `debpkg build` and `debpkg package` without yargs: yargs and its helpers are ~0.2–0.3 s of a
// build's start-up (docs/benchmarks.md, issue 18), more than the rest of a small build. This
// reads the argument shapes a build is run with — each option of the command at most once, as
// `--name value`, `--name=value` or `-x value`, and the two flags bare — and answers undefined
// for anything else (help, a repeated or unknown option, a positional word, a value that starts
// with '-', a flag given a value), which then goes to yargs as before, so every usage error
// stays yargs'. test/unit/build-argv.test.ts checks each accepted shape against yargs' own parse.

import type { BuildArgs, PackageArgs } from './commands/build.js';

type Flag = 'strict-env' | 'json';
const FLAG_NAMES: Record<string, Flag> = { '--strict-env': 'strict-env', '--json': 'json' };

/** Every string option a command declares (cli/commands/build.ts), aliases included → its name. */
const BUILD_OPTIONS = { '--config': 'config', '-f': 'config', '--output': 'output', '-o': 'output', '-t': 'output', '--target': 'output', '--base-dir': 'base-dir' } as const;
const PACKAGE_OPTIONS = { '--config': 'config', '-f': 'config', '--target': 'target', '-t': 'target', '--packager': 'packager', '-p': 'packager', '--base-dir': 'base-dir' } as const;

type Parsed<O extends string> = { strings: Partial<Record<O, string>>; flags: Record<Flag, boolean> };

/** The words after the command, or undefined when one of them is a shape left to yargs. */
function parseWords<O extends string>(words: readonly string[], names: Readonly<Record<string, O>>): Parsed<O> | undefined {
  const strings: Partial<Record<O, string>> = {};
  const flags: Partial<Record<Flag, true>> = {};
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.startsWith('--') ? word.indexOf('=') : -1;
    const name = eq > 0 ? word.slice(0, eq) : word;
    const option = Object.hasOwn(names, name) ? names[name] : undefined;
    const flag = Object.hasOwn(FLAG_NAMES, name) ? FLAG_NAMES[name] : undefined;
    if (option !== undefined) {
      const value = eq > 0 ? word.slice(eq + 1) : words[++i];
      if (value === undefined || value.startsWith('-') || strings[option] !== undefined) return undefined;
      strings[option] = value;
    } else if (flag !== undefined && eq < 0 && flags[flag] === undefined) {
      flags[flag] = true;
    } else {
      return undefined;
    }
  }
  return { strings, flags: { 'strict-env': flags['strict-env'] ?? false, json: flags.json ?? false } };
}

/** Only the options given, as yargs leaves out the ones not given. */
function given<O extends string>(strings: Partial<Record<O, string>>): Partial<Record<O, string>> {
  return Object.fromEntries(Object.entries(strings).filter(([, v]) => v !== undefined)) as Partial<Record<O, string>>;
}

/** `argv` (after `node main.js`) as yargs would parse `build`, or undefined when yargs must decide. */
export function parseBuildArgv(argv: readonly string[]): BuildArgs | undefined {
  if (argv[0] !== 'build') return undefined;
  const p = parseWords(argv.slice(1), BUILD_OPTIONS);
  return p && { ...given(p.strings), ...p.flags };
}

/** The same for `package` (and its alias `pkg`), nfpm's command line. */
export function parsePackageArgv(argv: readonly string[]): PackageArgs | undefined {
  if (argv[0] !== 'package' && argv[0] !== 'pkg') return undefined;
  const p = parseWords(argv.slice(1), PACKAGE_OPTIONS);
  return p && { ...given(p.strings), ...p.flags };
}
