// The bounded download of one blob from the remote byte store into the local cache
// (storage/blobs.ts ensureLocal): the remote is shared and may misbehave (a wrong object, a
// runaway or short body), and the cache's disk is this server's, so nothing is named in the
// cache before its size and SHA-256 are proven.

import { createHash } from 'node:crypto';
import { mkdir, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFully } from '../../lib/write-fully.js';
import { blobKey, type ByteStore } from './bytes.js';

/** What the download needs of the blob store: temp files in its pool, named by hash once whole. */
export interface LoosePool {
  loosePath(sha256: string): string;
  newLoose(): Promise<{ path: string; fh: FileHandle }>;
  commitLoose(tmp: string, sha256: string): Promise<void>;
}

/**
 * GETs a blob into a temp file, then names it. Bounded by the recorded size: an endpoint that
 * sends more is cut off as soon as it passes `size`, so it cannot fill the cache's disk; a short
 * body fails too; the SHA-256 is checked last. Any failure removes the temp file.
 */
export async function downloadBlob(remote: ByteStore, sha256: string, size: number, pool: LoosePool): Promise<void> {
  const body = await remote.get(blobKey(sha256));
  if (!body) throw new Error(`blob ${sha256} is missing from ${remote.location} although the metadata names it`);
  await mkdir(dirname(pool.loosePath(sha256)), { recursive: true });
  const { path, fh } = await pool.newLoose().catch((e: unknown) => {
    body.destroy();
    throw e;
  });
  try {
    const hasher = createHash('sha256');
    let got = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      got += chunk.length;
      if (got > size) throw new Error(`blob ${sha256} from ${remote.location} is longer than its recorded ${size} bytes; download stopped`);
      hasher.update(chunk);
      await writeFully(fh, chunk);
    }
    if (got < size) throw new Error(`blob ${sha256} from ${remote.location} ended after ${got} of its ${size} bytes`);
    await fh.sync();
    await fh.close();
    const digest = hasher.digest('hex');
    if (digest !== sha256) throw new Error(`blob ${sha256} from ${remote.location} reads back as ${digest}`);
    await pool.commitLoose(path, sha256);
  } catch (e) {
    body.destroy(); // leaving the loop early: stop reading the rest of the body
    await fh.close().catch(() => undefined);
    await rm(path, { force: true });
    throw e;
  }
}
