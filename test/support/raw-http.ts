// HTTP/1.1 requests written byte for byte on a socket: request-targets that fetch() would
// normalise (absolute-form, `//`, `/./`, percent-encoded letters) and clients that misbehave
// (a body that trickles in, a head that never ends).

import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawRequest {
  method: string;
  target: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request per connection (`Connection: close`), the whole answer read until the server closes. */
export function rawRequest(port: number, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${req.method} ${req.target}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks).toString('latin1')));
      } catch (err) {
        reject(new Error(`${req.method} ${req.target}: ${(err as Error).message}`));
      }
    });
    // No half-close after the request: node:http (httpAllowHalfOpen off) drops requests whose
    // client has already sent FIN; Connection: close makes the server end the connection.
    socket.on('connect', () => socket.write(head(port, req) + (req.body ?? '')));
  });
}

export function head(port: number, req: RawRequest): string {
  const headers: Record<string, string> = { Host: `127.0.0.1:${port}`, Connection: 'close', ...req.headers };
  if (req.body !== undefined && headers['Content-Length'] === undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
  return `${req.method} ${req.target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

export function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] ([0-9]{3})/.exec(statusLine ?? '');
  if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers, body: text.slice(end + 4) };
}

/** A connected socket plus the time it was closed by the peer (undefined while open). */
export async function openSocket(port: number): Promise<{ socket: Socket; received: () => string; closedAt: () => number | undefined }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  let closedAt: number | undefined;
  socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closedAt = Date.now()));
  return { socket, received: () => data, closedAt: () => closedAt };
}

/**
 * Writes `payload` on a socket in 64 KiB pieces as a client that keeps sending would, waiting for
 * 'drain' at most `stallMs` each time. Returns whether the server stopped reading (stalled) and
 * whether the socket failed while writing (a reset: the error code).
 */
export async function sendBody(socket: Socket, payload: Buffer, stallMs = 3000): Promise<{ stalled: boolean; writeError: () => string | undefined }> {
  let error: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
  let stalled = false;
  for (let i = 0; i < payload.length && !socket.destroyed && !stalled; i += 1 << 16) {
    if (!socket.write(payload.subarray(i, i + (1 << 16)))) {
      stalled = !(await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), stallMs);
        socket.once('drain', () => (clearTimeout(t), r(true)));
      }));
    }
  }
  return { stalled, writeError: () => error };
}

/** Waits (at most `ms`) until a response head with a JSON body has arrived. */
export async function awaitJsonAnswer(received: () => string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!/\r\n\r\n\{.*\}/s.test(received()) && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 20));
}
