// Pure tar header encoding for .deb members.
//
// dpkg's extractor rejects PAX extended headers, so names that do not fit ustar's
// name/prefix fields and link targets over 100 bytes use GNU long-name ('L') and
// long-link ('K') records instead; sizes that overflow 11 octal digits use GNU base-256.

export const BLOCK_SIZE = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface TarHeader {
  /** Archive path, e.g. "./usr/bin/app" ("./usr/" for directories is added by the encoder). */
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (integer). */
  mtime: number;
  /** Bytes of content; 0 for anything but regular files. */
  size: number;
  /** Target of a symlink or hard link. */
  linkTarget?: string;
}

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  directory: '5',
};

const GNU_LONGNAME = 'L';
const GNU_LONGLINK = 'K';
const LONGLINK_NAME = '././@LongLink';

const NAME_LEN = 100;
const PREFIX_LEN = 155;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export class TarFormatError extends Error {}

/** Directory entries carry a trailing slash, as GNU tar and dpkg-deb write them. */
function archiveName(header: TarHeader): string {
  return header.type === 'directory' && !header.path.endsWith('/') ? `${header.path}/` : header.path;
}

function checkHeader(header: TarHeader): void {
  if ((header.type === 'symlink' || header.type === 'hardlink') && !header.linkTarget) {
    throw new TarFormatError(`${header.path}: ${header.type} without a target`);
  }
  if (header.type !== 'file' && header.size !== 0) {
    throw new TarFormatError(`${header.path}: only regular files have a size`);
  }
  if (!Number.isSafeInteger(header.size) || header.size < 0) {
    throw new TarFormatError(`${header.path}: invalid size ${header.size}`);
  }
}

/** Encodes one entry's header block(s); content and padding follow separately. */
export function encodeHeader(header: TarHeader): Buffer {
  checkHeader(header);
  const name = Buffer.from(archiveName(header), 'utf8');
  const link = Buffer.from(header.linkTarget ?? '', 'utf8');
  const blocks: Buffer[] = [];
  let nameField: Buffer = name;
  let prefixField: Buffer = Buffer.alloc(0);
  if (name.length > NAME_LEN) {
    const split = splitUstarName(name);
    if (split) {
      [prefixField, nameField] = split;
    } else {
      blocks.push(longRecord(GNU_LONGNAME, name, header));
      nameField = name.subarray(0, NAME_LEN);
    }
  }
  let linkField = link;
  if (link.length > NAME_LEN) {
    blocks.push(longRecord(GNU_LONGLINK, link, header));
    linkField = link.subarray(0, NAME_LEN);
  }
  blocks.push(headerBlock(rawHeader(header, nameField, prefixField, linkField)));
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/**
 * The common case of encodeHeader written in place: name and link target fit their ustar fields
 * as they are, so the header is one block. Writes it at `buf[off..off+512)` and returns true, or
 * writes nothing and returns false (the caller uses encodeHeader). Spares the many-small-files
 * path three allocations per entry.
 */
export function encodeHeaderInto(header: TarHeader, buf: Buffer, off: number): boolean {
  const name = archiveName(header);
  // A string's UTF-8 length is at least its length: long ones are left to encodeHeader.
  if (name.length > NAME_LEN || (header.linkTarget?.length ?? 0) > NAME_LEN) return false;
  if (Buffer.byteLength(name) > NAME_LEN || Buffer.byteLength(header.linkTarget ?? '') > NAME_LEN) return false;
  checkHeader(header);
  buf.fill(0, off, off + BLOCK_SIZE);
  buf.write(name, off, 'utf8');
  if (header.linkTarget) buf.write(header.linkTarget, off + 157, 'utf8');
  writeFields(buf, off, rawHeader(header, EMPTY, EMPTY, EMPTY));
  return true;
}

function rawHeader(header: TarHeader, name: Buffer, prefix: Buffer, linkname: Buffer): RawHeader {
  return {
    name,
    prefix,
    linkname,
    typeflag: TYPEFLAG[header.type],
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    uname: header.uname,
    gname: header.gname,
    mtime: header.mtime,
    size: header.size,
  };
}

/** Zero bytes that round content of `size` bytes up to a whole block. */
export function paddingFor(size: number): Buffer {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? EMPTY : Buffer.alloc(BLOCK_SIZE - rest);
}

const EMPTY = Buffer.alloc(0);

/** Two zero blocks end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK_SIZE);
}

/** Splits at a '/' so that prefix ≤ 155 bytes and name ≤ 100 bytes, or returns null. */
function splitUstarName(name: Buffer): [Buffer, Buffer] | null {
  const slash = 0x2f;
  // The name part should be as long as allowed, so search from the left edge of the window.
  for (let i = Math.max(0, name.length - NAME_LEN - 1); i < name.length && i <= PREFIX_LEN; i++) {
    if (name[i] !== slash) continue;
    const prefix = name.subarray(0, i);
    const rest = name.subarray(i + 1);
    if (rest.length > 0 && rest.length <= NAME_LEN && prefix.length > 0) return [prefix, rest];
  }
  return null;
}

function longRecord(typeflag: string, value: Buffer, header: TarHeader): Buffer {
  const data = Buffer.concat([value, Buffer.alloc(1)]); // NUL-terminated, as GNU tar writes it
  const head = headerBlock({
    name: Buffer.from(LONGLINK_NAME),
    prefix: EMPTY,
    linkname: EMPTY,
    typeflag,
    mode: 0o644,
    uid: 0,
    gid: 0,
    uname: header.uname,
    gname: header.gname,
    mtime: 0,
    size: data.length,
  });
  return Buffer.concat([head, data, paddingFor(data.length)]);
}

interface RawHeader {
  name: Buffer;
  prefix: Buffer;
  linkname: Buffer;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
}

function headerBlock(h: RawHeader): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  h.name.copy(block, 0);
  h.linkname.copy(block, 157);
  h.prefix.copy(block, 345);
  writeFields(block, 0, h);
  return block;
}

