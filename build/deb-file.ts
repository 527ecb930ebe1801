// The .deb itself: ar(debian-binary, control.tar.gz, data.tar.*) written to a temp file
// beside the target, fsynced, then renamed, so a reader never sees a partial package.

import { createHash } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AR_MAGIC, encodeMemberHeader, memberPadding } from '../deb/ar.js';

const COPY_CHUNK = 1 << 20;

export interface DataMember {
  name: string;
  path: string;
  size: number;
}

export function tempPathFor(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

export interface DebDigest {
  size: number;
  sha256: string;
  md5: string;
}

/** Writes the archive and returns its digests, hashed on the way (no second read). */
export async function writeDebFile(target: string, control: Buffer, data: DataMember, mtime: number): Promise<DebDigest> {
  const tmp = tempPathFor(target, 'partial');
  const out = await open(tmp, 'wx', 0o644);
  const hashes = [createHash('sha256'), createHash('md5')];
  let size = 0;
  const writeAll = async (buf: Buffer): Promise<void> => {
    for (const h of hashes) h.update(buf);
    size += buf.length;
    await writeFully(out, buf);
  };
  try {
    const debianBinary = Buffer.from('2.0\n');
    await writeAll(Buffer.concat([
      AR_MAGIC,
      encodeMemberHeader('debian-binary', debianBinary.length, mtime),
      debianBinary,
      encodeMemberHeader('control.tar.gz', control.length, mtime),
      control,
      memberPadding(control.length),
      encodeMemberHeader(data.name, data.size, mtime),
    ]));
    await copyInto(writeAll, data.path, data.size);
    await writeAll(memberPadding(data.size));
    await out.sync();
    await out.close();
    await rename(tmp, target);
    await syncDir(dirname(target));
    return { size, sha256: hashes[0]!.digest('hex'), md5: hashes[1]!.digest('hex') };
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function writeFully(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}

async function copyInto(write: (buf: Buffer) => Promise<void>, path: string, size: number): Promise<void> {
  const src = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(COPY_CHUNK);
    let copied = 0;
    while (copied < size) {
      const { bytesRead } = await src.read(buf, 0, Math.min(COPY_CHUNK, size - copied), copied);
      if (bytesRead === 0) throw new Error(`${path} ended after ${copied} of ${size} bytes`);
      await write(buf.subarray(0, bytesRead));
      copied += bytesRead;
    }
  } finally {
    await src.close();
  }
}

/** Makes the rename durable: the directory entry is on disk too. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
