// Maintainer scripts: the user's own (scripts.*) merged with what debpkg generates
// (systemd, ghosts, color agent), like debhelper's #DEBHELPER# token.

import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { SpecError } from './spec-error.js';
import { render } from './templates.js';
import type { ScriptsSpec } from './spec-types.js';

export const MAINTAINER_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm'] as const;
export type MaintainerScript = (typeof MAINTAINER_SCRIPTS)[number];

const SPEC_KEY: Record<MaintainerScript, keyof ScriptsSpec> = {
  preinst: 'preinstall',
  postinst: 'postinstall',
  prerm: 'preremove',
  postrm: 'postremove',
};

/** Generated snippets per script; each is a complete POSIX sh fragment. */
export type Snippets = Record<MaintainerScript, string[]>;

export function emptySnippets(): Snippets {
  return { preinst: [], postinst: [], prerm: [], postrm: [] };
}

const TOKENS = ['#DEBPKG#', '#DEBHELPER#'];
const SH_SHEBANG = /^#!\s*(\/usr)?\/bin\/(sh|bash|dash)(\s|$)/;

/**
 * Set-up snippets run after the user's postinst/preinst; tear-down snippets run before
 * the user's prerm/postrm (debhelper's order), unless the user's script places them
 * with a #DEBPKG# (or #DEBHELPER#) line.
 */
export async function renderMaintainerScripts(
  pkg: string,
  scripts: ScriptsSpec | undefined,
  snippets: Snippets,
  baseDir: string,
): Promise<Map<MaintainerScript, string>> {
  const out = new Map<MaintainerScript, string>();
  for (const script of MAINTAINER_SCRIPTS) {
    const key = SPEC_KEY[script];
    const src = scripts?.[key];
    const generated = snippets[script];
    let user: string | undefined;
    if (src !== undefined) {
      const path = isAbsolute(src) ? src : resolve(baseDir, src);
      try {
        user = await readFile(path, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SpecError(['scripts', key], `'${src}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}`);
      }
      if (user.trim() === '') throw new SpecError(['scripts', key], `'${src}' is empty`);
      if (user.includes('\r\n')) throw new SpecError(['scripts', key], `'${src}' has CRLF line endings; dpkg cannot run it`);
    }
    if (user === undefined && generated.length === 0) continue;
    if (user !== undefined && generated.length === 0) {
      out.set(script, stripTokens(user.startsWith('#!') ? user : `#!/bin/sh\n${user}`));
      continue;
    }
    const joined = generated.join('\n\n');
    if (user !== undefined) {
      const token = TOKENS.find((t) => user!.split('\n').some((l) => l.trim() === t));
      if (token) {
        out.set(script, user.split('\n').map((l) => (l.trim() === token ? joined : l)).join('\n'));
        continue;
      }
      const firstLine = user.split('\n', 1)[0] ?? '';
      if (firstLine.startsWith('#!') && !SH_SHEBANG.test(firstLine)) {
        throw new SpecError(
          ['scripts', key],
          `'${src}' is not a shell script (${firstLine}); add a #DEBPKG# line where debpkg's generated commands should go`,
        );
      }
    }
    const shebang = user?.startsWith('#!') ? (user.split('\n', 1)[0] ?? '#!/bin/sh') : '#!/bin/sh';
    const setup = script === 'postinst' || script === 'preinst';
    const userBlock = user === undefined ? undefined : render('maintscripts/user-subshell', { body: dropShebang(user).trimEnd() });
    out.set(
      script,
      render('maintscripts/script', {
        shebang,
        script,
        package: pkg,
        before: setup ? [] : generated,
        user: userBlock,
        userSource: src,
        after: setup ? generated : [],
      }),
    );
  }
  return out;
}

function dropShebang(text: string): string {
  return text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text;
}

function stripTokens(text: string): string {
  return text
    .split('\n')
    .filter((l) => !TOKENS.includes(l.trim()))
    .join('\n');
}
