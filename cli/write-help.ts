// Build step (npm run build): runs `debpkg --help` and `debpkg <command> --help` for every
// top-level command through yargs (the cache turned off) and writes dist/cli/help.json, which
// cli/help-cache.cts answers from. Generated from the real output, so it cannot drift from it;
// test/unit/cli-help.test.ts compares the two.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { HELP_PATH, type HelpCache } from './help-cache.cjs';
import { COMMAND_NAMES } from './command-table.js';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export async function helpText(key: string): Promise<string> {
  const args = key === '' ? ['--help'] : [key, '--help'];
  const env = { ...process.env, DEBPKG_HELP_CACHE: '0', LANG: 'C.UTF-8', LC_ALL: '' };
  return (await run(process.execPath, [MAIN, ...args], { env })).stdout;
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain) {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const keys = ['', ...COMMAND_NAMES];
  const texts = await Promise.all(keys.map(helpText));
  const cache: HelpCache = { version, texts: Object.fromEntries(keys.map((k, i) => [k, texts[i]!])) };
  await writeFileAtomic(HELP_PATH, `${JSON.stringify(cache)}\n`);
  console.log(`help texts of ${keys.length} commands written to ${HELP_PATH}`);
}
