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
