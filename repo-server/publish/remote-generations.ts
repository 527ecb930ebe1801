// Published generations on an object store (`--etcd … --blobs s3://…` without a shared
// directory). Each server still builds a generation in its own generations directory (the
// publisher's workspace, generations.ts); this module puts it on the store and brings any
// committed generation back to a server's disk on demand. Layout under the store's prefix:
//
//   generations/<id>/<dist>/objects/<sha256>   every file's bytes, content-addressed (by-hash
//                                              names, carried files and segments share objects)
//   generations/<id>/<dist>/gen/<n>.json       the generation's listing: path → sha256, size, mtime
//
// A publish PUTs the objects first (InRelease last among them), then the listing; only then
// does the caller commit the metadata pointer (the publish record's generation). A reader
// resolves the pointer once per request and serves from its local copy of that listing's files,
// fetched and verified by SHA-256 and size, so no client sees half a generation or two mixed.
// Objects and listings of generations the pointer left behind are deleted by the next publish,
// under the publish lock, after the pointer moved; those of a failed publish with it. A
// distribution dropped and published again numbers its generations from 1 again: the listing
// keeps the Release Date, so a local copy of the old one is not taken for the new one. The
// listing's form and its bounded read are in generation-listing.ts.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { forEachLimit } from '../../lib/concurrency.js';
import { digestFile } from '../../lib/digests.js';
import { linkIfMissing, tempName } from '../../lib/fs-atomic.js';
import { Corrupt } from '../model/errors.js';
import type { ByteStore } from '../storage/bytes.js';
import { copyVerified, NotAsRecorded } from '../storage/verified-copy.js';
import type { CarryPolicy } from './by-hash.js';
import { generationBase, readStoredListing, sameAs, type ListedFile, type Listing, type LiveDistribution } from './generation-listing.js';
import { distributionAt, type DistributionId, type Draft, type Generations } from './generations.js';
import { readSplice, SPLICE_SUFFIX } from './spliced-files.js';

/** Marks a local generation directory as a complete, verified copy of its listing. */
const LOCAL_LISTING = '.listing.json';
const PUT_CONCURRENCY = 8;

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && e.name !== LOCAL_LISTING) out.push(p);
  }
  return out;
}

export class RemoteGenerations {
  /** Generations this process holds complete on disk, by local directory. */
  private readonly complete = new Map<string, Listing>();
  /** Committed listings read from the store, by key. */
  private readonly listings = new Map<string, Listing>();
  /** In-flight fetches of a generation, so concurrent requests fetch it once. */
  private readonly fetching = new Map<string, Promise<Listing>>();

  constructor(
    private readonly store: ByteStore,
    private readonly local: Generations,
    private readonly generationsDir: string,
    private readonly keep: CarryPolicy,
  ) {}

  private listingKey(d: DistributionId, n: number): string {
    return `${generationBase(d)}/gen/${n}.json`;
  }

  private objectKey(d: DistributionId, sha256: string): string {
    return `${generationBase(d)}/objects/${sha256}`;
  }

  /**
   * A listing from the store. Those at or below the pointer are cached: a committed listing is
   * never rewritten (only a number past the pointer, never committed, is reused).
   */
  private async readListing(d: LiveDistribution, n: number, committed = true): Promise<Listing | undefined> {
    const key = this.listingKey(d, n);
    const cached = this.listings.get(key);
    if (cached && committed && sameAs(cached, d)) return cached;
    const listing = await readStoredListing(this.store, key);
    if (!listing) return undefined;
    if (committed) this.listings.set(key, listing);
    return listing;
  }

  /**
   * Before a publish, under its lock: the committed generation (`live`, the pointer) is made
   * the local build's previous one, and what the pointer left behind goes from the store —
   * listings beyond the kept ones (or never committed: numbered past `live`), then objects no
   * kept listing names. Returns the hashes the kept generations already hold on the store.
   */
  async prepare(d: LiveDistribution, live: number, now: number): Promise<Set<string>> {
    if (live > 0) {
      await this.fetch(d, live);
      await this.local.adopt(d, live, now);
    }
    const kept: Listing[] = [];
    for await (const key of this.store.list(`${generationBase(d)}/gen/`)) {
      const n = Number(/\/(\d+)\.json$/.exec(key)?.[1]);
      if (!Number.isInteger(n)) continue;
      const listing = n <= live ? await this.readListing(d, n) : undefined;
      const keepIt = listing !== undefined && (n === live || live - n < this.keep.keepGenerations || now - listing.time < this.keep.keepSeconds);
      if (keepIt) kept.push(listing);
      else {
        await this.store.delete(key);
        this.listings.delete(key);
      }
    }
    const named = new Set<string>();
    for (const l of kept) for (const f of [...Object.values(l.files), ...Object.values(l.segments)]) named.add(f.sha256);
    const dead: string[] = [];
    for await (const key of this.store.list(`${generationBase(d)}/objects/`)) {
      const sha = key.slice(key.lastIndexOf('/') + 1);
      if (!named.has(sha)) dead.push(key);
    }
    await forEachLimit(dead, PUT_CONCURRENCY, (k) => this.store.delete(k));
    return named;
  }

