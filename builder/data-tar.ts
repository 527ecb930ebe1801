// data.tar streamed through the compressor straight into the .deb. md5sums are computed
// on the way (in a worker thread), so each payload byte is read once. File contents are read
// into a small ring of shared buffers: memory stays flat at any payload size.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from '../deb/tar.js';
import type { DataSink } from './data-sink.js';
import { Md5Hasher } from './md5-pool.js';
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
export function installedSizeKiB(entries: PackageEntry[]): number {
  let kib = 0;
  for (const e of entries) kib += e.type === 'file' ? Math.ceil(e.size / 1024) : 1;
  return kib;
}

/** md5sums lines ("<md5>  <path>") for regular files that are not conffiles, as dh_md5sums. */
export function renderMd5sums(entries: PackageEntry[], md5: ReadonlyMap<string, string>): string {
  let out = '';
  for (const e of entries) {
    if (e.type !== 'file' || e.conffile) continue;
    out += `${md5.get(e.path) ?? '0'.repeat(32)}  ${e.path.slice(1)}\n`;
  }
  return out;
}

const RING_SLOTS = 16;
const SLOT_SIZE = 256 << 10;

export interface DataTarResult {
  md5: Map<string, string>;
}

/** Streams the data archive of `entries` into `sink`, then ends it. */
export async function streamDataTar(
  entries: PackageEntry[],
  sink: DataSink,
  progress?: (bytes: number) => void,
): Promise<DataTarResult> {
  const md5 = new Map<string, string>();
  const pending5 = new Map<string, Promise<string>>();
  const hasher = new Md5Hasher(RING_SLOTS, SLOT_SIZE);
  const busy: (Promise<unknown> | undefined)[] = new Array(RING_SLOTS).fill(undefined);
  let slot = 0;
  // Small writes (headers, padding) are not awaited one by one; the last one is kept for errors.
  let pending: Promise<void> = Promise.resolve();
  const send = (chunk: Buffer): void => {
    const p = sink.write(chunk);
    p.catch(() => undefined);
    pending = p;
  };

  try {
    for (const e of entries) {
      send(encodeHeader(tarHeaderFor(e)));
      if (e.type !== 'file') continue;
      if (e.source?.kind === 'data') {
        md5.set(e.path, createHash('md5').update(e.source.data).digest('hex'));
        send(e.source.data);
      } else if (e.source?.kind === 'path') {
        const file = hasher.startFile();
        const fh = await open(e.source.path, 'r');
        try {
          let offset = 0;
          while (true) {
            await busy[slot];
            const buf = hasher.slots[slot]!;
            const { bytesRead } = await fh.read(buf, 0, SLOT_SIZE, null);
            if (bytesRead === 0) break;
            offset += bytesRead;
            if (offset > e.size) break;
            // The slot is free again once both the archive and the hasher are done with it.
            const w = Promise.all([sink.write(buf.subarray(0, bytesRead)), hasher.update(file, slot, bytesRead)]);
            w.catch(() => undefined);
            busy[slot] = w;
            slot = (slot + 1) % RING_SLOTS;
            progress?.(bytesRead);
          }
          if (offset !== e.size) {
            throw new SourceChangedError(`${e.source.path} changed size while the package was built (${e.origin})`);
          }
        } finally {
          await fh.close();
        }
        const digest = hasher.digest(file);
        digest.catch(() => undefined);
        pending5.set(e.path, digest);
      } else {
        md5.set(e.path, createHash('md5').digest('hex'));
      }
      const pad = paddingFor(e.size);
      if (pad.length > 0) send(pad);
    }
    send(endOfArchive());
    await Promise.all([...busy, pending]);
    await sink.end();
    for (const [path, digest] of pending5) md5.set(path, await digest);
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    await hasher.close();
  }
  return { md5 };
}
