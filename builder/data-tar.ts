// data.tar streamed through the compressor straight into the .deb, md5sums computed on the way,
// so each payload byte is read once and memory stays flat at any payload size or file count.
//
// Per-file overhead is what dominates many small files, so small files take a synchronous path:
// header, content and padding are copied into a 1 MiB staging buffer (read with one read(2), md5
// on the spot) and the compressor gets one write per MiB instead of three per file. Large files
// go through a small ring of 1 MiB buffers: each is hashed on this thread while the next is read
// and earlier ones are written or compressed elsewhere. md5s are kept as 16 raw bytes per file,
// in entry order.

import { createHash, hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { BLOCK_SIZE, encodeHeader, encodeHeaderInto, endOfArchive, type TarHeader } from '../deb/tar.js';
import type { DataSink } from './data-sink.js';
import { archivePath, type PackageEntry } from './entries.js';

export class SourceChangedError extends Error {}

export function tarHeaderFor(e: PackageEntry): TarHeader {
  return {
    path: archivePath(e.path),
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.owner,
    gname: e.group,
    mtime: e.mtime,
    size: e.type === 'file' ? e.size : 0,
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
  };
}

/** dpkg-gencontrol's rule: regular files in whole KiB, every other entry 1 KiB. */
export function installedSizeKiB(entries: Iterable<PackageEntry>): number {
  let kib = 0;
  for (const e of entries) kib += e.type === 'file' ? Math.ceil(e.size / 1024) : 1;
  return kib;
}

/** md5 of every regular file, 16 bytes each, in the order the files appear in the entry list. */
export class Md5Table {
  constructor(readonly digests: Buffer) {}

  static placeholder(fileCount: number): Md5Table {
    return new Md5Table(Buffer.alloc(fileCount * 16));
  }

  /** Pseudo-random digests (fixed seed): compress like real md5s, so they size the control member. */
  static standIn(fileCount: number): Md5Table {
    const digests = Buffer.alloc(fileCount * 16);
    let seed = 0x2545f491;
    for (let i = 0; i < digests.length; i += 4) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      digests.writeInt32LE(seed | 0, i);
    }
    return new Md5Table(digests);
  }

  hex(fileIndex: number): string {
    return this.digests.toString('hex', fileIndex * 16, fileIndex * 16 + 16);
  }
}

/**
 * md5sums ("<md5>  <path>" per regular file that is not a conffile, as dh_md5sums): its size, and
 * its text in chunks of about 64 KiB, so that it is never held whole.
 */
export function md5sumsMember(entries: Iterable<PackageEntry>, md5: Md5Table): { size: number; chunks: () => Iterable<Buffer> } {
  let size = 0;
  for (const e of entries) if (e.type === 'file' && !e.conffile) size += 32 + 2 + Buffer.byteLength(e.path) - 1 + 1;
  function* chunks(): Generator<Buffer> {
    let text = '';
    let index = 0;
    for (const e of entries) {
      if (e.type !== 'file') continue;
      if (!e.conffile) text += `${md5.hex(index)}  ${e.path.slice(1)}\n`;
      index++;
      if (text.length >= 65536) {
        yield Buffer.from(text);
        text = '';
      }
    }
    if (text !== '') yield Buffer.from(text);
  }
  return { size, chunks };
}

const RING_SLOTS = 4;
const SLOT_SIZE = 1 << 20;
const STAGING_SIZE = 1 << 20;
const STAGING_COUNT = 3;

/** Coalesces headers, small files and padding into large writes; buffers rotate once consumed. */
class Staging {
  private readonly buffers = Array.from({ length: STAGING_COUNT }, () => Buffer.allocUnsafe(STAGING_SIZE));
  private readonly inFlight: (Promise<void> | undefined)[] = new Array(STAGING_COUNT).fill(undefined);
  private current = 0;
  used = 0;

  constructor(private readonly sink: DataSink) {}

  get buffer(): Buffer {
    return this.buffers[this.current]!;
  }

  room(): number {
    return STAGING_SIZE - this.used;
  }

