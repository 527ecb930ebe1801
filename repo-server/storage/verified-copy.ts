// An object read from a shared store onto this server's disk is proven before anything names
// it: the store is shared and may misbehave (a wrong object, a runaway or short body) while the
// disk is this server's own. Used by the blob cache (blob-download.ts) and by the copies of
// published generations (publish/remote-generations.ts).

import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { writeFully } from '../../lib/write-fully.js';

/** The object is not what the record says (size or SHA-256): the store's fault, not the disk's. */
export class NotAsRecorded extends Error {}

export interface Expected {
  size: number;
  sha256: string;
}

/**
 * Copies `body` into `fh` and fsyncs it. Cut off as soon as more than `expect.size` bytes have
 * arrived (a runaway body cannot fill the disk); a short body fails; the SHA-256 is checked
 * last. `what` names the object in the errors. On failure the body is destroyed (no more is
 * read); the file is the caller's to close and remove.
 */
export async function copyVerified(body: Readable, fh: FileHandle, expect: Expected, what: string): Promise<void> {
  try {
    const hasher = createHash('sha256');
    let got = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      got += chunk.length;
      if (got > expect.size) throw new NotAsRecorded(`${what} is longer than its recorded ${expect.size} bytes; download stopped`);
      hasher.update(chunk);
      await writeFully(fh, chunk);
    }
    if (got < expect.size) throw new NotAsRecorded(`${what} ended after ${got} of its ${expect.size} bytes`);
    await fh.sync();
    const digest = hasher.digest('hex');
    if (digest !== expect.sha256) throw new NotAsRecorded(`${what} reads back as ${digest}, expected ${expect.sha256}`);
  } catch (e) {
    body.destroy(); // leaving the loop early: stop reading the rest of the body
    throw e;
  }
}
