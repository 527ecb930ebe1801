// The hot path of an apt repository: small files (InRelease, indexes, most packages) served
// straight from a memory cache before the request reaches the framework. Conditional requests
// are answered with 304. Everything else (ranges, large files, API calls, unknown paths) falls
// through to fastify and @fastify/static.

import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize } from 'node:path';
import { readSplicedSync, readSpliceSync, SPLICE_SUFFIX } from '../../publish/spliced-files.js';
import { hashEtag, notModified, weakEtag } from './conditional.js';

/** A small file held in memory, with what its response headers need. */
export interface CachedFile {
  file: string;
  ino: number;
  size: number;
  mtimeMs: number;
  body: Buffer;
  etag: string;
  lastModified: string;
  contentType: string;
  /** When the file was last compared with the disk (performance.now()). */
  checkedAt: number;
}

/**
 * A hot file is re-stat'ed at most this often. Publishing swaps whole generations and keeps the
 * previous ones' by-hash files, so a client that gets a file up to this much older is in the
 * same position as one whose request raced the swap — which apt already survives.
 */
const RECHECK_MS = 50;

/** Files that live outside the tree (the published pool's blobs), by URL path. */
export interface BlobSource {
  resolve(path: string): { key: string; size: number; etag: string; mtimeMs: number; read(): Buffer } | undefined;
}

export interface FastStaticOptions {
  /** Files up to this size are cached and served from memory. */
  maxFileBytes: number;
  /** Total cache budget; least recently used entries go first. */
  maxCacheBytes: number;
  /** Where spliced files' segments live (see publish/spliced-files.ts). */
  generationsDir?: string;
  /**
   * false: the tree on disk is not what is live (generations on an object store, resolved per
   * request by remote-dists.ts), so only pool blobs are answered here.
   */
  diskTree?: boolean;
}

/** URL keys kept for the hot path (cleared wholesale when full: rebuilding is cheap). */
const MAX_URLS = 100_000;

const TYPES: [RegExp, string][] = [
  [/\/(InRelease|Release)$/, 'text/plain; charset=utf-8'],
  [/\.gpg$/, 'application/pgp-signature'],
  [/\.deb$/, 'application/vnd.debian.binary-package'],
  [/\.gz$/, 'application/gzip'],
  [/\.xz$/, 'application/x-xz'],
];

/** The Content-Type of a published file, by its name. */
export const contentTypeOf = (path: string): string => TYPES.find(([re]) => re.test(path))?.[1] ?? 'application/octet-stream';

export class FastStatic {
  private readonly cache = new Map<string, CachedFile>();
  /** Raw request URL → entry, for URLs without a query string. */
  private readonly byUrl = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(
    private readonly root: string,
    private readonly options: FastStaticOptions = { maxFileBytes: 256 << 10, maxCacheBytes: 64 << 20 },
    private readonly blobs?: BlobSource,
  ) {}

