// A source package's .dsc, read before anything of it is stored: the OpenPGP clearsign armor
// stripped (not verified: aptly's add-from-directory only extracts the text too), the
// paragraph parsed as strictly as a binary package's control file, and every value that will
// be copied into a Sources index checked against its grammar. The file lists (Files,
// Checksums-Sha1/-Sha256/-Sha512) are returned for the caller to check against the bytes.

import { parseParagraphStrict, StrictControlError, type Paragraph } from '../../deb/control.js';
import { parseRelationField, RelationError } from '../../deb/relation.js';
import { parseVersion, VersionError } from '../../deb/version.js';
import { CONTROL_LIMITS, controlProblem } from './control-check.js';

export class DscError extends Error {}

/** A .dsc larger than this (signature included) is refused before it is parsed. */
export const MAX_DSC_BYTES = 1 << 20;
/** Files one source package may name (Debian's largest have a few dozen orig components). */
export const MAX_DSC_FILES = 64;
/** apt keeps a fetched file under its own name; the same bound as a binary's pool file name. */
const MAX_FILENAME_BYTES = 247;

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const MAX_NAME = 128;
const ARCH_WORD = /^[a-z0-9][a-z0-9-]{0,63}$/;
const FORMAT = /^[0-9]+\.[0-9]+( \([a-z0-9]+\))?$/;
/** A plain file name: no path separator, no leading dot, nothing a shell or a URL would read. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

/** The digest lists of a .dsc: field → hex length of its digest. */
export const SUM_FIELDS = { Files: 32, 'Checksums-Sha1': 40, 'Checksums-Sha256': 64, 'Checksums-Sha512': 128 } as const;
export type SumField = keyof typeof SUM_FIELDS;
export type SumKind = 'md5' | 'sha1' | 'sha256' | 'sha512';
export const SUM_KIND: Record<SumField, SumKind> = { Files: 'md5', 'Checksums-Sha1': 'sha1', 'Checksums-Sha256': 'sha256', 'Checksums-Sha512': 'sha512' };

/** Source relation fields (deb-src-control(5)): [arch] and <profile> allowed. */
const RELATION_FIELDS = ['Build-Depends', 'Build-Depends-Indep', 'Build-Depends-Arch', 'Build-Conflicts', 'Build-Conflicts-Indep', 'Build-Conflicts-Arch'];
/** Written by the Sources index (or by us from Source): a copy in the .dsc would make apt read two. */
const INDEX_FIELDS = ['Package', 'Directory', 'Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256', 'SHA512'];

export interface DscFile {
  name: string;
  size: number;
  md5?: string;
  sha1?: string;
  sha256?: string;
  sha512?: string;
}

export interface Dsc {
  source: string;
  version: string;
  /** The .dsc's own Architecture value ("any", "all", "amd64 arm64"), '' when absent. */
  architecture: string;
  /** The stanza to publish before the file lists: Package (from Source) then the other fields as written. */
  control: string;
  files: DscFile[];
}

/**
 * The signed text of an OpenPGP cleartext-signed message (RFC 4880 §7), or the input when it
 * is not signed. Anything else around or inside the armor is refused: a second message, text
 * outside it, a signature without its header.
 */
