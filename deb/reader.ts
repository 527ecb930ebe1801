// Reading a .deb: the ar index, the control archive (fields, scripts, conffiles, md5sums)
// and a streaming listing of the data archive. Used by `debpkg inspect` and the repo server.
// Packages come from anyone: every stream has an error listener (a failing member is an
// error naming it, never an uncaught exception), and every decompressed byte is counted
// against the package's unpack budget (unpack-limits.ts), so a check stops at the cap.

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform, Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { AR_HEADER_SIZE, AR_MAGIC, decodeMemberHeader } from './ar.js';
import { createDecompressor, kindFromMemberName } from './compression.js';
import { parseParagraph, type Paragraph } from './control.js';
import { DEFAULT_UNPACK_LIMITS, formatBytes, UnpackMeter } from './unpack-limits.js';

export class DebFormatError extends Error {}

export interface ArMember {
  name: string;
  /** Offset of the member's content in the file. */
  offset: number;
  size: number;
}

export async function readArIndex(path: string): Promise<ArMember[]> {
  return (await readArFile(path)).members;
}

async function readArFile(path: string): Promise<{ members: ArMember[]; fileSize: number }> {
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
    return { members, fileSize };
  } finally {
    await fh.close();
  }
}

export interface DebLayout {
  version: string;
  /** Size of the whole package file: the base of the unpack ratio. */
  fileSize: number;
  control: ArMember;
  data: ArMember;
}

/** debian-binary, control.tar*, data.tar* in this order (deb(5)); '_'-members may sit between. */
export async function readDebLayout(path: string): Promise<DebLayout> {
  const { members, fileSize } = await readArFile(path);
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
  return { version: version.trim(), fileSize, control, data };
}

function memberStream(path: string, m: ArMember): Readable {
  if (m.size === 0) return Readable.from([]);
  return createReadStream(path, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
}

/** The unpack budget of a package read without an explicit one: the default limits. */
export function defaultMeter(layout: DebLayout): UnpackMeter {
  return new UnpackMeter(DEFAULT_UNPACK_LIMITS, layout.fileSize);
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

/** Counts decompressed bytes into the meter; fails the pipeline (stopping the decompressor) past it. */
function meterStream(meter: UnpackMeter): Transform {
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      try {
        meter.add(chunk.length);
        cb(null, chunk);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/**
 * Walks the tar member `name` read from `source` (its compressed bytes), calling `onEntry` for
 * each entry with its content stream (which must be consumed or resumed). Any failure (the
 * decompressor, the tar structure, the budget) rejects with a DebFormatError naming the member;
 * the pipeline is torn down, so a child decompressor is killed.
 */
export async function walkTar(name: string, source: Readable, meter: UnpackMeter, onEntry: (e: TarListing, body: Readable) => Promise<void>): Promise<void> {
  const kind = kindFromMemberName(name);
  if (!kind) {
    source.destroy();
    throw new DebFormatError(`unsupported compression for member '${name}'`);
  }
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const body = stream as unknown as Readable; // tar-stream's streamx Readable is Node-stream compatible
    // When the archive fails mid-entry, tar-stream destroys the entry's stream with that error:
    // unheard, it would be thrown from the event loop and end the process. The pipeline below
    // reports the same error.
    body.on('error', () => undefined);
    // An entry that declares more bytes than the package may still unpack can never complete;
    // refused from its header (found by the fuzzer: a pax size of 99,999,999,999 in a package
    // on the streaming path left the entry waiting for bytes that never came).
    if ((header.size ?? 0) > meter.remaining) {
      entryError ??= new DebFormatError(`${name}: ${meter.exceeded().message} (entry '${header.name.slice(0, 120)}' alone declares ${header.size} bytes)`);
      body.resume();
      next(entryError as Error);
      return;
    }
    try {
      meter.addEntry();
    } catch (err) {
      entryError ??= new DebFormatError(`${name}: ${(err as Error).message}`);
      body.resume();
      next(entryError as Error);
      return;
    }
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
      (err: unknown) => {
        entryError ??= err;
        next(err as Error);
      },
    );
  });
  // The callback's own error (a size limit, say) is the reason; stopping its entry early makes
  // the pipeline fail too, with a bare "Premature close" that must not hide it.
  let entryError: unknown;
  try {
    await pipeline(source, createDecompressor(kind), meterStream(meter), extract as unknown as Writable);
  } catch (err) {
    await new Promise((resolve) => setImmediate(resolve));
    const reason = entryError ?? err;
    if (reason instanceof DebFormatError) throw reason;
    throw new DebFormatError(`${name}: ${(reason as Error).message}`);
  }
}

async function collect(stream: Readable, limit: number, tooLarge: () => string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += (chunk as Buffer).length;
    if (n > limit) throw new DebFormatError(tooLarge());
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

/** All control files together (md5sums of ~150,000 files fit): what a check holds in memory. */
export const CONTROL_FILES_LIMIT = 16 << 20;

/** The top-level files of a control archive streamed from `source`. */
/**
 * A control.tar entry GNU tar would refuse to extract (absolute, or with a `..` segment): dpkg
 * unpacks control.tar with tar, so such a package fails on the node (found by the fuzzer).
 */
export function unsafeControlPath(name: string, path: string): DebFormatError | undefined {
  if (path.startsWith('/') || path.split('/').includes('..')) return new DebFormatError(`${name}: entry '${path.slice(0, 120)}' leaves the control directory`);
  return undefined;
}

export async function readControlTar(name: string, source: Readable, meter: UnpackMeter): Promise<ControlArchive> {
  const files = new Map<string, string>();
  let total = 0;
  await walkTar(name, source, meter, async (entry, body) => {
    const unsafe = unsafeControlPath(name, entry.path);
    if (unsafe) throw unsafe;
    if (entry.type !== 'file') return;
    const file = entry.path.replace(/^\.\//, '');
    if (file.includes('/') || file === '') return;
    const data = await collect(body, CONTROL_FILES_LIMIT - total, () => `${name}: control files larger than ${formatBytes(CONTROL_FILES_LIMIT)} in all (at ${file})`);
    total += data.length;
    const text = data.toString('utf8');
    files.set(file, text);
  });
  return controlFromFiles(files);
}

export async function readControlArchive(path: string, layout?: DebLayout, meter?: UnpackMeter): Promise<ControlArchive> {
  const l = layout ?? (await readDebLayout(path));
  return readControlTar(l.control.name, memberStream(path, l.control), meter ?? defaultMeter(l));
}

export function controlFromFiles(files: Map<string, string>): ControlArchive {
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
  meter?: UnpackMeter,
): Promise<void> {
  const l = layout ?? (await readDebLayout(path));
  await walkTar(l.data.name, memberStream(path, l.data), meter ?? defaultMeter(l), async (e, body) => {
    await onEntry(e, body);
  });
}
