// Reading a .deb: the ar index, the control archive (fields, scripts, conffiles, md5sums)
// and a streaming listing of the data archive. Used by `debpkg inspect` and the repo server.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { AR_HEADER_SIZE, AR_MAGIC, decodeMemberHeader } from './ar.js';
import { createDecompressor, decompressBuffer, kindFromMemberName } from './compression.js';
import { checkTarBuffer, readTarBuffer, TarFormatError } from './tar.js';
import { parseParagraph, type Paragraph } from './control.js';

export class DebFormatError extends Error {}

export interface ArMember {
  name: string;
  /** Offset of the member's content in the file. */
  offset: number;
  size: number;
}

export async function readArIndex(path: string): Promise<ArMember[]> {
  const fh = await open(path, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const magic = Buffer.alloc(AR_MAGIC.length);
    await fh.read(magic, 0, magic.length, 0);
    if (!magic.equals(AR_MAGIC)) throw new DebFormatError('not a Debian package (no ar archive signature)');
    const members: ArMember[] = [];
    let pos = AR_MAGIC.length;
    const head = Buffer.alloc(AR_HEADER_SIZE);
    while (pos < fileSize) {
      const { bytesRead } = await fh.read(head, 0, AR_HEADER_SIZE, pos);
      if (bytesRead === 1 && head[0] === 0x0a) break; // tolerated trailing pad byte
      if (bytesRead < AR_HEADER_SIZE) throw new DebFormatError(`truncated ar member header at offset ${pos}`);
      let h;
      try {
        h = decodeMemberHeader(head);
      } catch (err) {
        throw new DebFormatError((err as Error).message);
      }
      const offset = pos + AR_HEADER_SIZE;
      if (offset + h.size > fileSize) throw new DebFormatError(`ar member '${h.name}' is truncated (${h.size} bytes declared, ${fileSize - offset} present)`);
      members.push({ name: h.name, offset, size: h.size });
      pos = offset + h.size + (h.size % 2);
      if (members.length > 64) throw new DebFormatError('too many ar members for a Debian package');
    }
    return members;
  } finally {
    await fh.close();
  }
}

export interface DebLayout {
  version: string;
  control: ArMember;
  data: ArMember;
}

/** debian-binary, control.tar*, data.tar* in this order (deb(5)); '_'-members may sit between. */
export async function readDebLayout(path: string): Promise<DebLayout> {
  const members = await readArIndex(path);
  const first = members[0];
  if (!first || first.name !== 'debian-binary') throw new DebFormatError("first ar member must be 'debian-binary'");
  const fh = await open(path, 'r');
  let version: string;
  try {
    const buf = Buffer.alloc(Math.min(first.size, 16));
    await fh.read(buf, 0, buf.length, first.offset);
    version = buf.toString('latin1');
  } finally {
    await fh.close();
  }
  if (!/^2\.[0-9]+\n/.test(version)) throw new DebFormatError(`unsupported package format version '${version.trim()}'`);
  const rest = members.slice(1).filter((m) => !m.name.startsWith('_'));
  const control = rest[0];
  const data = rest[1];
  if (!control || !/^control\.tar(\.(gz|xz|zst))?$/.test(control.name)) throw new DebFormatError('second ar member must be control.tar[.gz|.xz|.zst]');
  if (!data || !/^data\.tar(\.(gz|xz|zst|bz2|lzma))?$/.test(data.name)) throw new DebFormatError('third ar member must be data.tar[.gz|.xz|.zst]');
  return { version: version.trim(), control, data };
}

function memberStream(path: string, m: ArMember): Readable {
  if (m.size === 0) return Readable.from([]);
  return createReadStream(path, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
}

export interface TarListing {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  linkTarget?: string;
}

/**
 * Walks a tar member, calling `onEntry` for each entry with its content stream
 * (which must be consumed or resumed).
 */
async function walkTar(path: string, m: ArMember, onEntry: (e: TarListing, body: Readable) => Promise<void>): Promise<void> {
  const kind = kindFromMemberName(m.name);
  if (!kind) throw new DebFormatError(`unsupported compression for member '${m.name}'`);
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const type = header.type === 'file' || header.type === 'contiguous-file' ? 'file'
      : header.type === 'directory' ? 'directory'
      : header.type === 'symlink' ? 'symlink'
      : header.type === 'link' ? 'hardlink' : 'other';
    const entry: TarListing = {
      path: header.name,
      type,
      mode: header.mode ?? 0,
      uid: header.uid ?? 0,
      gid: header.gid ?? 0,
      uname: header.uname ?? '',
      gname: header.gname ?? '',
      size: header.size ?? 0,
      mtime: header.mtime ? Math.floor(header.mtime.getTime() / 1000) : 0,
      ...(header.linkname ? { linkTarget: header.linkname } : {}),
    };
    const body = stream as unknown as Readable; // tar-stream's streamx Readable is Node-stream compatible
    // streamx has no readableEnded: remember the end ourselves in case the callback read it all.
    let ended = false;
    body.once('end', () => {
      ended = true;
    });
    onEntry(entry, body).then(
      () => {
        // Drain whatever the callback did not read, then move on.
        if (ended) next();
        else {
          body.on('end', () => next());
          body.resume();
        }
      },
      (err: unknown) => next(err as Error),
    );
  });
  try {
    await pipeline(memberStream(path, m), createDecompressor(kind), extract as unknown as Writable);
  } catch (err) {
    if (err instanceof DebFormatError) throw err;
    throw new DebFormatError(`${m.name}: ${(err as Error).message}`);
  }
}