  /** Serves the request if it is a small file of the tree; returns false to pass it on. */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (req.headers.range !== undefined) return false;
    const entry = this.lookup(req.url ?? '/');
    if (entry === undefined) return false;
    this.send(req, res, entry);
    return true;
  }

  /**
   * The cached file a request target names, read into the cache if it is a small file of the
   * tree or of the published pool; undefined to pass the request on.
   */
  lookup(raw: string): CachedFile | undefined {
    // Hot path: a URL seen before, checked against the disk recently — no decoding, no syscall.
    const hit = this.byUrl.get(raw);
    if (hit !== undefined && performance.now() - hit.checkedAt < RECHECK_MS && this.cache.get(hit.file) === hit) return hit;
    const q = raw.indexOf('?');
    let path: string;
    try {
      path = decodeURIComponent(q === -1 ? raw : raw.slice(0, q));
    } catch {
      return undefined;
    }
    if (path.startsWith('/api/') || path.startsWith('/keys/') || path.endsWith('.sources') || path.includes('\0')) return undefined;
    // Refuse dot segments and dotfiles outright: fall through, the static plugin denies them.
    if (/(^|\/)\./.test(path) || normalize(path) !== path) return undefined;
    const blob = this.blobs?.resolve(path);
    if (blob) {
      if (blob.size > this.options.maxFileBytes) return undefined;
      // Content-addressed: an entry under the blob's key never goes stale.
      let entry = this.cache.get(blob.key);
      if (entry) {
        this.cache.delete(blob.key);
        this.cache.set(blob.key, entry);
      } else {
        let body: Buffer;
        try {
          body = blob.read();
        } catch {
          return undefined;
        }
        entry = {
          file: blob.key,
          ino: 0,
          size: blob.size,
          mtimeMs: blob.mtimeMs,
          body,
          etag: blob.etag,
          lastModified: new Date(blob.mtimeMs).toUTCString(),
          contentType: contentTypeOf(path),
          checkedAt: 0,
        };
        this.cache.set(blob.key, entry);
        this.bytes += body.length;
        this.trim();
      }
      entry.checkedAt = performance.now();
      this.remember(raw, q, entry);
      return entry;
    }
    if (path.endsWith(SPLICE_SUFFIX) || this.options.diskTree === false) return undefined;
    let file = join(this.root, path);
    let st;
    let spliced = false;
    try {
      st = statSync(file);
    } catch {
      // Not a plain file: maybe a splice published under this name.
      if (this.options.generationsDir === undefined) return undefined;
      file += SPLICE_SUFFIX;
      spliced = true;
      try {
        st = statSync(file);
      } catch {
        return undefined;
      }
    }
    if (!st.isFile() || (!spliced && st.size > this.options.maxFileBytes)) return undefined;
    let entry = this.cache.get(file);
    if (!entry || entry.ino !== st.ino || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs) {
      if (entry) this.evict(file);
      let body: Buffer;
      let etag = weakEtag(st);
      try {
        if (spliced) {
          const splice = readSpliceSync(file);
          if (splice.size > this.options.maxFileBytes) return undefined;
          body = readSplicedSync(this.options.generationsDir!, splice);
          etag = hashEtag(splice.sha256);
        } else body = readFileSync(file);
      } catch {
        return undefined;
      }
      entry = {
        file,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        body,
        // Plain files: the same weak ETag as the static plugin's, so both paths agree.
        etag,
        lastModified: st.mtime.toUTCString(),
        contentType: contentTypeOf(path),
        checkedAt: performance.now(),
      };
      this.cache.set(file, entry);
      this.bytes += body.length;
      this.trim();
    } else {
      entry.checkedAt = performance.now();
      // refresh its place in the LRU order
      this.cache.delete(file);
      this.cache.set(file, entry);
    }
    this.remember(raw, q, entry);
    return entry;
  }

  private remember(raw: string, q: number, entry: CachedFile): void {
    if (q !== -1) return;
    if (this.byUrl.size >= MAX_URLS) this.byUrl.clear();
    this.byUrl.set(raw, entry);
  }

  private send(req: IncomingMessage, res: ServerResponse, entry: CachedFile): void {
    if (notModified(req.headers, entry.etag, entry.mtimeMs)) {
      res.writeHead(304, ['content-type', entry.contentType, 'etag', entry.etag, 'last-modified', entry.lastModified, 'accept-ranges', 'bytes']);
      res.end();
      return;
    }
    res.writeHead(200, ['content-type', entry.contentType, 'etag', entry.etag, 'last-modified', entry.lastModified, 'accept-ranges', 'bytes', 'content-length', String(entry.body.length)]);
    res.end(req.method === 'HEAD' ? undefined : entry.body);
  }

  private evict(file: string): void {
    const e = this.cache.get(file);
    if (!e) return;
    this.cache.delete(file);
    this.bytes -= e.body.length;
    // byUrl entries pointing at it are recognised as stale by the identity check in tryServe.
  }

  private trim(): void {
    for (const key of this.cache.keys()) {
      if (this.bytes <= this.options.maxCacheBytes) break;
      this.evict(key);
    }
  }
}
