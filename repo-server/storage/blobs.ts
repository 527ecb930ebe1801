// The blob store: every stored file (packages, other uploads), content-addressed by SHA-256.
// Small files are appended to pack files, one pack per upload request, so ingesting 10,000
// packages creates a few dozen files instead of tens of thousands (on ext4 each file creation
// costs more than receiving and checking a small package). Large files get a file of their own
// in the loose pool. Locations are metadata (Store.blobs), committed only once the bytes are
// durable; a pack or loose file that no location names is a leftover of a crash.
//
// With a remote byte store (`--blobs s3://…`, storage/bytes-s3.ts) the remote is the truth that
// every server shares: each blob is one content-addressed object (pool/<2 hex>/<sha256>),
// PUT (its SHA-256 checked by the server) before any metadata names it. No packs then: an
// object store has no append, and one PUT per blob is what an upload costs either way. The
// loose pool becomes a read-through cache: filled on ingest, and on first read of a blob
// another server ingested (ensureLocal), so the synchronous readers keep reading local files.
// Pack files are written by pack-writer.ts, cache downloads bounded by blob-download.ts.

import { closeSync, createReadStream, openSync, statSync, type ReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir, tempName } from '../../lib/fs-atomic.js';
import { writeFully } from '../../lib/write-fully.js';
import { CacheLru, type CacheBounds } from './blob-cache.js';
import { downloadBlob } from './blob-download.js';
import { blobKey, type ByteStore } from './bytes.js';
import { PackWriter, readFully } from './pack-writer.js';
import type { BlobLocation } from './store.js';
import type { SweepClaims } from './sweep-claims.js';

export { PackWriter } from './pack-writer.js';

const SHA256 = /^[0-9a-f]{64}$/;

export class BlobStore {
  readonly packsDir: string;
  readonly looseDir: string;
  /** Read descriptors of packs, opened on first use (packs are immutable once committed). */
  private readonly fds = new Map<string, number>();
  private readonly mtimes = new Map<string, Date>();
  /** Blobs an in-flight request relies on without having written them (dedupe): GC keeps them. */
  private readonly pins = new Map<string, number>();
  private packSeq = 0;
  /** Downloads in flight into the cache, so concurrent readers of one blob fetch it once. */
  private readonly fetching = new Map<string, Promise<void>>();
  /** With a remote: the size bound of the local cache (storage/blob-cache.ts). */
  readonly cache: CacheLru | undefined;
  /** With a remote: the orphan sweep's claims, which uploads check (storage/sweep-claims.ts). */
  claims: SweepClaims | undefined;

  constructor(
    dataDir: string,
    /** The shared byte store blobs live on; absent: the local directories are the truth. */
    readonly remote?: ByteStore,
    /** The cache's bound (only with a remote: without one the pool is the only copy). */
    cacheBounds?: CacheBounds,
  ) {
    this.packsDir = join(dataDir, 'packs');
    this.looseDir = join(dataDir, 'pool');
    if (cacheBounds && !remote) throw new Error('a cache bound needs a remote byte store: the local pool is the only copy of its blobs');
    this.cache = cacheBounds && remote ? new CacheLru(cacheBounds, (sha) => this.loosePath(sha), (sha) => this.pinned(sha)) : undefined;
  }

  /** Small blobs go into packs only without a remote (an object store cannot append). */
  get packs(): boolean {
    return this.remote === undefined;
  }

