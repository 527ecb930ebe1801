// The help texts of `debpkg --help` and `debpkg <command> --help`, written at build time by
// cli/write-help.ts from yargs' own output, so asking for help costs no yargs and no command
// module (docs/benchmarks.md, CLI start-up: yargs alone is most of the start-up). Used only
// when the text would be identical: same package version, yargs' English messages, and a
// terminal at least as wide as yargs' 80 columns; anything else falls back to yargs.
// CommonJS so that the launcher (debpkg.cts) answers before Node's ESM loader starts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HelpCache {
  version: string;
  /** '' for the top-level help, else a command name (aliases included). */
  texts: Record<string, string>;
}

/** dist/cli/help.json, beside the compiled module. */
export const HELP_PATH = join(__dirname, 'help.json');

/** The package's version, from the package.json two levels above dist/cli/. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The argv shapes the cache answers: `--help`, `-h`, `<name> --help`, `<name> -h`. */
export function helpKey(argv: string[]): string | undefined {
  const isHelp = (a: string | undefined): boolean => a === '--help' || a === '-h';
  if (argv.length === 1 && isHelp(argv[0])) return '';
  if (argv.length === 2 && isHelp(argv[1]) && /^[a-z]+$/.test(argv[0]!)) return argv[0];
  return undefined;
}

function sameRendering(): boolean {
  const locale = process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '';
  const english = locale === '' || /^(?:C|POSIX|en)(?:[._@]|$)/.test(locale);
  const wide = !process.stdout.isTTY || (process.stdout.columns ?? 80) >= 80;
  return english && wide && process.env.DEBPKG_HELP_CACHE !== '0';
}

export function cachedHelp(argv: string[], version: string): string | undefined {
  const key = helpKey(argv);
  if (key === undefined || !sameRendering()) return undefined;
  let cache: HelpCache;
  try {
    cache = JSON.parse(readFileSync(HELP_PATH, 'utf8')) as HelpCache;
  } catch {
    return undefined; // not built (npm's prepare runs tsc only): yargs answers
  }
  return cache.version === version ? cache.texts[key] : undefined;
}

/**
 * What the launcher can print without loading the command: the version for `--version`,
 * a cached help text, or undefined (main.js answers).
 */
export function quickAnswer(argv: string[]): string | undefined {
  if (argv.length === 1 && argv[0] === '--version') return `${packageVersion()}\n`;
  return helpKey(argv) === undefined ? undefined : cachedHelp(argv, packageVersion());
}
