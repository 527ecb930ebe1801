// An upload refused part-way (a bad file name in the second part, say) is answered only after
// the rest of its body has been read and dropped, up to the upload limit: a client still sending
// would otherwise have its connection reset before it reads the answer (undici, curl --fail).
// The body-rate floor (timeouts.ts) still cuts a client that trickles.

import type { IncomingMessage } from 'node:http';

export async function drainRequest(req: IncomingMessage, limit: number): Promise<void> {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = (): void => {
      req.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limit) {
        req.destroy();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}