async function collect(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += (chunk as Buffer).length;
    if (n > limit) throw new DebFormatError(`${what} is larger than ${limit} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

export interface ControlArchive {
  control: Paragraph;
  controlText: string;
  /** Maintainer scripts and other control files (triggers, shlibs, ...), by name. */
  files: Map<string, string>;
  conffiles: string[];
  md5sums: Map<string, string>;
}

const CONTROL_FILE_LIMIT = 16 << 20;

export async function readControlArchive(path: string, layout?: DebLayout): Promise<ControlArchive> {
  const { control: member } = layout ?? (await readDebLayout(path));
  const files = new Map<string, string>();
  await walkTar(path, member, async (entry, body) => {
    if (entry.type !== 'file') return;
    const name = entry.path.replace(/^\.\//, '');
    if (name.includes('/')) return;
    files.set(name, (await collect(body, CONTROL_FILE_LIMIT, `control member ${name}`)).toString('utf8'));
  });
  return controlFromFiles(files);
}

function controlFromFiles(files: Map<string, string>): ControlArchive {
  const controlText = files.get('control');
  if (controlText === undefined) throw new DebFormatError('control archive has no control file');
  let control: Paragraph;
  try {
    control = parseParagraph(controlText);
  } catch (err) {
    throw new DebFormatError(`control file: ${(err as Error).message}`);
  }
  const conffiles = (files.get('conffiles') ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const md5sums = new Map<string, string>();
  for (const line of (files.get('md5sums') ?? '').split('\n')) {
    const m = /^([0-9a-f]{32}) [ *]?(.+)$/.exec(line);
    if (m) md5sums.set(m[2]!, m[1]!);
  }
  files.delete('control');
  return { control, controlText, files, conffiles, md5sums };
}

/** Lists the data archive; `onEntry` may read file bodies (e.g. to verify md5sums). */
export async function readDataArchive(
  path: string,
  onEntry: (entry: TarListing, body: Readable) => Promise<void> | void,
  layout?: DebLayout,
): Promise<void> {
  const { data } = layout ?? (await readDebLayout(path));
  await walkTar(path, data, async (e, body) => {
    await onEntry(e, body);
  });
}

/** ar members of a package held in memory. */
export function readArBuffer(buf: Buffer): ArMember[] {
  if (buf.length < AR_MAGIC.length || !buf.subarray(0, AR_MAGIC.length).equals(AR_MAGIC)) {
    throw new DebFormatError('not a Debian package (no ar archive signature)');
  }
  const members: ArMember[] = [];
  let pos = AR_MAGIC.length;
  while (pos < buf.length) {
    if (buf.length - pos === 1 && buf[pos] === 0x0a) break;
    if (buf.length - pos < AR_HEADER_SIZE) throw new DebFormatError(`truncated ar member header at offset ${pos}`);
    let h;
    try {
      h = decodeMemberHeader(buf.subarray(pos, pos + AR_HEADER_SIZE));
    } catch (err) {
      throw new DebFormatError((err as Error).message);
    }
    const offset = pos + AR_HEADER_SIZE;
    if (offset + h.size > buf.length) throw new DebFormatError(`ar member '${h.name}' is truncated (${h.size} bytes declared, ${buf.length - offset} present)`);
    members.push({ name: h.name, offset, size: h.size });
    pos = offset + h.size + (h.size % 2);
    if (members.length > 64) throw new DebFormatError('too many ar members for a Debian package');
  }
  return members;
}

/**
 * The whole of readDebLayout + readControlArchive + a full check of the data archive, for a
 * package held in memory: one read of the file instead of several streams (small packages).
 */
export async function readDebBuffer(buf: Buffer): Promise<ControlArchive> {
  const members = readArBuffer(buf);
  const first = members[0];
  if (!first || first.name !== 'debian-binary') throw new DebFormatError("first ar member must be 'debian-binary'");
  const version = buf.subarray(first.offset, first.offset + Math.min(first.size, 16)).toString('latin1');
  if (!/^2\.[0-9]+\n/.test(version)) throw new DebFormatError(`unsupported package format version '${version.trim()}'`);
  const rest = members.slice(1).filter((m) => !m.name.startsWith('_'));
  const control = rest[0];
  const data = rest[1];
  if (!control || !/^control\.tar(\.(gz|xz|zst))?$/.test(control.name)) throw new DebFormatError('second ar member must be control.tar[.gz|.xz|.zst]');
  if (!data || !/^data\.tar(\.(gz|xz|zst))?$/.test(data.name)) throw new DebFormatError('third ar member must be data.tar[.gz|.xz|.zst]');
  const unpack = async (m: ArMember): Promise<Buffer> => {
    try {
      return await decompressBuffer(kindFromMemberName(m.name)!, buf.subarray(m.offset, m.offset + m.size));
    } catch (err) {
      throw new DebFormatError(`${m.name}: ${(err as Error).message}`);
    }
  };
  const files = new Map<string, string>();
  try {
    for (const e of readTarBuffer(await unpack(control))) {
      const name = e.path.replace(/^\.\//, '');
      if (e.type === 'file' && !name.includes('/') && name !== '') files.set(name, e.data.toString('utf8'));
    }
    // Walk every data.tar entry: a corrupt payload is refused now, not on the node.
    checkTarBuffer(await unpack(data));
  } catch (err) {
    if (err instanceof TarFormatError) throw new DebFormatError(err.message);
    throw err;
  }
  return controlFromFiles(files);
}