export function stripClearsign(text: string, what = '.dsc'): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const isArmor = (l: string): boolean => /^-----(BEGIN|END) PGP /.test(l);
  if (lines[0] !== '-----BEGIN PGP SIGNED MESSAGE-----') {
    const at = lines.findIndex(isArmor);
    if (at >= 0) throw new DscError(`line ${at + 1}: OpenPGP armor in an unsigned ${what} (a signed one starts with -----BEGIN PGP SIGNED MESSAGE-----)`);
    return text;
  }
  let i = 1;
  // Armor headers ("Hash: SHA512") up to the blank line.
  for (; i < lines.length && lines[i] !== ''; i++) {
    if (!/^[A-Za-z][A-Za-z0-9-]*: \S/.test(lines[i]!)) throw new DscError(`line ${i + 1}: malformed armor header in the signed ${what}`);
  }
  if (i >= lines.length) throw new DscError(`signed ${what}: no blank line after the armor headers`);
  const body: string[] = [];
  for (i++; i < lines.length && lines[i] !== '-----BEGIN PGP SIGNATURE-----'; i++) {
    const l = lines[i]!;
    if (l.startsWith('- ')) body.push(l.slice(2));
    else if (isArmor(l) || l.startsWith('-')) throw new DscError(`line ${i + 1}: unexpected '${l.slice(0, 40)}' in the signed text of the ${what}`);
    else body.push(l);
  }
  if (i >= lines.length) throw new DscError(`signed ${what}: no -----BEGIN PGP SIGNATURE----- block`);
  const end = lines.indexOf('-----END PGP SIGNATURE-----', i);
  if (end < 0) throw new DscError(`signed ${what}: the signature block has no -----END PGP SIGNATURE----- line`);
  if (lines.slice(end + 1).some((l) => l.trim() !== '')) throw new DscError(`line ${end + 2}: text after the signature of the ${what}`);
  // The line break before the signature belongs to the armor.
  return `${body.join('\n')}\n`;
}

/** Reads one digest list ("<hex> <size> <name>" per continuation line). */
function sumList(field: SumField, value: string): DscFile[] {
  const hexLen = SUM_FIELDS[field];
  const lines = value.split('\n');
  if (lines[0]!.trim() !== '') throw new DscError(`field ${field}: the first line must be empty (one file per continuation line)`);
  const out: DscFile[] = [];
  for (const line of lines.slice(1)) {
    const parts = line.trim().split(/[ \t]+/);
    if (parts.length !== 3) throw new DscError(`field ${field}: expected '<digest> <size> <file name>', found '${line.trim().slice(0, 80)}'`);
    const [digest, size, name] = parts as [string, string, string];
    if (!new RegExp(`^[0-9a-f]{${hexLen}}$`).test(digest)) throw new DscError(`field ${field}: '${digest.slice(0, 130)}' is not ${hexLen} lowercase hex digits`);
    if (!/^[0-9]{1,15}$/.test(size)) throw new DscError(`field ${field}: '${size.slice(0, 20)}' is not a file size`);
    if (!FILE_NAME.test(name) || Buffer.byteLength(name) > MAX_FILENAME_BYTES) {
      throw new DscError(`field ${field}: '${name.slice(0, 80)}' is not a plain file name (A-Za-z0-9.+~_-, no path, at most ${MAX_FILENAME_BYTES} bytes)`);
    }
    if (name.endsWith('.dsc') || name.endsWith('.deb')) throw new DscError(`field ${field}: ${name}: a source package names no .dsc or .deb among its files`);
    if (out.some((f) => f.name === name)) throw new DscError(`field ${field}: ${name} is listed twice`);
    out.push({ name, size: Number(size), [SUM_KIND[field]]: digest });
  }
  if (out.length === 0) throw new DscError(`field ${field}: no file`);
  if (out.length > MAX_DSC_FILES) throw new DscError(`field ${field}: ${out.length} files; at most ${MAX_DSC_FILES} are allowed`);
  return out;
}

/** Joins the digest lists: they must name the same files with the same sizes. */
function fileLists(fields: Paragraph, named: (f: string) => string | undefined): DscFile[] {
  const filesField = named('Files');
  if (!filesField) throw new DscError('the .dsc has no Files field');
  const files = sumList('Files', fields.get(filesField)!);
  for (const field of Object.keys(SUM_FIELDS) as SumField[]) {
    if (field === 'Files') continue;
    const name = named(field);
    if (!name) continue;
    const list = sumList(field, fields.get(name)!);
    if (list.length !== files.length) throw new DscError(`field ${field}: names ${list.length} files, Files names ${files.length}`);
    for (const entry of list) {
      const f = files.find((x) => x.name === entry.name);
      if (!f) throw new DscError(`field ${field}: ${entry.name} is not in Files`);
      if (f.size !== entry.size) throw new DscError(`field ${field}: ${entry.name} has size ${entry.size}, Files says ${f.size}`);
      Object.assign(f, { [SUM_KIND[field]]: entry[SUM_KIND[field]] });
    }
  }
  return files;
}

