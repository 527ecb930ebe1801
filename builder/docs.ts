// /usr/share/doc/<package>/{copyright,changelog[.Debian].gz}: generated so that an
// ordinary package is lintian-clean without hand work.

import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { SpecError } from './spec-error.js';
import { readTemplateFile, render } from './templates.js';

/** SPDX ids whose text Debian ships in /usr/share/common-licenses. */
const COMMON_LICENSES: Record<string, { debian: string; file: string }> = {
  'Apache-2.0': { debian: 'Apache-2.0', file: 'Apache-2.0' },
  'GPL-2.0-only': { debian: 'GPL-2', file: 'GPL-2' },
  'GPL-2.0-or-later': { debian: 'GPL-2+', file: 'GPL-2' },
  'GPL-2.0': { debian: 'GPL-2', file: 'GPL-2' },
  'GPL-3.0-only': { debian: 'GPL-3', file: 'GPL-3' },
  'GPL-3.0-or-later': { debian: 'GPL-3+', file: 'GPL-3' },
  'GPL-3.0': { debian: 'GPL-3', file: 'GPL-3' },
  'LGPL-2.1-only': { debian: 'LGPL-2.1', file: 'LGPL-2.1' },
  'LGPL-2.1-or-later': { debian: 'LGPL-2.1+', file: 'LGPL-2.1' },
  'LGPL-3.0-only': { debian: 'LGPL-3', file: 'LGPL-3' },
  'LGPL-3.0-or-later': { debian: 'LGPL-3+', file: 'LGPL-3' },
  'MPL-2.0': { debian: 'MPL-2.0', file: 'MPL-2.0' },
  'CC0-1.0': { debian: 'CC0-1.0', file: 'CC0-1.0' },
  'Artistic-1.0': { debian: 'Artistic', file: 'Artistic' },
};

/** Short permissive licenses whose full text goes into the copyright file itself. */
const INLINE_LICENSES: Record<string, string> = {
  MIT: 'Expat',
  ISC: 'ISC',
  'BSD-2-Clause': 'BSD-2-clause',
  'BSD-3-Clause': 'BSD-3-clause',
};

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
    .join('\n');
}

export interface CopyrightInput {
  name: string;
  license?: string;
  vendor?: string;
  maintainer: string;
  homepage?: string;
  year: number;
}

export function renderCopyright(input: CopyrightInput): string {
  const spdx = input.license ?? 'UNKNOWN';
  const holder = input.vendor ?? input.maintainer.replace(/\s*<[^>]*>\s*$/, '');
  let license = spdx;
  let body: string;
  const common = COMMON_LICENSES[spdx];
  const inline = INLINE_LICENSES[spdx];
  if (common) {
    license = common.debian;
    body = indent(`On Debian systems, the full text of this license can be found in\n/usr/share/common-licenses/${common.file}.`);
  } else if (inline) {
    license = inline;
    body = indent(readTemplateFile(`licenses/${spdx}.txt`) ?? '');
  } else {
    body = indent(
      input.license
        ? `This package is distributed under the terms of the ${spdx} license.\nThe full text is part of the upstream distribution.`
        : 'No license was declared for this package (spec field: license).',
    );
  }
  return render('docs/copyright', { name: input.name, source: input.homepage, year: input.year, holder, license, licenseBody: body });
}

export interface ChangelogEntry {
  version: string;
  distribution: string;
  changes: string[];
  maintainer: string;
  date: number;
}

/** RFC 5322 date as Debian changelogs want it: "Thu, 01 Jan 1970 00:00:00 +0000". */
export function changelogDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString().replace('GMT', '+0000');
}

export function renderChangelog(pkg: string, entries: ChangelogEntry[]): string {
  return entries
    .map((e) => {
      const changes = e.changes.map((c) => `  * ${c.replace(/\n/g, '\n    ')}`).join('\n');
      return `${pkg} (${e.version}) ${e.distribution}; urgency=medium\n\n${changes}\n\n -- ${e.maintainer}  ${changelogDate(e.date)}\n`;
    })
    .join('\n');
}

interface ChglogEntry {
  semver?: unknown;
  date?: unknown;
  packager?: unknown;
  changes?: unknown;
}

/**
 * The changelog to ship: a Debian changelog file as is, an nfpm/chglog YAML file converted,
 * or one entry for this version when the spec has none.
 */
export async function buildChangelog(
  opts: { pkg: string; version: string; maintainer: string; date: number; changelog?: string; baseDir: string },
): Promise<string> {
  if (opts.changelog === undefined) {
    return renderChangelog(opts.pkg, [
      { version: opts.version, distribution: 'unstable', changes: [`Release ${opts.version}.`], maintainer: opts.maintainer, date: opts.date },
    ]);
  }
  const path = isAbsolute(opts.changelog) ? opts.changelog : resolve(opts.baseDir, opts.changelog);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SpecError(['changelog'], `'${opts.changelog}' cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (/^[a-z0-9][a-z0-9+.-]+ \([^)]+\) [^;]+; /.test(text)) return text.endsWith('\n') ? text : `${text}\n`;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new SpecError(['changelog'], `'${opts.changelog}' is neither a Debian changelog nor valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new SpecError(['changelog'], `'${opts.changelog}' must be a Debian changelog or a YAML list of {semver, date, packager, changes}`);
  }
  const entries = (parsed as ChglogEntry[]).map((e, i): ChangelogEntry => {
    const changes = Array.isArray(e.changes)
      ? e.changes.map((c: unknown) => (typeof c === 'object' && c !== null && 'note' in c ? String((c as { note: unknown }).note) : String(c)))
      : [];
    const date = e.date instanceof Date ? e.date.getTime() : Date.parse(String(e.date ?? ''));
    if (Number.isNaN(date)) throw new SpecError(['changelog'], `${opts.changelog}: entry ${i} has no valid date`);
    return {
      version: i === 0 ? opts.version : String(e.semver ?? '').replace(/^v(?=[0-9])/, ''),
      distribution: 'unstable',
      changes: changes.length > 0 ? changes : ['No changes recorded.'],
      maintainer: typeof e.packager === 'string' ? e.packager : opts.maintainer,
      date: Math.floor(date / 1000),
    };
  });
  return renderChangelog(opts.pkg, entries);
}

/** gzip -9n: maximum compression, no name or timestamp (reproducible, as lintian wants). */
export function gzipDoc(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'), { level: constants.Z_BEST_COMPRESSION });
}
