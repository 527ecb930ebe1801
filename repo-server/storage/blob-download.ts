// The download of one blob from the remote byte store into the local cache (storage/blobs.ts
// ensureLocal): nothing is named in the cache before its size and SHA-256 are proven
// (verified-copy.ts: bounded by the recorded size, so a runaway body cannot fill the disk).

import { mkdir, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { blobKey, type ByteStore } from './bytes.js';
import { copyVerified } from './verified-copy.js';

/** What the download needs of the blob store: temp files in its pool, named by hash once whole. */
export interface LoosePool {
  loosePath(sha256: string): string;
  newLoose(): Promise<{ path: string; fh: FileHandle }>;
  commitLoose(tmp: string, sha256: string): Promise<void>;
}

/** GETs a blob into a temp file, proven by copyVerified, then names it. Any failure removes the temp file. */
export async function downloadBlob(remote: ByteStore, sha256: string, size: number, pool: LoosePool): Promise<void> {
  const body = await remote.get(blobKey(sha256));
  if (!body) throw new Error(`blob ${sha256} is missing from ${remote.location} although the metadata names it`);
  await mkdir(dirname(pool.loosePath(sha256)), { recursive: true });
  const { path, fh } = await pool.newLoose().catch((e: unknown) => {
    body.destroy();
    throw e;
  });
  try {
    await copyVerified(body, fh, { size, sha256 }, `blob ${sha256} from ${remote.location}`);
    await fh.close();
    await pool.commitLoose(path, sha256);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(path, { force: true });
    throw e;
  }
}
