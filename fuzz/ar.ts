// Just enough of the ar format to take a .deb apart and put it back together, written here
// rather than borrowed from deb/ so the fuzzer does not share the server's parsing bugs. The
// parser is lenient (it stops at the first thing that is not a member) because it also runs on
// inputs other mutators have already broken.

export const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
export const HEADER = 60;

export interface Member {
  name: string;
  /** Offset of the 60-byte header in the archive. */
  headerAt: number;
  /** Offset of the member's data. */
  dataAt: number;
  data: Buffer;
}

export function parseAr(buf: Buffer): Member[] {
  const out: Member[] = [];
  if (buf.length < 8 || !buf.subarray(0, 8).equals(AR_MAGIC)) return out;
  let pos = 8;
  while (pos + HEADER <= buf.length) {
    const h = buf.subarray(pos, pos + HEADER);
    const size = Number(h.subarray(48, 58).toString('latin1').trim());
    if (!Number.isSafeInteger(size) || size < 0 || pos + HEADER + size > buf.length) break;
    const name = h.subarray(0, 16).toString('latin1').trimEnd().replace(/\/$/, '');
    out.push({ name, headerAt: pos, dataAt: pos + HEADER, data: buf.subarray(pos + HEADER, pos + HEADER + size) });
    pos += HEADER + size + (size % 2);
  }
  return out;
}

function field(value: string, width: number): string {
  return value.length >= width ? value.slice(0, width) : value + ' '.repeat(width - value.length);
}

/** The 60-byte header dpkg-deb writes (mtime 0 for reproducibility, mode 100644). */
export function arHeader(name: string, size: number): Buffer {
  const text = field(name, 16) + field('0', 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(size), 10) + '`\n';
  return Buffer.from(text, 'latin1');
}

/** An ar archive of these members, each padded to an even size. */
export function buildAr(members: readonly { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [AR_MAGIC];
  for (const m of members) {
    parts.push(arHeader(m.name, m.data.length), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
