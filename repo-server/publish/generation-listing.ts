// A published generation as the object store lists it (publish/remote-generations.ts): the
// listing's form, where a distribution's keys live, and the bounded read of a listing.

import { Corrupt } from '../model/errors.js';
import type { ByteStore } from '../storage/bytes.js';
import { generationsKey, type DistributionId } from './generations.js';

export interface ListedFile {
  sha256: string;
  size: number;
  /** Milliseconds: served as Last-Modified, so If-Modified-Since agrees on every server. */
  mtimeMs: number;
}

export interface Listing {
  generation: number;
  /** Unix seconds of the publish (the keep-by-age policy). */
  time: number;
  /** The generation's Release Date (its manifest's); absent in listings written before it. */
  date?: number;
  /** Paths relative to the generation directory. */
  files: Record<string, ListedFile>;
  /** Segments the generation's splices name, by path relative to the generations directory. */
  segments: Record<string, ListedFile>;
}

/**
 * A distribution as its publish record names it: with the Release Date of the live generation,
 * which tells this server's copies of an earlier distribution of the same name (dropped and
 * published again, numbered from 1 again) from the record's generation of the same number.
 */
export type LiveDistribution = DistributionId & { lastDate?: number };

/** Whether a listing (or a local copy's) can be the record's live generation. */
export function sameAs(l: Listing, d: LiveDistribution): boolean {
  return d.lastDate === undefined || l.date === undefined || l.date === d.lastDate;
}

/** Where the store keeps a distribution's generations: generations/<id>/<dist>. */
export function generationBase(d: DistributionId): string {
  return `generations/${generationsKey(d)}`;
}

/**
 * A listing is read into memory whole, so its size is bounded: about 150 bytes per file, so
 * 64 MiB is some 400,000 files, far past any distribution's indexes and by-hash names.
 */
const MAX_LISTING_BYTES = 64 << 20;

/** The listing stored at `key`; undefined when there is none. Oversized or unparsable ones are Corrupt. */
export async function readStoredListing(store: ByteStore, key: string): Promise<Listing | undefined> {
  const body = await store.get(key);
  if (!body) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_LISTING_BYTES) {
      body.destroy();
      throw new Corrupt(`${store.location}/${key} is over ${MAX_LISTING_BYTES} bytes: not a listing a server wrote`);
    }
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Listing;
  } catch (e) {
    throw new Corrupt(`${store.location}/${key} is not a listing: ${(e as Error).message}`);
  }
}
