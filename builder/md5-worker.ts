// md5 of file contents off the main thread: the main thread reads into a shared ring of
// buffers and only tells this worker which slice to hash, so hashing overlaps reading,
// archiving and compressing without copying a byte.

import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

export type Md5Request = { file: number; slot: number; length: number } | { file: number; end: true };
export type Md5Reply = { slot: number } | { file: number; md5: string };

const shared = workerData as SharedArrayBuffer;
const port = parentPort!;
const hashes = new Map<number, Hash>();

port.on('message', (msg: Md5Request & { slotSize: number }) => {
  let hash = hashes.get(msg.file);
  if (!hash) {
    hash = createHash('md5');
    hashes.set(msg.file, hash);
  }
  if ('end' in msg) {
    hashes.delete(msg.file);
    port.postMessage({ file: msg.file, md5: hash.digest('hex') } satisfies Md5Reply);
    return;
  }
  hash.update(new Uint8Array(shared, msg.slot * msg.slotSize, msg.length));
  port.postMessage({ slot: msg.slot } satisfies Md5Reply);
});
