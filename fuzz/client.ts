// The fuzzer's HTTP client: node:http rather than fetch, so request paths and multipart
// filenames go out byte for byte as the case made them (no URL normalisation, no filename
// escaping), every request has a deadline, and a reset or an empty reply is a result to
// judge, not an exception.

import { request as httpRequest } from 'node:http';

export interface Reply {
  method: string;
  path: string;
  /** 0 when there was no HTTP answer (see error). */
  status: number;
  contentType: string;
  text: string;
  ms: number;
  /** Transport failure: 'timeout', 'ECONNRESET', 'socket hang up'… */
  error?: string;
}

export interface Target {
  url: string;
  token: string;
  timeoutMs: number;
}

/** Percent-encodes what node:http refuses in a path (controls, space, non-ASCII), leaving the rest as given. */
export function pathSafe(raw: string): string {
  return raw.replace(/[^\x21-\x7e]/g, (c) => [...Buffer.from(c, 'latin1')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
}

export function send(t: Target, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const started = Date.now();
  const u = new URL(t.url);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<Reply, 'method' | 'path' | 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ method, path, ms: Date.now() - started, ...r });
    };
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method,
        path,
        agent: false,
        headers: { authorization: `Bearer ${t.token}`, ...(body ? { 'content-length': String(body.length) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => done({ status: 0, contentType: '', text: '', error: e.message }));
      },
    );
    const timer = setTimeout(() => {
      done({ status: 0, contentType: '', text: '', error: 'timeout' });
      req.destroy();
    }, t.timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, contentType: '', text: '', error: e.code ?? e.message }));
    req.end(body);
  });
}

export function sendJson(t: Target, method: string, path: string, value?: unknown): Promise<Reply> {
  return value === undefined ? send(t, method, path) : send(t, method, path, Buffer.from(JSON.stringify(value)), { 'content-type': 'application/json' });
}

/** A multipart/form-data body with one file part whose filename is written raw. */
export function multipart(filename: Buffer, body: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----debpkgfuzz${Date.now().toString(36)}`;
  const head = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="`, 'latin1'),
    filename,
    Buffer.from('"\r\nContent-Type: application/vnd.debian.binary-package\r\n\r\n', 'latin1'),
  ]);
  return { body: Buffer.concat([head, body, Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')]), contentType: `multipart/form-data; boundary=${boundary}` };
}
