// Pure rendering of the apt archive's index files: Packages stanzas and Release files.

import type { PackageRecord } from '../storage/store.js';

/** pool/<component>/<letter or libX>/<source>, as Debian's archive lays it out. */
export function poolDir(component: string, source: string): string {
  const letter = source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
  return `pool/${component}/${letter}/${source}`;
}

/** pool/<component>/<letter or libX>/<source>/<file> (a rebuilt package may be served elsewhere: pool-check.ts recordDir). */
export function poolPath(component: string, source: string, filename: string): string {
  return `${poolDir(component, source)}/${filename}`;
}

/** One Packages stanza: the package's control paragraph plus where and what the file is. */
export function packagesStanza(p: PackageRecord, filename: string): string {
  const control = p.control.trimEnd();
  return (
    `${control}\nFilename: ${filename}\nSize: ${p.file.size}\nMD5sum: ${p.file.md5}\n` +
    `SHA1: ${p.file.sha1}\nSHA256: ${p.file.sha256}\nSHA512: ${p.file.sha512}\n`
  );
}

/** Release dates as Debian writes them: "Sun, 22 Nov 2026 03:58:51 UTC". */
export function releaseDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString().replace('GMT', 'UTC');
}

export interface IndexFileHash {
  /** Path relative to dists/<dist>/. */
  path: string;
  size: number;
  sha256: string;
  sha512: string;
}

export interface ReleaseFields {
  origin: string;
  label: string;
  suite: string;
  codename: string;
  date: number;
  validUntil?: number;
  architectures: string[];
  components: string[];
  description?: string;
  notAutomatic?: string;
  butAutomaticUpgrades?: string;
  acquireByHash: boolean;
  signedBy?: string;
  version?: string;
}

export class ReleaseRenderError extends Error {}

/**
 * Every Release value is one line: any control character (a '\n' or '\r' starts a new field
 * for apt; python-debian also splits at \v, \f, \x1c-\x1e, \x85, U+2028/9) or, in a list of
 * words, a space where a word should be, is refused rather than written. The API validates
 * first (service/publish-options.ts); this is the last line of defence for whatever slips by
 * (an old record, a new caller).
 */
const NOT_ONE_LINE = /[\0-\x1f\x7f-\x9f\u2028\u2029]/;
const WORD = /^[^\s\0-\x1f\x7f-\x9f\u2028\u2029]+$/u;

function oneLine(field: string, v: string): string {
  const bad = NOT_ONE_LINE.exec(v);
  if (bad) throw new ReleaseRenderError(`Release ${field}: refusing to write a value with the control character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  if (v !== v.trim()) throw new ReleaseRenderError(`Release ${field}: refusing to write a value with leading or trailing white space`);
  return v;
}

function words(field: string, list: string[]): string {
  for (const w of list) if (!WORD.test(w)) throw new ReleaseRenderError(`Release ${field}: refusing to write '${JSON.stringify(w).slice(1, -1)}' (one word, no white space or control characters)`);
  return list.join(' ');
}

export function renderRelease(f: ReleaseFields, files: IndexFileHash[]): string {
  const lines: string[] = [];
  const add = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') lines.push(`${k}: ${oneLine(k, v)}`);
  };
  add('Origin', f.origin);
  add('Label', f.label);
  add('Suite', f.suite && words('Suite', [f.suite]));
  add('Version', f.version && words('Version', [f.version]));
  add('Codename', f.codename && words('Codename', [f.codename]));
  add('Date', releaseDate(f.date));
  if (f.validUntil !== undefined) add('Valid-Until', releaseDate(f.validUntil));
  add('Architectures', words('Architectures', f.architectures));
  add('Components', words('Components', f.components));
  add('Description', f.description);
  add('NotAutomatic', f.notAutomatic);
  add('ButAutomaticUpgrades', f.butAutomaticUpgrades);
  if (f.acquireByHash) add('Acquire-By-Hash', 'yes');
  add('Signed-By', f.signedBy);
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const width = Math.max(0, ...sorted.map((x) => String(x.size).length));
  for (const [name, pick] of [
    ['SHA256', (x: IndexFileHash) => x.sha256],
    ['SHA512', (x: IndexFileHash) => x.sha512],
  ] as const) {
    lines.push(`${name}:`);
    for (const x of sorted) lines.push(` ${pick(x)} ${String(x.size).padStart(width)} ${words('file path', [x.path])}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The small per-directory Release file apt reads for pinning metadata. */
export function renderComponentRelease(f: { archive: string; origin: string; label: string; component: string; architecture: string; acquireByHash: boolean }): string {
  return [
    `Archive: ${words('Archive', [f.archive])}`,
    `Origin: ${oneLine('Origin', f.origin)}`,
    `Label: ${oneLine('Label', f.label)}`,
    `Component: ${words('Component', [f.component])}`,
    `Architecture: ${words('Architecture', [f.architecture])}`,
    ...(f.acquireByHash ? ['Acquire-By-Hash: yes'] : []),
    '',
  ].join('\n');
}
