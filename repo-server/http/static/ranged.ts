// Sending one stored file over HTTP with HEAD, conditional requests and single byte ranges (apt
// resumes partial downloads with Range + If-Range): pool blobs and spliced index files alike.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { notModified, rangeApplies } from './conditional.js';

export interface RangedFile {
  size: number;
  etag: string;
  modified: Date;
  contentType: string;
  /** Bytes [start, end], inclusive. */
  open(start: number, end: number): Readable;
  /** Names the file in a 500 answer when reading fails. */
  name: string;
}

export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or garbage: send it whole
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export async function sendRanged(req: IncomingMessage, res: ServerResponse, file: RangedFile): Promise<void> {
  const { size, etag, modified } = file;
  const headers: Record<string, string> = { 'content-type': file.contentType, etag, 'last-modified': modified.toUTCString(), 'accept-ranges': 'bytes' };
  if (notModified(req.headers, etag, modified.getTime())) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined && rangeApplies(req.headers, etag, modified.getTime())) {
    const r = parseRange(rangeHeader, size);
    if (r === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    if (r) {
      ({ start, end } = r);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  headers['content-length'] = String(end - start + 1);
  if (req.method === 'HEAD' || size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const stream = file.open(start, end);
  const want = end - start + 1;
  let sent = 0;
  await new Promise<void>((resolve) => {
    // The status goes out with the first bytes: a file that cannot be read gets a 500, not a
    // 200 cut short.
    const begin = (): void => {
      if (!res.headersSent) res.writeHead(status, headers);
    };
    stream.on('data', (chunk: Buffer) => {
      begin();
      sent += chunk.length;
      if (!res.write(chunk)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.once('end', () => {
      begin();
      // Fewer bytes than announced (a file shorter than its record): cut the connection, so the
      // client sees a failed transfer instead of waiting or reading the next answer as body.
      if (sent !== want) res.destroy(new Error(`${file.name}: ${sent} of ${want} bytes`));
      else res.end();
      resolve();
    });
    stream.once('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `unable to read ${file.name}: ${err.message}` }));
      } else res.destroy(err);
      resolve();
    });
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
  });
}
