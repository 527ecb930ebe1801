// Conditional GETs (RFC 9110 §13): one answer for every file the server hands out, whether
// from the memory cache or streamed from a blob.

import type { IncomingMessage } from 'node:http';

/** HTTP dates have one-second resolution: compare at that resolution. */
const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** Whether the client's copy is current: If-None-Match first, else If-Modified-Since. */
export function notModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm === '*' || inm.split(/\s*,\s*/).includes(etag);
  const ims = req.headers['if-modified-since'];
  return ims !== undefined && Date.parse(ims) >= wholeSeconds(mtimeMs);
}

/** Whether a Range applies under If-Range (absent, the same ETag, or a date not older than the file). */
export function rangeApplies(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const ifRange = req.headers['if-range'];
  if (typeof ifRange !== 'string') return true;
  if (ifRange === etag) return true;
  return !ifRange.startsWith('"') && !ifRange.startsWith('W/') && Date.parse(ifRange) >= wholeSeconds(mtimeMs);
}
