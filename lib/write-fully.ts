// FileHandle.write may write less than asked (a short write is legal for regular files too);
// every caller that must get a whole buffer on disk loops the same way, so it is written once.

import type { FileHandle } from 'node:fs/promises';

/**
 * Writes all of `buf`: at `position` when given, else at the descriptor's current offset
 * (appending in order, as a stream would).
 */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position?: number): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position === undefined ? null : position + off);
    off += bytesWritten;
  }
}
