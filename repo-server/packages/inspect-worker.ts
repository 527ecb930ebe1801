// Worker thread: inspects batches of in-memory packages so that decompression, tar walks and
// hashing run beside the thread that parses uploads. Protocol in inspections.ts.

import { parentPort, workerData } from 'node:worker_threads';
import type { UnpackLimits } from '../../deb/unpack-limits.js';
import { InvalidPackageError, inspectBuffer } from './inspect.js';
import type { InspectReply, InspectRequest, InspectResult } from './inspections.js';

const port = parentPort;
if (!port) throw new Error('inspect-worker.js runs as a worker thread');
/** The server's unpack limits, given when the worker is started. */
const limits = workerData as UnpackLimits;

port.on('message', (req: InspectRequest) => {
  void (async () => {
    const data = Buffer.from(req.data);
    const results: InspectResult[] = [];
    for (let i = 0; i < req.sha256.length; i++) {
      const buf = data.subarray(req.offsets[i]!, req.offsets[i + 1]!);
      try {
        results.push({ rec: await inspectBuffer(buf, req.sha256[i]!, limits) });
      } catch (err) {
        results.push({ invalid: err instanceof InvalidPackageError, message: (err as Error).message });
      }
    }
    const reply: InspectReply = { id: req.id, results };
    port.postMessage(reply);
  })();
});
