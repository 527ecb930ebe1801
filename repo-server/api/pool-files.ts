// The published pool over HTTP: /<prefix>/pool/... names a blob through the prefix's
// published pool map, and its bytes come from the blob store (a pack range or a loose file).
// Small ones go through FastStatic's memory cache; here are the rest, with HEAD, conditional
// requests and single byte ranges (apt resumes partial downloads with Range + If-Range).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlobStore } from '../storage/blobs.js';
import type { BlobLocation, Store } from '../storage/store.js';
import { notModified, rangeApplies } from './conditional.js';

export interface PoolBlob {
  sha256: string;
  loc: BlobLocation;
}

/** The blob a URL path of the published tree names, if it is a published pool path. */
export function resolvePoolBlob(store: Store, path: string): PoolBlob | undefined {
  if (store.publishedPool.size === 0) return undefined;
  // The prefix may have several segments (and even one named pool): try each split.
  for (let i = path.indexOf('/pool/'); i !== -1; i = path.indexOf('/pool/', i + 1)) {
    const prefix = i === 0 ? '.' : path.slice(1, i);
    const sha256 = store.publishedPool.get(prefix)?.get(path.slice(i + 1));
    if (sha256 === undefined) continue;
    const loc = store.blobs.get(sha256);
    if (loc) return { sha256, loc };
  }
  return undefined;
}

/** A strong validator: the content never changes under a given hash. */
export const blobEtag = (sha256: string): string => `"${sha256.slice(0, 40)}"`;

const DEB_TYPE = 'application/vnd.debian.binary-package';

function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
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

export async function sendPoolBlob(req: IncomingMessage, res: ServerResponse, blobs: BlobStore, blob: PoolBlob): Promise<void> {
  const { sha256, loc } = blob;
  const etag = blobEtag(sha256);
  const modified = blobs.mtimeSync(sha256, loc);
  const headers: Record<string, string> = { 'content-type': DEB_TYPE, etag, 'last-modified': modified.toUTCString(), 'accept-ranges': 'bytes' };
  if (notModified(req, etag, modified.getTime())) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let start = 0;
  let end = loc.size - 1;
  let status = 200;
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined && rangeApplies(req, etag, modified.getTime())) {
    const r = parseRange(rangeHeader, loc.size);
    if (r === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${loc.size}` });
      res.end();
      return;
    }
    if (r) {
      ({ start, end } = r);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${loc.size}`;
    }
  }
  headers['content-length'] = String(end - start + 1);
  if (req.method === 'HEAD' || loc.size === 0) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const stream = blobs.stream(sha256, loc, start, end);
  await new Promise<void>((resolve) => {
    stream.once('open', () => {
      res.writeHead(status, headers);
      stream.pipe(res);
    });
    stream.once('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `unable to read ${sha256}: ${err.message}` }));
      } else res.destroy(err);
      resolve();
    });
    stream.once('end', resolve);
    res.once('close', () => {
      stream.destroy();
      resolve();
    });
  });
}
