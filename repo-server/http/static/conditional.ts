// Conditional GETs (RFC 9110 §13): one answer for every file the server hands out, whether
// from the memory cache or streamed from a blob.

/** The request headers a conditional GET looks at (node:http's headers, or the raw front's). */
export interface ConditionalHeaders {
  'if-none-match'?: string | undefined;
  'if-modified-since'?: string | undefined;
  'if-range'?: string | string[] | undefined;
}

/** A strong validator for content named by its SHA-256 (blobs, splices): it never changes under it. */
export const hashEtag = (sha256: string): string => `"${sha256.slice(0, 40)}"`;

/** The weak validator of a file on disk, from its size and mtime (the directory and S3 trees alike). */
export const weakEtag = (st: { size: number; mtimeMs: number }): string => `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;

/** HTTP dates have one-second resolution: compare at that resolution. */
const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** Whether the client's copy is current: If-None-Match first, else If-Modified-Since. */
export function notModified(headers: ConditionalHeaders, etag: string, mtimeMs: number): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) return inm === '*' || inm.split(/\s*,\s*/).includes(etag);
  const ims = headers['if-modified-since'];
  return ims !== undefined && Date.parse(ims) >= wholeSeconds(mtimeMs);
}

/** Whether a Range applies under If-Range (absent, the same ETag, or a date not older than the file). */
export function rangeApplies(headers: ConditionalHeaders, etag: string, mtimeMs: number): boolean {
  const ifRange = headers['if-range'];
  if (typeof ifRange !== 'string') return true;
  if (ifRange === etag) return true;
  return !ifRange.startsWith('"') && !ifRange.startsWith('W/') && Date.parse(ifRange) >= wholeSeconds(mtimeMs);
}
