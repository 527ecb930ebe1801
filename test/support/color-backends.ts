// Small HTTP units for color-group tests: each answers with its color (X-Color), has a
// /healthz that can be made to fail, and a /slow endpoint to keep requests in flight.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  node: string;
  color: 'blue' | 'green';
  address: string;
  port: number;
  healthy: boolean;
  close(): Promise<void>;
}

export async function startBackend(node: string, color: 'blue' | 'green', address: string, port = 0, slowMs = 300): Promise<Backend> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'x-color': color, 'x-node': node, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.url === '/healthz') return send(b.healthy ? 200 : 503, b.healthy ? 'ok' : 'failing');
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => send(200, `${color} ${node} slow\n`), slowMs);
      return;
    }
    send(200, `${color} ${node} ${req.url}\n`);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  const b: Backend = {
    node,
    color,
    address,
    port: (server.address() as AddressInfo).port,
    healthy: true,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return b;
}
