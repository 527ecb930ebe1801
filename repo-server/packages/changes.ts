// An upload's .changes (deb-changes(5)), read before anything it lists is added: the paragraph
// parsed strictly (one paragraph, bounded, no control characters), the fields aptly's include
// uses checked against their grammars (Source, Version, Distribution, Architecture, Binary),
// and the file lists (Files, Checksums-Sha1, -Sha256, optional -Sha512) joined into one entry
// per file. Every listed name must be a plain file name: it is only ever looked up in the
// same upload directory, never used as a path. The caller checks each file's bytes.

import { parseParagraphStrict, StrictControlError, type Paragraph } from '../../deb/control.js';
import { parseVersion, VersionError } from '../../deb/version.js';

export class ChangesError extends Error {}

/** A .changes larger than this (signature included) is refused before it is parsed. */
export const MAX_CHANGES_BYTES = 1 << 20;
/** Files one upload may list (Debian's largest sources build a few hundred binaries). */
export const MAX_CHANGES_FILES = 1000;
const LIMITS = { maxFieldBytes: 512 << 10, maxParagraphBytes: MAX_CHANGES_BYTES };

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH_WORD = /^[a-z0-9][a-z0-9-]{0,63}$/;
const DIST_WORD = /^[A-Za-z0-9][A-Za-z0-9._+~/-]{0,99}$/;
/** A plain file name (the .dsc's rule): no path separator, no leading dot. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;
const MAX_FILENAME_BYTES = 247;
/** Files' section/priority columns: "-", "main/admin", "optional". */
const SECTION_WORD = /^[A-Za-z0-9][A-Za-z0-9._+/-]*$|^-$/;

export interface ChangesFile {
  name: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512?: string;
}

export interface Changes {
  source: string;
  version: string;
  distribution: string;
  /** The Architecture field's words ("source", "all", "amd64"). */
  architectures: string[];
  /** The Binary field's package names. */
  binaries: string[];
  files: ChangesFile[];
  /** Every field as parsed (aptly's repo template reads them: {{.Distribution}}). */
  fields: Paragraph;
}

type Kind = 'md5' | 'sha1' | 'sha256' | 'sha512';
const LISTS: { field: string; kind: Kind; hex: number; required: boolean }[] = [
  { field: 'Files', kind: 'md5', hex: 32, required: true },
  { field: 'Checksums-Sha1', kind: 'sha1', hex: 40, required: true },
  { field: 'Checksums-Sha256', kind: 'sha256', hex: 64, required: true },
  { field: 'Checksums-Sha512', kind: 'sha512', hex: 128, required: false },
];

interface ListEntry {
  name: string;
  size: number;
  digest: string;
}

/** One digest list: Files has "<md5> <size> <section> <priority> <name>", the others "<digest> <size> <name>". */
function readList(field: string, hex: number, value: string): ListEntry[] {
  const lines = value.split('\n');
  if (lines[0]!.trim() !== '') throw new ChangesError(`field ${field}: the first line must be empty (one file per continuation line)`);
  const columns = field === 'Files' ? 5 : 3;
  const out: ListEntry[] = [];
  for (const line of lines.slice(1)) {
    const parts = line.trim().split(/[ \t]+/);
    if (parts.length !== columns) throw new ChangesError(`field ${field}: expected ${columns} columns, found '${line.trim().slice(0, 80)}'`);
    const [digest, size] = parts as [string, string];
    const name = parts[columns - 1]!;
    if (!new RegExp(`^[0-9a-f]{${hex}}$`).test(digest)) throw new ChangesError(`field ${field}: '${digest.slice(0, 130)}' is not ${hex} lowercase hex digits`);
    if (!/^[0-9]{1,15}$/.test(size)) throw new ChangesError(`field ${field}: '${size.slice(0, 20)}' is not a file size`);
    if (columns === 5 && !parts.slice(2, 4).every((w) => SECTION_WORD.test(w))) throw new ChangesError(`field Files: '${parts.slice(2, 4).join(' ').slice(0, 80)}' is not a section and priority`);
    if (!FILE_NAME.test(name) || Buffer.byteLength(name) > MAX_FILENAME_BYTES) {
      throw new ChangesError(`field ${field}: '${name.slice(0, 80)}' is not a plain file name (A-Za-z0-9.+~_-, no path, at most ${MAX_FILENAME_BYTES} bytes)`);
    }
    if (name.endsWith('.changes')) throw new ChangesError(`field ${field}: ${name}: a .changes lists no .changes`);
    if (out.some((f) => f.name === name)) throw new ChangesError(`field ${field}: ${name} is listed twice`);
    out.push({ name, size: Number(size), digest });
  }
  if (out.length === 0) throw new ChangesError(`field ${field}: no file`);
  if (out.length > MAX_CHANGES_FILES) throw new ChangesError(`field ${field}: ${out.length} files; at most ${MAX_CHANGES_FILES} are allowed`);
  return out;
}