/** Every field but name, linkname and prefix (already in place), then the checksum. */
function writeFields(buf: Buffer, at: number, h: RawHeader): void {
  writeOctal(buf, at + 100, 8, h.mode & 0o7777, 'mode');
  writeOctal(buf, at + 108, 8, h.uid, 'uid');
  writeOctal(buf, at + 116, 8, h.gid, 'gid');
  writeNumber(buf, at + 124, 12, h.size, 'size');
  writeNumber(buf, at + 136, 12, h.mtime, 'mtime');
  buf.write(h.typeflag, at + 156, 'latin1');
  buf.write('ustar\u000000', at + 257, 'latin1');
  writeName(buf, at + 265, 32, h.uname, 'uname');
  writeName(buf, at + 297, 32, h.gname, 'gname');
  writeOctal(buf, at + 329, 8, 0, 'devmajor');
  writeOctal(buf, at + 337, 8, 0, 'devminor');
  // The checksum is computed with its own field read as eight spaces.
  buf.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + BLOCK_SIZE; i++) sum += buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, at + 148, 'latin1');
}

function writeName(block: Buffer, offset: number, length: number, value: string, field: string): void {
  if (Buffer.byteLength(value) >= length) throw new TarFormatError(`${field} '${value}' is longer than ${length - 1} bytes`);
  block.write(value, offset, 'utf8');
}

function writeOctal(block: Buffer, offset: number, length: number, value: number, field: string): void {
  const digits = length - 1;
  const text = value.toString(8);
  if (!Number.isInteger(value) || value < 0 || text.length > digits) {
    throw new TarFormatError(`${field} ${value} does not fit the tar header`);
  }
  block.write(`${text.padStart(digits, '0')}\u0000`, offset, 'latin1');
}