  /**
   * Puts a sealed draft on the store: every object not already there (`present`), InRelease
   * last, then the listing. The generation is complete on the store when this resolves; it is
   * not live until the caller commits the pointer.
   */
  async upload(draft: Draft, time: number, present: Set<string>): Promise<void> {
    const manifest = await readFile(join(draft.dir, 'manifest.json'), 'utf8').then((t) => JSON.parse(t) as { date?: number }, () => undefined);
    const listing: Listing = { generation: draft.generation, time, ...(manifest?.date !== undefined ? { date: manifest.date } : {}), files: {}, segments: {} };
    const sources = new Map<string, string>();
    const describe = async (path: string): Promise<ListedFile> => {
      const [d, st] = await Promise.all([digestFile(path, ['sha256']), stat(path)]);
      if (!sources.has(d.sha256)) sources.set(d.sha256, path);
      return { sha256: d.sha256, size: d.size, mtimeMs: st.mtimeMs };
    };
    for (const path of await walk(draft.dir)) {
      const rel = relative(draft.dir, path);
      listing.files[rel] = await describe(path);
      if (!rel.endsWith(SPLICE_SUFFIX)) continue;
      for (const [seg] of (await readSplice(path)).parts) if (!listing.segments[seg]) listing.segments[seg] = await describe(join(this.generationsDir, seg));
    }
    const last = new Set(['InRelease', 'Release.gpg', 'Release'].map((n) => listing.files[n]?.sha256).filter((s): s is string => s !== undefined));
    const put = async (sha: string): Promise<void> => {
      const path = sources.get(sha);
      if (present.has(sha) || path === undefined) return;
      // Streamed: a large index (or segment) is never held in memory whole.
      const { size } = await stat(path);
      await this.store.put(this.objectKey(draft, sha), { data: createReadStream(path), size, sha256: sha });
      present.add(sha);
    };
    await forEachLimit([...sources.keys()].filter((s) => !last.has(s)), PUT_CONCURRENCY, put);
    // The Release files after every index they list, InRelease the very last.
    for (const name of ['Release', 'Release.gpg', 'InRelease']) if (listing.files[name]) await put(listing.files[name].sha256);
    const text = Buffer.from(JSON.stringify(listing));
    await this.store.put(this.listingKey(draft, draft.generation), { data: text, size: text.length, sha256: createHash('sha256').update(text).digest('hex') });
    await writeFile(join(draft.dir, LOCAL_LISTING), text);
    this.complete.set(draft.dir, listing);
  }

  /**
   * The local directory holding generation `n` complete, fetched from the store if this server
   * does not hold it yet (each file verified by SHA-256 and size). A later generation than the
   * local live one becomes the local live one (and older local copies are pruned).
   */
  async ensure(d: LiveDistribution, n: number, now = Math.floor(Date.now() / 1000)): Promise<string> {
    const dir = join(this.local.root(d), String(n));
    const held = this.complete.get(dir);
    if (!held || !sameAs(held, d)) {
      await this.fetch(d, n);
      if (n > (await this.local.liveGeneration(d))) await this.local.adopt(d, n, now, false);
    }
    return dir;
  }

  private fetch(d: LiveDistribution, n: number): Promise<Listing> {
    const dir = join(this.local.root(d), String(n));
    const known = this.complete.get(dir);
    if (known && sameAs(known, d)) return Promise.resolve(known);
    // A copy of an earlier distribution of this name: fetched again over it.
    if (known) this.complete.delete(dir);
    let p = this.fetching.get(dir);
    if (!p) {
      p = this.fetchOnce(d, n, dir).finally(() => this.fetching.delete(dir));
      this.fetching.set(dir, p);
    }
    return p;
  }

