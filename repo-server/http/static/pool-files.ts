// The published pool over HTTP: /<prefix>/pool/... names a blob through the prefix's
// published pool map, and its bytes come from the blob store (a pack range or a loose file).
// Small ones go through FastStatic's memory cache; the rest are sent by ranged.ts.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlobStore } from '../../storage/blobs.js';
import type { BlobIndex, PublishedPoolIndex } from '../../storage/interfaces.js';
import type { BlobLocation } from '../../storage/records.js';
import { hashEtag } from './conditional.js';
import { contentTypeOf } from './fast-static.js';
import { sendRanged } from './ranged.js';

export interface PoolBlob {
  sha256: string;
  loc: BlobLocation;
}

/** The blob a URL path of the published tree names, if it is a published pool path. */
export function resolvePoolBlob(store: PublishedPoolIndex & BlobIndex, path: string): PoolBlob | undefined {
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

/** Sends the blob published as `path`. */
export async function sendPoolBlob(req: IncomingMessage, res: ServerResponse, blobs: BlobStore, blob: PoolBlob, path: string): Promise<void> {
  const { sha256, loc } = blob;
  // With S3 the bytes may be on the shared store only: fetched whole into the local cache once,
  // then served (ranges included) from the cache.
  await blobs.ensureLocal(sha256, loc);
  await sendRanged(req, res, {
    size: loc.size,
    etag: hashEtag(sha256),
    modified: blobs.mtimeSync(sha256, loc),
    contentType: contentTypeOf(path),
    name: sha256,
    open: (start, end) => blobs.stream(sha256, loc, start, end),
  });
}