  /** Hands the filled part to the sink and moves to the next buffer once the sink is done with it. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const p = this.sink.write(this.buffer.subarray(0, this.used));
    p.catch(() => undefined);
    this.inFlight[this.current] = p;
    this.current = (this.current + 1) % STAGING_COUNT;
    this.used = 0;
    await this.inFlight[this.current];
  }

  async ensure(bytes: number): Promise<void> {
    if (this.room() < bytes) await this.flush();
  }

  async put(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.room() === 0) await this.flush();
      const n = chunk.copy(this.buffer, this.used, off);
      this.used += n;
      off += n;
    }
  }

  async zeros(count: number): Promise<void> {
    await this.ensure(count);
    this.buffer.fill(0, this.used, this.used + count);
    this.used += count;
  }

  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
  }
}

/** One-shot md5: no Hash object per small file. */
function md5Of(data: Buffer): Buffer {
  return hash('md5', data, 'buffer');
}

/** The entry's header straight into the staging buffer when it is one plain block. */
async function putHeader(e: PackageEntry, staging: Staging): Promise<void> {
  const header = tarHeaderFor(e);
  await staging.ensure(BLOCK_SIZE);
  if (encodeHeaderInto(header, staging.buffer, staging.used)) staging.used += BLOCK_SIZE;
  else await staging.put(encodeHeader(header));
}

function changed(e: PackageEntry, path: string): SourceChangedError {
  return new SourceChangedError(`${path} changed size while the package was built (${e.origin})`);
}

/** Reads a small file straight into the staging buffer; returns its md5. */
function readSmall(e: PackageEntry, path: string, staging: Staging, probe: Buffer): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = staging.buffer;
    const start = staging.used;
    let got = 0;
    while (got < e.size) {
      const n = readSync(fd, buf, start + got, e.size - got, null);
      if (n === 0) throw changed(e, path);
      got += n;
    }
    if (readSync(fd, probe, 0, 1, null) !== 0) throw changed(e, path);
    staging.used += e.size;
    return md5Of(buf.subarray(start, start + e.size));
  } finally {
    closeSync(fd);
  }
}

interface LargeFileState {
  slots: Buffer[];
  /** A slot is free again once the sink is done with it. */
  busy: (Promise<unknown> | undefined)[];
  slot: number;
}

/**
 * A file larger than the staging buffer, in 1 MiB slots: while one slot is hashed here (the one
 * thing that needs this thread), the next is read and earlier ones written on libuv's threads or
 * by the compressor. md5 on this thread rather than a worker: the thread mostly waited anyway,
 * and a message per slot each way cost a third of the hashing time.
 */
async function streamLarge(e: PackageEntry, path: string, sink: DataSink, st: LargeFileState, progress?: (bytes: number) => void): Promise<Buffer> {
  const md5 = createHash('md5');
  const fh = await open(path, 'r');
  const readSlot = async (slot: number, position: number): Promise<number> => {
    await st.busy[slot];
    return (await fh.read(st.slots[slot]!, 0, SLOT_SIZE, position)).bytesRead;
  };
  let next = readSlot(st.slot, 0);
  try {
    let offset = 0;
    while (true) {
      const slot = st.slot;
      const bytesRead = await next;
      if (bytesRead === 0) break;
      offset += bytesRead;
      if (offset > e.size) break;
      st.slot = (slot + 1) % RING_SLOTS;
      next = readSlot(st.slot, offset);
      next.catch(() => undefined);
      const chunk = st.slots[slot]!.subarray(0, bytesRead);
      const w = sink.write(chunk);
      w.catch(() => undefined);
      st.busy[slot] = w;
      md5.update(chunk);
      progress?.(bytesRead);
    }
    if (offset !== e.size) throw changed(e, path);
  } finally {
    await next.catch(() => undefined);
    await fh.close();
  }
  return md5.digest();
}

export interface DataTarResult {
  md5: Md5Table;
}

/** Streams the data archive of `entries` into `sink`, then ends it. */
export async function streamDataTar(entries: Iterable<PackageEntry>, fileCount: number, sink: DataSink, progress?: (bytes: number) => void): Promise<DataTarResult> {
  const digests = Buffer.alloc(fileCount * 16);
  const staging = new Staging(sink);
  const probe = Buffer.alloc(1);
  let large: LargeFileState | undefined;
  let fileIndex = 0;
  let reported = 0;

  try {
    for (const e of entries) {
      await putHeader(e, staging);
      if (e.type !== 'file') continue;
      const at = fileIndex++ * 16;
      const source = e.source;
      if (Buffer.isBuffer(source)) {
        md5Of(source).copy(digests, at);
        await staging.put(source);
      } else if (typeof source === 'string' && e.size <= STAGING_SIZE) {
        await staging.ensure(e.size);
        readSmall(e, source, staging, probe).copy(digests, at);
        reported += e.size;
        // Progress in steps of about a staging buffer: a callback per small file costs more than it tells.
        if (reported >= STAGING_SIZE) {
          progress?.(reported);
          reported = 0;
        }
      } else if (typeof source === 'string') {
        await staging.drain();
        large ??= { slots: Array.from({ length: RING_SLOTS }, () => Buffer.allocUnsafe(SLOT_SIZE)), busy: new Array(RING_SLOTS).fill(undefined), slot: 0 };
        (await streamLarge(e, source, sink, large, progress)).copy(digests, at);
      } else {
        md5Of(Buffer.alloc(0)).copy(digests, at);
      }
      const pad = e.size % 512;
      if (pad !== 0) await staging.zeros(512 - pad);
    }
    if (reported > 0) progress?.(reported);
    await staging.put(endOfArchive());
    await staging.drain();
    if (large) await Promise.all(large.busy);
    await sink.end();
  } catch (err) {
    sink.abort();
    throw err;
  }
  return { md5: new Md5Table(digests) };
}