/** Octal when it fits, else GNU base-256 (high bit set, big-endian two's complement). */
function writeNumber(block: Buffer, offset: number, length: number, value: number, field: string): void {
  if (value >= 0 && value <= MAX_OCTAL_SIZE) {
    writeOctal(block, offset, length, value, field);
    return;
  }
  if (!Number.isSafeInteger(value)) throw new TarFormatError(`${field} ${value} is not a safe integer`);
  let n = BigInt(value);
  const bytes = Buffer.alloc(length, value < 0 ? 0xff : 0);
  for (let i = length - 1; i > 0; i--) {
    bytes[i] = Number(BigInt.asUintN(8, n));
    n >>= 8n;
  }
  bytes[0] = value < 0 ? 0xff : 0x80;
  bytes.copy(block, offset);
}

/** Decodes a numeric header field written either way (used by readers and tests). */
export function decodeNumber(field: Buffer): number {
  return numberAt(field, 0, field.length);
}

/** A numeric field in place: GNU base-256, else octal digits up to a NUL or space. */
function numberAt(buf: Buffer, start: number, end: number): number {
  const first = buf[start]!;
  if (first & 0x80) {
    let n = BigInt(first & 0x7f);
    if (first === 0xff) n = -1n;
    for (let i = start + 1; i < end; i++) n = (n << 8n) | BigInt(buf[i]!);
    return Number(n);
  }
  // Byte loop rather than toString + parseInt: this runs for every member of every upload.
  let i = start;
  while (i < end && buf[i] === 0x20) i++;
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return NaN;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

interface RawMember {
  typeflag: number;
  size: number;
  /** Offset of the member's data, and of the next header. */
  start: number;
  next: number;
}

/**
 * Sum of the 512 bytes of a header block. This runs for every member of every uploaded
 * package, so an aligned block is summed a word at a time: two 16-bit lanes per 32-bit word
 * (128 words × 2 × 255 cannot overflow a lane).
 */
function byteSum(buf: Buffer, off: number): number {
  const at = buf.byteOffset + off;
  if ((at & 3) !== 0) {
    let sum = 0;
    for (let i = off; i < off + BLOCK_SIZE; i++) sum += buf[i]!;
    return sum;
  }
  const words = new Uint32Array(buf.buffer, at, BLOCK_SIZE / 4);
  let lanes = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  return (lanes % 0x10000) + Math.floor(lanes / 0x10000);
}

/** The header at `off`, checked (checksum, size, bounds); null at an end-of-archive block. */
function headerAt(buf: Buffer, off: number, paxSize: string | undefined): RawMember | null {
  let sum = byteSum(buf, off);
  if (sum === 0) return null;
  const stored = numberAt(buf, off + 148, off + 156);
  // The checksum is taken with its own field read as eight spaces.
  for (let i = off + 148; i < off + 156; i++) sum += 0x20 - buf[i]!;
  if (sum !== stored) throw new TarFormatError(`bad tar header checksum at offset ${off}`);
  const size = paxSize !== undefined ? Number(paxSize) : numberAt(buf, off + 124, off + 136);
  if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`bad tar member size at offset ${off}`);
  const start = off + BLOCK_SIZE;
  if (start + size > buf.length) throw new TarFormatError(`tar member at offset ${off} is truncated`);
  return { typeflag: buf[off + 156]!, size, start, next: start + Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE };
}

/**
 * Entry types dpkg's own tar extractor unpacks (lib/dpkg/tarfn.c): files, links, directories,
 * devices and fifos, and GNU long name/link records. Found by the fuzzer: a GNU volume header
 * ('V') or a contiguous file ('7') passed the structural walk and dpkg then refused the package
 * on the node; so did a hard link named like a directory. pax records
 * stay readable here (they are parsed for sizes) because the repo's own inspection tolerated them.
 */
const DPKG_TYPEFLAGS = new Set([0x00, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x4b, 0x4c, 0x78, 0x67]);

/**
 * Checks an in-memory tar archive's structure (every header's checksum, sizes, no truncation)
 * without decoding names: the cheap walk for a payload whose entries are not needed.
 */
