// deb822 paragraphs (control files, Packages, Release): parse and render.

/** Field order is significant in control files, so a paragraph is an ordered list. */
export type Paragraph = Map<string, string>;

export class ControlError extends Error {}

const FIELD_NAME = /^[!-9;-~][!-9;-~]*$/; // printable ASCII without ':' and not starting with '#' or '-'

/**
 * Characters a rendered value may not hold: C0 controls but tab and '\n' (which the renderer
 * turns into a continuation line), DEL, C1 controls, and U+2028/U+2029. A '\r' would end a line
 * for parsers that accept CRLF (then "x\rOrigin: y" is a new field), and Python's
 * str.splitlines() (python-debian) also splits at \v, \f, \x1c-\x1e, \x85, U+2028/9.
 */
const UNRENDERABLE = /[\0-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/;

/** What the character is, for an error message (the value itself may be what broke it). */
const describeChar = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Renders a paragraph. Multi-line values are continuation lines with a leading space;
 * empty lines inside a value become " ." as Policy 5.1 requires. A value with a character
 * that could end its line for some parser is refused: nothing in a value may start a new
 * field or paragraph.
 */
export function renderParagraph(fields: Iterable<[string, string]>): string {
  let out = '';
  for (const [name, value] of fields) {
    if (!FIELD_NAME.test(name) || name.startsWith('#') || name.startsWith('-')) {
      throw new ControlError(`invalid field name '${name}'`);
    }
    const bad = UNRENDERABLE.exec(value);
    if (bad) throw new ControlError(`field ${name}: the value holds the control character ${describeChar(bad[0])}, which could end the line`);
    const lines = value.split('\n');
    const first = lines.shift() ?? '';
    out += first === '' ? `${name}:\n` : `${name}: ${first}\n`;
    for (const line of lines) {
      out += line.trim() === '' ? ' .\n' : ` ${line}\n`;
    }
  }
  return out;
}

export function renderParagraphs(paragraphs: Iterable<Iterable<[string, string]>>): string {
  const parts: string[] = [];
  for (const p of paragraphs) parts.push(renderParagraph(p));
  return parts.join('\n');
}

/** Parses one or more paragraphs; continuation lines are joined with '\n' (leading space removed). */
export function parseParagraphs(text: string): Paragraph[] {
  const paragraphs: Paragraph[] = [];
  let current: Paragraph | null = null;
  // Lower-cased names of the current paragraph's fields, for the duplicate check.
  const seen = new Set<string>();
  let lastField: string | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      if (current) paragraphs.push(current);
      current = null;
      seen.clear();
      lastField = null;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!current || lastField === null) throw new ControlError(`line ${i + 1}: continuation line without a field`);
      const body = line.slice(1);
      const prev = current.get(lastField) ?? '';
      current.set(lastField, `${prev}\n${body === '.' ? '' : body}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ControlError(`line ${i + 1}: expected 'Field: value'`);
    const name = line.slice(0, colon);
    if (!current) current = new Map();
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw new ControlError(`line ${i + 1}: duplicate field '${name}'`);
    seen.add(lower);
    current.set(name, line.slice(colon + 1).trim());
    lastField = name;
  }
  if (current) paragraphs.push(current);
  return paragraphs;
}

export function parseParagraph(text: string): Paragraph {
  const all = parseParagraphs(text);
  if (all.length !== 1) throw new ControlError(`expected one paragraph, found ${all.length}`);
  return all[0]!;
}

/** Case-insensitive field lookup, as field names are case-insensitive in deb822. */
export function getField(p: Paragraph, name: string): string | undefined {
  const direct = p.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of p) if (k.toLowerCase() === lower) return v;
  return undefined;
}

export class DescriptionError extends Error {}

/**
 * Builds a Description value: synopsis on the first line (≤ 80 chars as lintian wants),
 * the extended text below. Blank lines become " ." when rendered.
 */
export function formatDescription(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').trim().split('\n');
  const synopsis = (lines.shift() ?? '').trim();
  if (synopsis === '') throw new DescriptionError('description is empty');
  if (synopsis.length > 80) {
    throw new DescriptionError(`synopsis (first line) is ${synopsis.length} characters; at most 80 are allowed`);
  }
  const extended = lines.map((l) => l.replace(/\t/g, '    ').trimEnd());
  // Drop a blank separator line between synopsis and body (a natural way to write YAML blocks).
  while (extended.length > 0 && extended[0] === '') extended.shift();
  return [synopsis, ...extended].join('\n');
}

/** Bounds for parseParagraphStrict, in bytes of UTF-8. */
export interface StrictLimits {
  /** One field: its name line and every continuation line. */
  maxFieldBytes: number;
  /** The whole control text. */
  maxParagraphBytes: number;
}

/** A paragraph read strictly, with each value also as apt sees it (for Description-md5). */
export interface StrictParagraph {
  fields: Paragraph;
  /** Values as written: continuation lines keep their leading space, trailing whitespace trimmed (apt's pkgTagSection::Find). */
  raw: Map<string, string>;
}

/** A strict-parse refusal; `field` names the field when the fault is inside one. */
export class StrictControlError extends ControlError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

// C0 controls and DEL, tab excepted: apt and dpkg split on some of them (NUL, CR) and no
// value needs any.
const CONTROL_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f]/;

const codePoint = (s: string): string => `U+${s.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Parses a binary package's control file as apt parses a Packages stanza, refusing
 * everything the lenient parseParagraph lets through that would change the index around it:
 * exactly one paragraph (no leading or inner blank lines, no whitespace-only lines), no '#'
 * comment lines (dpkg allows them only in source debian/control; apt's Packages parser has
 * no comment support), deb822 field names, no empty values, no control characters other
 * than tab, and size bounds. Trailing newlines are allowed: the index trims them.
 */
export function parseParagraphStrict(text: string, limits: StrictLimits): StrictParagraph {
  const total = Buffer.byteLength(text);
  if (total > limits.maxParagraphBytes) {
    throw new StrictControlError(`control file is ${total} bytes; at most ${limits.maxParagraphBytes} are allowed`);
  }
  const lines = text.replace(/\n+$/, '').split('\n');
  const fields: Paragraph = new Map();
  const raw = new Map<string, string>();
  const seen = new Set<string>();
  let name: string | null = null;
  let lineNo = 0;
  let bytes = 0;
  const finish = (): void => {
    if (name === null) return;
    const value = raw.get(name)!;
    if (value.trim() === '') throw new StrictControlError(`control field ${name}: empty value`, name);
    raw.set(name, value.trimEnd());
    fields.set(name, fields.get(name)!.trimEnd());
  };
  for (const line of lines) {
    lineNo++;
    const where = `control file line ${lineNo}`;
    const bad = CONTROL_CHAR.exec(line);
    if (line === '') {
      throw new StrictControlError(lineNo === 1 ? `${where}: starts with a blank line` : `${where}: blank line (a control file is exactly one paragraph)`);
    }
    if (line.trim() === '') throw new StrictControlError(`${where}: line of only whitespace`);
    if (line.startsWith('#')) throw new StrictControlError(`${where}: comment line ('#'): apt does not read comments in package indexes`);
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (name === null) throw new StrictControlError(`${where}: continuation line without a field`);
      if (bad) throw new StrictControlError(`control field ${name}: control character ${codePoint(bad[0])} in the value`, name);
      bytes += Buffer.byteLength(line) + 1;
      if (bytes > limits.maxFieldBytes) throw new StrictControlError(`control field ${name}: value over ${limits.maxFieldBytes} bytes`, name);
      const body = line.slice(1);
      fields.set(name, `${fields.get(name)!}\n${body === '.' ? '' : body}`);
      raw.set(name, `${raw.get(name)!}\n${line}`);
      continue;
    }
    finish();
    const colon = line.indexOf(':');
    const fieldName = colon < 0 ? line : line.slice(0, colon);
    if (colon <= 0) throw new StrictControlError(`${where}: expected 'Field: value', found '${line.slice(0, 40)}'`);
    if (!FIELD_NAME.test(fieldName) || fieldName.startsWith('#') || fieldName.startsWith('-')) {
      throw new StrictControlError(`${where}: invalid field name '${fieldName.slice(0, 40)}' (deb822: printable ASCII, no ':' or space, not starting with '#' or '-')`);
    }
    if (seen.has(fieldName.toLowerCase())) throw new StrictControlError(`control field ${fieldName}: duplicate field`, fieldName);
    if (bad) throw new StrictControlError(`control field ${fieldName}: control character ${codePoint(bad[0])} in the value`, fieldName);
    seen.add(fieldName.toLowerCase());
    name = fieldName;
    bytes = Buffer.byteLength(line) + 1;
    if (bytes > limits.maxFieldBytes) throw new StrictControlError(`control field ${name}: value over ${limits.maxFieldBytes} bytes`, name);
    const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
    fields.set(name, value);
    raw.set(name, value);
  }
  finish();
  if (fields.size === 0) throw new StrictControlError('control file is empty');
  return { fields, raw };
}
