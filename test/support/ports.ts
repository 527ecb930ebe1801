// A loopback TCP port that was free a moment ago (bound to port 0, then released): for servers
// a test starts later, or for a port nothing listens on.

import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, resolve);
  });
  const address = s.address();
  await new Promise((resolve) => s.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}
