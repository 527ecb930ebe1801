// data.tar streamed through the compressor into a temp file. md5sums and Installed-Size
// are gathered on the way, so each payload byte is read once and memory stays flat.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeHeader, endOfArchive, paddingFor, type TarHeader } from '../deb/tar.js';
import { createCompressor, type Compression } from '../deb/compression.js';
import { archivePath, type PackageEntry } from './entries.js';

export interface DataTarResult {
  /** "<md5>  <path without leading />" lines for regular files that are not conffiles. */
  md5sums: string;
  installedSizeKiB: number;
  compressedSize: number;
}

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

const READ_CHUNK = 1 << 20;

async function* tarChunks(
  entries: PackageEntry[],
  md5: Map<string, string>,
  progress: ((bytes: number) => void) | undefined,
): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield encodeHeader(tarHeaderFor(e));
    if (e.type !== 'file') continue;
    const hash = createHash('md5');
    if (e.source?.kind === 'data') {
      hash.update(e.source.data);
      yield e.source.data;
    } else if (e.source?.kind === 'path') {
      let seen = 0;
      for await (const chunk of createReadStream(e.source.path, { highWaterMark: READ_CHUNK })) {
        const buf = chunk as Buffer;
        seen += buf.length;
        if (seen > e.size) break;
        hash.update(buf);
        progress?.(buf.length);
        yield buf;
      }
      if (seen !== e.size) {
        throw new SourceChangedError(`${e.source.path} changed size while the package was built (${e.origin})`);
      }
    }
    md5.set(e.path, hash.digest('hex'));
    const pad = paddingFor(e.size);
    if (pad.length > 0) yield pad;
  }
  yield endOfArchive();
}

export async function writeDataTar(
  entries: PackageEntry[],
  compression: Compression,
  tmpPath: string,
  progress?: (bytes: number) => void,
): Promise<DataTarResult> {
  const md5 = new Map<string, string>();
  await pipeline(
    Readable.from(tarChunks(entries, md5, progress), { objectMode: false, highWaterMark: READ_CHUNK }),
    createCompressor(compression),
    createWriteStream(tmpPath, { flags: 'wx', mode: 0o600, highWaterMark: READ_CHUNK }),
  );
  let md5sums = '';
  for (const e of entries) {
    if (e.type !== 'file' || e.conffile) continue;
    md5sums += `${md5.get(e.path)}  ${e.path.slice(1)}\n`;
  }
  return { md5sums, installedSizeKiB: installedSizeKiB(entries), compressedSize: (await stat(tmpPath)).size };
}
