// The help texts answered without yargs (cli/help-cache.cts) are exactly yargs' own: every
// cached text against a live run with the cache off. A stale or hand-edited cache fails here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMAND_NAMES } from '../../cli/command-table.js';
import { HELP_PATH, helpKey, type HelpCache } from '../../cli/help-cache.cjs';
import { helpText } from '../../cli/write-help.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const cache = JSON.parse(readFileSync(HELP_PATH, 'utf8')) as HelpCache;

test('which argv the cache answers', () => {
  assert.is(helpKey(['--help']), '');
  assert.is(helpKey(['swap', '-h']), 'swap');
  assert.is(helpKey(['repo', 'create', '--help']), undefined);
  assert.is(helpKey(['swap', 'web', '--help']), undefined);
  assert.is(helpKey(['--version']), undefined);
});

test('the cache covers --help and every command name, and each text is what yargs prints', async () => {
  assert.equal(Object.keys(cache.texts).sort(), ['', ...COMMAND_NAMES].sort());
  const live = await Promise.all(Object.keys(cache.texts).map(async (k) => [k, await helpText(k)] as const));
  for (const [k, text] of live) assert.fixture(cache.texts[k]!, text, `debpkg ${k} --help`);
});

test('debpkg swap --help answers from the cache; a different locale falls back to yargs', () => {
  const fromCache = execFileSync(process.execPath, [MAIN, 'swap', '--help'], { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: '' } });
  assert.is(fromCache, cache.texts.swap);
  assert.match(fromCache, /--strategy/);
  const german = execFileSync(process.execPath, [MAIN, 'swap', '--help'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'de_DE.UTF-8' } });
  assert.match(german, /--strategy/);
});

test.run();