export function checkTarBuffer(buf: Buffer): void {
  let off = 0;
  let paxSize: string | undefined;
  while (off + BLOCK_SIZE <= buf.length) {
    const m = headerAt(buf, off, paxSize);
    if (!m) return;
    if (!DPKG_TYPEFLAGS.has(m.typeflag)) throw new TarFormatError(`tar entry type '${String.fromCharCode(m.typeflag).replace(/[^ -~]/g, '?')}' at offset ${off} is not one dpkg unpacks`);
    if (m.typeflag === 0x31 /* hard link */) {
      const zero = buf.indexOf(0, off);
      const nameEnd = zero >= off && zero < off + 100 ? zero : off + 100;
      if (nameEnd === off || buf[nameEnd - 1] === 0x2f /* / */) throw new TarFormatError(`tar hard link at offset ${off} is named like a directory`);
    }
    if (m.typeflag === 0x31 && buf[off + 157] === 0) throw new TarFormatError(`tar hard link at offset ${off} has no target`);
    off = m.next;
    if (m.typeflag === 0x78 /* x */) paxSize = parsePax(buf.subarray(m.start, m.start + m.size)).size;
    else if (m.typeflag !== 0x67 /* g */ && m.typeflag !== 0x4c /* L */ && m.typeflag !== 0x4b /* K */) paxSize = undefined;
  }
  if (off !== buf.length) throw new TarFormatError('tar archive is truncated');
}

export interface TarMember {
  path: string;
  type: TarEntryType | 'other';
  mode: number;
  size: number;
  linkTarget?: string;
  /** The member's bytes (a view into the archive buffer). */
  data: Buffer;
}

/**
 * Walks an in-memory tar archive: ustar (with prefix), GNU long-name/long-link records, and
 * PAX path/linkpath/size records (other tools write those). Throws TarFormatError on a bad
 * checksum or a truncated archive.
 */
export function* readTarBuffer(buf: Buffer): Generator<TarMember> {
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  while (off + BLOCK_SIZE <= buf.length) {
    const m = headerAt(buf, off, pax.size);
    if (!m) return;
    const block = buf.subarray(off, off + BLOCK_SIZE);
    const typeflag = String.fromCharCode(m.typeflag);
    const size = m.size;
    const data = buf.subarray(m.start, m.start + size);
    off = m.next;
    const cstr = (b: Buffer): string => b.subarray(0, b.indexOf(0) === -1 ? b.length : b.indexOf(0)).toString('utf8');
    if (typeflag === GNU_LONGNAME) {
      longName = cstr(data);
      continue;
    }
    if (typeflag === GNU_LONGLINK) {
      longLink = cstr(data);
      continue;
    }
    if (typeflag === 'x' || typeflag === 'g') {
      if (typeflag === 'x') pax = parsePax(data);
      continue;
    }
    const magic = block.subarray(257, 263).toString('latin1');
    const prefix = magic === 'ustar\u0000' ? cstr(block.subarray(345, 500)) : '';
    const name = cstr(block.subarray(0, 100));
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const link = pax.linkpath ?? longLink ?? cstr(block.subarray(157, 257));
    const type = (Object.keys(TYPEFLAG) as TarEntryType[]).find((k) => TYPEFLAG[k] === typeflag) ?? (typeflag === '\0' ? 'file' : 'other');
    yield {
      path,
      type,
      mode: decodeNumber(block.subarray(100, 108)),
      size,
      ...(link ? { linkTarget: link } : {}),
      data,
    };
    longName = undefined;
    longLink = undefined;
    pax = {};
  }
  // No end-of-archive blocks is tolerated (GNU tar does too); a partial block is not.
  if (off !== buf.length) throw new TarFormatError('tar archive is truncated');
}

/** PAX records: "<len> key=value\n" repeated. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space === -1) break;
    const len = Number(data.subarray(off, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0) throw new TarFormatError('malformed PAX record');
    const record = data.subarray(space + 1, off + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}
