// A binary package's control text is copied verbatim into the Packages index, so whatever is
// odd in it lands between other packages' stanzas: one malformed field, a comment paragraph or
// a stanza over apt's buffer makes `apt-get update` fail for the whole distribution. This
// checks the control text as apt will read it, before the package is acknowledged.

import { createHash } from 'node:crypto';
import { parseParagraphStrict, StrictControlError, type StrictLimits } from '../../deb/control.js';
import { parseRelationField, RelationError } from '../../deb/relation.js';

/**
 * apt's tag-file buffer stops growing at about 1 MiB (pkgTagFile::Resize), and a stanza it
 * cannot fit makes the whole index unparseable. Debian's largest stanza (librust-winapi-dev,
 * bookworm) is 76 KB with a 75 KB Provides: both bounds leave more than 3× that margin and keep
 * a stanza (plus the index's own Filename/Size/digest lines) at half of apt's limit.
 */
export const CONTROL_LIMITS: StrictLimits = { maxFieldBytes: 256 << 10, maxParagraphBytes: 512 << 10 };

/** deb-control(5) relation fields of a binary package. */
const RELATION_FIELDS = [
  'Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Enhances', 'Breaks', 'Conflicts', 'Replaces', 'Provides', 'Built-Using', 'Static-Built-Using',
];

/** Fields the index writes for each package; a copy in the control would make apt read two. */
/** Fields whose values dpkg and apt know as a closed set (deb-control(5)). */
const CLOSED_FIELDS: [string, string[]][] = [
  ['Multi-Arch', ['no', 'same', 'foreign', 'allowed']],
  ['Essential', ['yes', 'no']],
  ['Protected', ['yes', 'no']],
  ['Build-Essential', ['yes', 'no']],
];

const INDEX_FIELDS = ['Filename', 'Size', 'MD5sum', 'SHA1', 'SHA256', 'SHA512'];
/** Fields of dpkg's own database, which dpkg refuses in a package's control file (found by the fuzzer). */
const DPKG_DATABASE_FIELDS = ['Status', 'Config-Version', 'Conffiles', 'Triggers-Pending', 'Triggers-Awaited'];

/**
 * apt's Description-md5: the MD5 of the Description value as written (continuation lines with
 * their leading space, trailing whitespace trimmed) plus one newline (debListParser::Description_md5).
 */
export function descriptionMd5(rawDescription: string): string {
  return createHash('md5').update(`${rawDescription}\n`).digest('hex');
}

/** The reason this control text may not be published, naming the field, or null when it may. */
export function controlProblem(text: string, limits: StrictLimits = CONTROL_LIMITS): string | null {
  // dpkg fails to parse a control file whose last line has no newline (found by the fuzzer).
  if (text !== '' && !text.endsWith('\n')) return 'control file: missing final newline';
  let parsed;
  try {
    parsed = parseParagraphStrict(text, limits);
  } catch (err) {
    if (err instanceof StrictControlError) return err.message;
    throw err;
  }
  const { fields, raw } = parsed;
  const byLower = new Map<string, string>();
  for (const name of fields.keys()) byLower.set(name.toLowerCase(), name);
  const named = (field: string): string | undefined => byLower.get(field.toLowerCase());

  for (const field of INDEX_FIELDS) {
    const name = named(field);
    if (name) return `control field ${name}: written by the repository index, not allowed in a package's control file`;
  }
  for (const field of DPKG_DATABASE_FIELDS) {
    const name = named(field);
    if (name) return `control field ${name}: kept by dpkg in its own database, not allowed in a package's control file`;
  }
  for (const field of RELATION_FIELDS) {
    const name = named(field);
    if (!name) continue;
    try {
      const groups = parseRelationField(fields.get(name)!, { field, binary: true });
      if (groups.length === 0) return `control field ${name}: no relation`;
    } catch (err) {
      if (err instanceof RelationError) return `control field ${name}: ${err.message}`;
      throw err;
    }
  }
  const installedSize = named('Installed-Size');
  if (installedSize && !/^[0-9]{1,15}$/.test(fields.get(installedSize)!)) {
    return `control field ${installedSize}: '${fields.get(installedSize)!.slice(0, 40)}' is not a size in KiB (a non-negative integer)`;
  }
  // Fields with a closed set of values: apt warns on an unknown Multi-Arch (`apt-get update`
  // then prints W: lines for the whole distribution; found by the fuzzer), dpkg refuses a bad
  // Essential/Protected when it installs.
  for (const [field, allowed] of CLOSED_FIELDS) {
    const name = named(field);
    if (name && !allowed.includes(fields.get(name)!)) return `control field ${name}: '${fields.get(name)!.slice(0, 40)}' is not one of ${allowed.join(', ')}`;
  }
  const description = named('Description');
  if (description && fields.get(description)!.split('\n')[0]!.trim() === '') {
    return `control field ${description}: the first line (synopsis) is empty`;
  }
  const md5Field = named('Description-md5');
  if (md5Field) {
    const md5 = fields.get(md5Field)!;
    if (!/^[0-9a-f]{32}$/.test(md5)) return `control field ${md5Field}: '${md5.slice(0, 40)}' is not 32 lowercase hex digits`;
    if (!description) return `control field ${md5Field}: there is no Description field`;
    const want = descriptionMd5(raw.get(description)!);
    if (md5 !== want) return `control field ${md5Field}: ${md5} is not the MD5 of the Description (${want})`;
  }
  return null;
}