/** A .dsc's bytes → its checked fields; throws DscError naming the field or line. */
export function parseDsc(bytes: Buffer): Dsc {
  if (bytes.length > MAX_DSC_BYTES) throw new DscError(`the .dsc is ${bytes.length} bytes; at most ${MAX_DSC_BYTES} are allowed`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) throw new DscError('the .dsc is not valid UTF-8');
  let parsed;
  try {
    parsed = parseParagraphStrict(stripClearsign(text), CONTROL_LIMITS);
  } catch (err) {
    if (err instanceof StrictControlError) throw new DscError(err.message.replace(/^control /, '.dsc '));
    throw err;
  }
  const { fields, raw } = parsed;
  const byLower = new Map<string, string>();
  for (const name of fields.keys()) byLower.set(name.toLowerCase(), name);
  const named = (f: string): string | undefined => byLower.get(f.toLowerCase());
  const required = (f: string): string => {
    const name = named(f);
    if (!name) throw new DscError(`the .dsc has no ${f} field`);
    return fields.get(name)!;
  };

  const source = required('Source');
  if (!NAME.test(source) || source.length > MAX_NAME) throw new DscError(`field Source: invalid source package name '${source.slice(0, 200)}' (a-z0-9+.-, at most ${MAX_NAME} characters)`);
  const version = required('Version');
  try {
    parseVersion(version);
  } catch (err) {
    if (err instanceof VersionError) throw new DscError(`field Version: ${err.message}`);
    throw err;
  }
  const format = required('Format');
  if (!FORMAT.test(format)) throw new DscError(`field Format: '${format.slice(0, 40)}' is not a source format such as '3.0 (quilt)'`);
  for (const f of INDEX_FIELDS) {
    const name = named(f);
    if (name) throw new DscError(`field ${name}: written by the repository index, not allowed in a .dsc`);
  }
  for (const name of fields.keys()) {
    if (/^checksums-/i.test(name) && !(Object.keys(SUM_FIELDS) as string[]).some((s) => s.toLowerCase() === name.toLowerCase())) {
      throw new DscError(`field ${name}: unknown checksum list (Files, Checksums-Sha1, Checksums-Sha256, Checksums-Sha512)`);
    }
  }
  const archField = named('Architecture');
  const architecture = archField ? fields.get(archField)! : '';
  if (archField && !architecture.split(/[ \t]+/).every((a) => ARCH_WORD.test(a))) {
    throw new DscError(`field Architecture: '${architecture.slice(0, 80)}' is not a list of architecture names`);
  }
  const binary = named('Binary');
  if (binary) {
    for (const b of fields.get(binary)!.split(',').map((s) => s.trim())) {
      if (!NAME.test(b) || b.length > MAX_NAME) throw new DscError(`field Binary: invalid package name '${b.slice(0, 80)}'`);
    }
  }
  for (const f of RELATION_FIELDS) {
    const name = named(f);
    if (!name) continue;
    try {
      parseRelationField(fields.get(name)!, { field: f });
    } catch (err) {
      if (err instanceof RelationError) throw new DscError(`field ${name}: ${err.message}`);
      throw err;
    }
  }
  const files = fileLists(fields, named);

  // The published stanza: Package first (apt's Sources key), then the fields as written.
  const lines = [`Package: ${source}`];
  for (const [name, value] of raw) {
    if (name.toLowerCase() === 'source' || name in SUM_FIELDS || /^checksums-|^files$/i.test(name)) continue;
    lines.push(value.startsWith('\n') ? `${name}:${value}` : `${name}: ${value}`);
  }
  const control = `${lines.join('\n')}\n`;
  // The same rules as a binary's control (index fields, closed values, sizes) on what we publish.
  const problem = controlProblem(control);
  if (problem !== null) throw new DscError(problem.replace(/^control /, '.dsc '));
  return { source, version, architecture, control, files };
}
