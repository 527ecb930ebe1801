// control.tar.gz: control, md5sums, conffiles, scripts. md5sums has a line per file, so at
// hundreds of thousands of files it is produced in chunks straight into the compressor rather
// than built as one string, one Buffer and one concatenated archive.

import { once } from 'node:events';
import { constants, createGzip } from 'node:zlib';
import { encodeHeader, endOfArchive, paddingFor } from '../deb/tar.js';

/** A member's bytes: whole, or a size known up front and the chunks that add up to it. */
export type MemberData = Buffer | { size: number; chunks: () => Iterable<Buffer> };

export interface ControlMember {
  name: string;
  data: MemberData;
  mode: number;
}

function sizeOf(data: MemberData): number {
  return Buffer.isBuffer(data) ? data.length : data.size;
}

function* archiveChunks(members: ControlMember[], mtime: number): Generator<Buffer> {
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  yield encodeHeader({ path: './', type: 'directory', mode: 0o755, size: 0, ...owner });
  for (const m of [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const size = sizeOf(m.data);
    yield encodeHeader({ path: `./${m.name}`, type: 'file', mode: m.mode, size, ...owner });
    let written = 0;
    for (const chunk of Buffer.isBuffer(m.data) ? [m.data] : m.data.chunks()) {
      written += chunk.length;
      yield chunk;
    }
    if (written !== size) throw new Error(`control member ${m.name}: ${written} bytes produced, ${size} declared`);
    yield paddingFor(size);
  }
  yield endOfArchive();
}

/** The control archive gzip-compressed at level 9 (as dpkg-deb compresses control.tar.gz). */
export async function gzipControlTar(members: ControlMember[], mtime: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await compress(members, mtime, (c) => out.push(c));
  return Buffer.concat(out);
}

/** The compressed size gzipControlTar would return, without keeping the bytes (sizing the slot). */
export async function gzipControlTarSize(members: ControlMember[], mtime: number): Promise<number> {
  let size = 0;
  await compress(members, mtime, (c) => (size += c.length));
  return size;
}

async function compress(members: ControlMember[], mtime: number, onData: (chunk: Buffer) => void): Promise<void> {
  const gz = createGzip({ level: constants.Z_BEST_COMPRESSION, chunkSize: 64 << 10 });
  gz.on('data', onData);
  const ended = once(gz, 'end');
  for (const chunk of archiveChunks(members, mtime)) {
    if (!gz.write(chunk)) await once(gz, 'drain');
  }
  gz.end();
  await ended;
}
