// nfpm's defaults on the merged spec, kept honest for Debian. nfpm fills a missing maintainer
// ("Unset Maintainer <unset@localhost>") and description ("no description given") and accepts a
// maintainer without an address; debpkg does the same so an nfpm config builds as written, but
// warns with the exact line to add, since lintian calls each of them an error. The architecture
// defaults to the build host's (the caller says which), and nfpm's rpm-only content types are
// plain files. nfpm fields whose .deb meaning the builder does not implement yet are refused by
// name, with the others, instead of being silently dropped.

import { SpecError, type FieldPath } from './spec-error.js';
import type { PlainMap, PlainValue } from './spec-overrides.js';

export const NFPM_UNSET_MAINTAINER = 'Unset Maintainer <unset@localhost>';
export const NFPM_NO_DESCRIPTION = 'no description given';

export interface DefaultsOptions {
  /** Architecture for a spec without `arch` (the CLI passes the host's); default `all`. */
  defaultArch?: string;
  /** Says where defaultArch came from, for the note ("this host, dpkg --print-architecture"). */
  defaultArchSource?: string;
  /** Asked only for a spec without `arch` (and no defaultArch): asking dpkg costs a process. */
  hostArch?: () => { arch: string; source: string };
}

export interface DefaultsResult {
  problems: SpecError[];
  warnings: SpecError[];
  notes: string[];
}

const ADDRESS = /^[^<>,\n]+ <[^<>@\s]+@[^<>\s]+>$/;
const RPM_ONLY_TYPES = new Set(['doc', 'license', 'licence', 'readme']);

/** nfpm fields with a meaning in a .deb that this builder does not give them yet. */
const NOT_YET: ReadonlyArray<{ path: FieldPath; what: string }> = [];

function isMap(v: PlainValue | undefined): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueAt(spec: PlainMap, path: FieldPath): PlainValue | undefined {
  let v: PlainValue | undefined = spec;
  for (const p of path) v = isMap(v) ? v[String(p)] : undefined;
  return v;
}

export function applyNfpmDefaults(spec: PlainMap, opts: DefaultsOptions = {}): DefaultsResult {
  const result: DefaultsResult = { problems: [], warnings: [], notes: [] };
  maintainer(spec, result);
  if (typeof spec.description !== 'string' || spec.description.trim() === '') {
    spec.description = NFPM_NO_DESCRIPTION;
    result.warnings.push(
      new SpecError(['description'], `not set: nfpm's '${NFPM_NO_DESCRIPTION}' is used; add \`description: what the package does, in one line\``),
    );
  }
  arch(spec, opts, result);
  contents(spec, result);
  for (const { path, what } of NOT_YET) {
    if (valueAt(spec, path) !== undefined) {
      result.problems.push(new SpecError(path, `debpkg does not support ${what} yet; remove this field to build`));
    }
  }
  return result;
}

function maintainer(spec: PlainMap, result: DefaultsResult): void {
  const value = typeof spec.maintainer === 'string' ? spec.maintainer.trim() : '';
  if (value === '') {
    spec.maintainer = NFPM_UNSET_MAINTAINER;
    result.warnings.push(
      new SpecError(['maintainer'], `not set: nfpm's '${NFPM_UNSET_MAINTAINER}' is used (Debian needs a real one); add \`maintainer: Your Name <you@example.org>\``),
    );
    return;
  }
  if (ADDRESS.test(value)) return;
  const fix = /^[^\s<>]+@[^\s<>]+$/.test(value)
    ? `Your Name <${value}>`
    : /^[^<>@,\n]+$/.test(value)
      ? `${value} <you@example.org>`
      : 'Your Name <you@example.org>';
  result.warnings.push(
    new SpecError(['maintainer'], `'${value}' is not 'Name <email>' as Debian requires (lintian: malformed-contact); write \`maintainer: ${fix}\``),
  );
}

function arch(spec: PlainMap, opts: DefaultsOptions, result: DefaultsResult): void {
  // nfpm: deb.arch is the architecture "in deb nomenclature" and wins for the .deb.
  const deb = spec.deb;
  if (isMap(deb) && typeof deb.arch === 'string' && deb.arch !== '') {
    spec.arch = deb.arch;
    const { arch: _used, ...restDeb } = deb;
    spec.deb = restDeb;
  }
  if (typeof spec.arch === 'string' && spec.arch !== '') return;
  const host = opts.defaultArch === undefined ? opts.hostArch?.() : undefined;
  const chosen = host?.arch ?? opts.defaultArch ?? 'all';
  const source = host?.source ?? opts.defaultArchSource;
  spec.arch = chosen;
  result.notes.push(
    `arch not set: building for ${chosen}${source ? ` (${source})` : ''}; set \`arch: all\` for an architecture-independent package`,
  );
}

function contents(spec: PlainMap, result: DefaultsResult): void {
  const list = spec.contents;
  if (!Array.isArray(list)) return;
  list.forEach((item, i) => {
    if (!isMap(item)) return;
    const type = item.type;
    if (typeof type === 'string' && RPM_ONLY_TYPES.has(type)) delete item.type;
    // debpkg expands every string already; lang is an rpm tag. Neither changes a .deb.
    delete item.expand;
    if (isMap(item.file_info)) delete item.file_info.lang;
  });
}