  private async fetchOnce(d: LiveDistribution, n: number, dir: string): Promise<Listing> {
    // A copy made earlier (before a restart) is complete once its listing was written last.
    const saved = await readFile(join(dir, LOCAL_LISTING), 'utf8').then((t) => JSON.parse(t) as Listing, () => undefined);
    if (saved && sameAs(saved, d)) {
      this.complete.set(dir, saved);
      return saved;
    }
    const listing = await this.readListing(d, n);
    if (!listing) throw new Corrupt(`generation ${n} of ${d.prefix}/${d.distribution} is not on ${this.store.location} (${this.listingKey(d, n)})`);
    // Files this server already holds verified, by hash: linked, not fetched again.
    const have = new Map<string, string>();
    for (const [cdir, l] of this.complete) for (const [rel, f] of Object.entries(l.files)) if (cdir.startsWith(this.local.root(d))) have.set(f.sha256, join(cdir, rel));
    const tmp = tempName(dir, 'fetch');
    try {
      await forEachLimit(Object.entries(listing.files), PUT_CONCURRENCY, async ([rel, f]) => {
        const to = join(tmp, rel);
        await mkdir(dirname(to), { recursive: true });
        const from = have.get(f.sha256);
        if (from) await linkIfMissing(from, to).catch(() => this.download(d, f, to));
        else await this.download(d, f, to);
        await utimes(to, f.mtimeMs / 1000, f.mtimeMs / 1000);
      });
      await forEachLimit(Object.entries(listing.segments), PUT_CONCURRENCY, async ([rel, f]) => {
        const to = join(this.generationsDir, rel);
        const onDisk = await digestFile(to, ['sha256']).catch(() => undefined);
        if (onDisk?.sha256 === f.sha256) return;
        await mkdir(dirname(to), { recursive: true });
        const part = tempName(to, 'fetch');
        await this.download(d, f, part);
        await rename(part, to);
      });
      await writeFile(join(tmp, LOCAL_LISTING), JSON.stringify(listing));
      // A directory of this number left by an attempt that never went live is not this generation.
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    this.complete.set(dir, listing);
    return listing;
  }

  /** One object into `to`, refused unless it has the listed size and SHA-256 (read no further than the size). */
  private async download(d: DistributionId, f: ListedFile, to: string): Promise<void> {
    const key = this.objectKey(d, f.sha256);
    const body = await this.store.get(key);
    if (!body) throw new Corrupt(`${this.store.location}/${key} is missing`);
    const fh = await open(to, 'w').catch((e: unknown) => {
      body.destroy();
      throw e;
    });
    try {
      await copyVerified(body, fh, f, `${this.store.location}/${key}`);
    } catch (e) {
      await rm(to, { force: true });
      throw e instanceof NotAsRecorded ? new Corrupt(e.message) : e;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  /** Every distribution with a key on the store (dropped ones whose removal failed included). */
  async distributions(): Promise<DistributionId[]> {
    const found = new Map<string, DistributionId>();
    for await (const key of this.store.list('generations/')) {
      const at = key.split('/', 3).slice(1).join('/');
      const d = found.has(at) ? undefined : distributionAt(at);
      if (d) found.set(at, d);
    }
    return [...found.values()];
  }

  /** Forgets what was pruned locally (the local generations directory removed it). */
  forget(dir: string): void {
    this.complete.delete(dir);
  }

  /**
   * Unpublishes: every listing and object of the distribution goes from the store. Called once
   * the publish record is deleted (service/publishing.ts dropPublish), so a failure half-way
   * leaves keys nothing names; the next publish of the name starts from pointer 0 and its
   * prepare() deletes every listing and object under the prefix (test/unit/remote-generations-drop).
   */
  async remove(d: DistributionId): Promise<void> {
    // Forgotten first: what this process cached of the dropped generations is not reused.
    for (const k of [...this.listings.keys()]) if (k.startsWith(`${generationBase(d)}/`)) this.listings.delete(k);
    for (const dir of [...this.complete.keys()]) if (dir.startsWith(this.local.root(d) + '/')) this.complete.delete(dir);
    const keys: string[] = [];
    for await (const key of this.store.list(`${generationBase(d)}/`)) keys.push(key);
    // Listings first: an object is never deleted while a listing still names it.
    keys.sort((a, b) => Number(b.includes('/gen/')) - Number(a.includes('/gen/')));
    for (const k of keys) await this.store.delete(k);
  }
}