  /** A small blob received into memory, stored as a loose file (the remote mode's cache). */
  async writeLoose(sha256: string, buf: Buffer): Promise<void> {
    const { path, fh } = await this.newLoose();
    try {
      await writeFully(fh, buf);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commitLoose(path, sha256).catch(async (e: unknown) => {
      await rm(path, { force: true });
      throw e;
    });
  }

  /** PUTs a loose blob to the remote (nothing without one); resolves once it is stored whole. */
  async upload(sha256: string, size: number): Promise<void> {
    if (!this.remote) return;
    await this.remote.put(blobKey(sha256), { data: createReadStream(this.loosePath(sha256)), size, sha256 });
  }

  /**
   * Makes a blob readable from the local cache: with a remote, a blob this server has not got
   * (another one ingested it, or the cache was cleared) is downloaded, verified, then named.
   */
  async ensureLocal(sha256: string, loc: BlobLocation): Promise<void> {
    if (!this.remote || loc.pack !== '') return;
    const path = this.loosePath(sha256);
    await this.cache?.settled(sha256); // being evicted: fetched again once its file is gone
    // The disk, not the index, decides: the cache may be deleted by hand at any time.
    const st = await stat(path).catch(() => undefined);
    if (st) {
      if (this.cache?.has(sha256)) this.cache.touch(sha256);
      else this.cache?.add(sha256, st.size);
      return;
    }
    this.cache?.forget(sha256);
    let p = this.fetching.get(sha256);
    if (!p) {
      p = downloadBlob(this.remote, sha256, loc.size, this).finally(() => this.fetching.delete(sha256));
      this.fetching.set(sha256, p);
    }
    await p;
  }

  async init(): Promise<void> {
    await mkdir(this.packsDir, { recursive: true });
    await mkdir(this.looseDir, { recursive: true });
    await this.cache?.scan(this.looseDir);
  }

  packPath(id: string): string {
    if (!/^[0-9a-z-]+$/.test(id)) throw new Error(`invalid pack id '${id}'`);
    return join(this.packsDir, `${id}.pack`);
  }

  loosePath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`invalid sha256 '${sha256}'`);
    return join(this.looseDir, sha256.slice(0, 2), sha256);
  }

  /** A new pack for one request's small files; nothing touches the disk until the first append. */
  newPack(): PackWriter {
    const id = `${Date.now().toString(36)}-${process.pid.toString(36)}-${(this.packSeq++).toString(36)}`;
    return new PackWriter(id, this.packPath(id), this.packsDir);
  }

  /** A temp file for one large blob; `commitLoose` names it by its hash once written whole. */
  async newLoose(): Promise<{ path: string; fh: FileHandle }> {
    const path = tempName(join(this.looseDir, 'incoming'));
    return { path, fh: await open(path, 'wx', 0o644) };
  }

  /** Moves a durable temp file to its content address (a copy already there wins). */
  async commitLoose(tmp: string, sha256: string): Promise<void> {
    const target = this.loosePath(sha256);
    try {
      await link(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await mkdir(dirname(target), { recursive: true });
        await fsyncDir(this.looseDir);
        await link(tmp, target).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
      } else if (code !== 'EEXIST') throw err;
    }
    await unlink(tmp);
    await fsyncDir(dirname(target));
    if (this.cache) this.cache.add(sha256, (await stat(target)).size);
  }

  pathOf(sha256: string, loc: BlobLocation): string {
    return loc.pack === '' ? this.loosePath(sha256) : this.packPath(loc.pack);
  }

  private fdOf(pack: string): number {
    let fd = this.fds.get(pack);
    if (fd === undefined) {
      fd = openSync(this.packPath(pack), 'r');
      this.fds.set(pack, fd);
    }
    return fd;
  }

  /**
   * A small blob's bytes, synchronously: packs are read through a cached descriptor, which
   * dropPack closes, so read in the same tick as the location is looked up.
   */
  readSync(sha256: string, loc: BlobLocation): Buffer {
    if (loc.pack === '') this.cache?.touch(sha256);
    const buf = Buffer.allocUnsafe(loc.size);
    if (loc.pack === '') {
      const fd = openSync(this.loosePath(sha256), 'r');
      try {
        readFully(fd, buf, 0);
      } finally {
        closeSync(fd);
      }
    } else readFully(this.fdOf(loc.pack), buf, loc.offset);
    return buf;
  }

  /** Bytes [start, end] (inclusive) of a blob as a stream. */
  stream(sha256: string, loc: BlobLocation, start: number, end: number): ReadStream {
    const s = createReadStream(this.pathOf(sha256, loc), { start: loc.offset + start, end: loc.offset + end });
    if (this.cache && loc.pack === '') {
      // Kept out of eviction while the stream is open.
      this.cache.hold(sha256);
      s.once('close', () => this.cache!.release(sha256));
    }
    return s;
  }

  /** When the blob's file was written (Last-Modified); packs never change, so it is cached. */
  mtimeSync(sha256: string, loc: BlobLocation): Date {
    const key = loc.pack === '' ? sha256 : loc.pack;
    if (loc.pack === '') this.cache?.touch(sha256);
    let m = this.mtimes.get(key);
    if (!m) this.remember(key, (m = statSync(this.pathOf(sha256, loc)).mtime));
    return m;
  }

  private remember(key: string, m: Date): void {
    if (this.mtimes.size > 10_000) this.mtimes.clear();
    this.mtimes.set(key, m);
  }

  pin(sha256: string): void {
    this.pins.set(sha256, (this.pins.get(sha256) ?? 0) + 1);
  }

  unpin(sha256: string): void {
    const n = (this.pins.get(sha256) ?? 1) - 1;
    if (n <= 0) this.pins.delete(sha256);
    else this.pins.set(sha256, n);
  }

  pinned(sha256: string): boolean {
    return this.pins.has(sha256);
  }

  async dropPack(id: string): Promise<void> {
    const fd = this.fds.get(id);
    if (fd !== undefined) {
      this.fds.delete(id);
      closeSync(fd); // a stream still reading it has its own descriptor
    }
    this.mtimes.delete(id);
    await rm(this.packPath(id), { force: true });
  }

  async dropLoose(sha256: string): Promise<void> {
    this.mtimes.delete(sha256);
    this.cache?.forget(sha256);
    await rm(this.loosePath(sha256), { force: true });
  }

  /** Pack ids on disk. */
  async listPacks(): Promise<string[]> {
    return (await readdir(this.packsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.pack')).map((f) => f.slice(0, -5));
  }

  /** Temp files of writes that never finished (packs and loose). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const d of [this.packsDir, this.looseDir]) {
      for (const f of await readdir(d).catch(() => [] as string[])) if (f.startsWith('.') && f.includes('.tmp-')) out.push(join(d, f));
    }
    return out;
  }

  /** sha256 of every loose file on disk. */
  async listLoose(): Promise<string[]> {
    const out: string[] = [];
    for (const a of await readdir(this.looseDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const f of await readdir(join(this.looseDir, a)).catch(() => [] as string[])) if (SHA256.test(f)) out.push(f);
    }
    return out;
  }

  /** Size of a pack file (for compaction decisions). */
  async packSize(id: string): Promise<number> {
    return (await stat(this.packPath(id))).size;
  }
}