/** The signed (or plain) text of a .changes → its checked fields; throws ChangesError naming the field. */
export function parseChanges(text: string): Changes {
  if (Buffer.byteLength(text) > MAX_CHANGES_BYTES) throw new ChangesError(`the .changes is over ${MAX_CHANGES_BYTES} bytes`);
  let fields: Paragraph;
  try {
    ({ fields } = parseParagraphStrict(text, LIMITS));
  } catch (err) {
    if (err instanceof StrictControlError) throw new ChangesError(err.message.replace(/^control /, '.changes '));
    throw err;
  }
  const byLower = new Map<string, string>();
  for (const name of fields.keys()) byLower.set(name.toLowerCase(), name);
  const get = (f: string): string | undefined => {
    const name = byLower.get(f.toLowerCase());
    return name === undefined ? undefined : fields.get(name);
  };
  const required = (f: string): string => {
    const v = get(f);
    if (v === undefined) throw new ChangesError(`the .changes has no ${f} field`);
    return v;
  };

  // "Source: foo (1.2-1)" names the source version of a binNMU; the name is the first word.
  const sourceField = required('Source').trim();
  const source = sourceField.split(/\s+/)[0]!;
  if (!NAME.test(source) || source.length > 128 || !/^[^ ]+( \([^()\s]+\))?$/.test(sourceField)) {
    throw new ChangesError(`field Source: '${sourceField.slice(0, 80)}' is not a source package name (a-z0-9+.-) with an optional (version)`);
  }
  const version = required('Version').trim();
  try {
    parseVersion(version);
  } catch (err) {
    if (err instanceof VersionError) throw new ChangesError(`field Version: ${err.message}`);
    throw err;
  }
  const distribution = required('Distribution').trim();
  if (!distribution.split(/\s+/).every((d) => DIST_WORD.test(d))) throw new ChangesError(`field Distribution: '${distribution.slice(0, 80)}' is not a list of distribution names`);
  const architectures = required('Architecture').trim().split(/\s+/);
  if (!architectures.every((a) => ARCH_WORD.test(a))) throw new ChangesError(`field Architecture: '${architectures.join(' ').slice(0, 80)}' is not a list of architecture names`);
  const binaryField = get('Binary');
  const binaries = binaryField === undefined ? [] : binaryField.trim().split(/\s+/);
  for (const b of binaries) if (!NAME.test(b) || b.length > 128) throw new ChangesError(`field Binary: invalid package name '${b.slice(0, 80)}'`);

  let files: ChangesFile[] | undefined;
  for (const { field, kind, hex, required: needed } of LISTS) {
    const value = get(field);
    if (value === undefined) {
      if (needed) throw new ChangesError(`the .changes has no ${field} field`);
      continue;
    }
    const list = readList(field, hex, value);
    if (!files) {
      files = list.map((e) => ({ name: e.name, size: e.size, md5: e.digest, sha1: '', sha256: '' }));
      continue;
    }
    if (list.length !== files.length) throw new ChangesError(`field ${field}: lists ${list.length} files, Files lists ${files.length}`);
    for (const e of list) {
      const f = files.find((x) => x.name === e.name);
      if (!f) throw new ChangesError(`field ${field}: ${e.name} is not in Files`);
      if (f.size !== e.size) throw new ChangesError(`field ${field}: ${e.name} has size ${e.size}, Files says ${f.size}`);
      f[kind] = e.digest;
    }
  }
  return { source, version, distribution, architectures, binaries, files: files!, fields };
}
