// Pure ar (System V / GNU common subset) encoding and decoding as used by .deb files.
//
// Every member header is fixed-width ASCII; dpkg wants uid/gid 0, mode 100644,
// integer mtimes and names of at most 15 bytes (no long-name table in a .deb).

export const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
export const AR_HEADER_SIZE = 60;
const AR_FMAG = '`\n';
/** Ten decimal digits is all the size field holds. */
export const AR_MAX_MEMBER_SIZE = 9_999_999_999;

export class ArFormatError extends Error {}

export interface ArMemberHeader {
  name: string;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
  mode: number;
}

export function encodeMemberHeader(name: string, size: number, mtime: number): Buffer {
  if (!/^[\x21-\x7e]{1,15}$/.test(name) || name.includes('/')) {
    throw new ArFormatError(`ar member name '${name}' must be 1-15 printable ASCII bytes without '/'`);
  }
  if (!Number.isSafeInteger(size) || size < 0 || size > AR_MAX_MEMBER_SIZE) {
    throw new ArFormatError(`ar member '${name}' is ${size} bytes; the ar format holds at most ${AR_MAX_MEMBER_SIZE}`);
  }
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > 999_999_999_999) {
    throw new ArFormatError(`ar member '${name}' has an invalid mtime ${mtime}`);
  }
  const text =
    name.padEnd(16) +
    String(mtime).padEnd(12) +
    '0'.padEnd(6) +
    '0'.padEnd(6) +
    '100644'.padEnd(8) +
    String(size).padEnd(10) +
    AR_FMAG;
  return Buffer.from(text, 'latin1');
}

/** Members are 2-byte aligned with a '\n' pad byte. */
export function memberPadding(size: number): Buffer {
  return size % 2 === 1 ? Buffer.from('\n', 'latin1') : Buffer.alloc(0);
}

export function decodeMemberHeader(block: Buffer): ArMemberHeader {
  if (block.length !== AR_HEADER_SIZE) throw new ArFormatError('truncated ar member header');
  const text = block.toString('latin1');
  if (text.slice(58, 60) !== AR_FMAG) throw new ArFormatError('corrupt ar member header (bad terminator)');
  // GNU ar writes "name/"; dpkg-deb writes plain padded names. Accept both.
  const name = text.slice(0, 16).trimEnd().replace(/\/$/, '');
  const num = (from: number, to: number, radix: number, field: string): number => {
    const raw = text.slice(from, to).trim();
    if (raw === '') return 0;
    if (!(radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/).test(raw)) {
      throw new ArFormatError(`corrupt ar member header: ${field} '${raw}'`);
    }
    return parseInt(raw, radix);
  };
  return {
    name,
    mtime: num(16, 28, 10, 'mtime'),
    uid: num(28, 34, 10, 'uid'),
    gid: num(34, 40, 10, 'gid'),
    mode: num(40, 48, 8, 'mode'),
    size: num(48, 58, 10, 'size'),
  };
}
