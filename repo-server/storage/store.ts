// The metadata store: packages, local repos, snapshots, published distributions, and where
// every stored file lives (blob locations, upload directories, published pool paths), held in
// memory and made durable by an append-only journal (one fsync per committed batch) plus a
// periodic full snapshot. A crash at any point leaves the last committed batch: a torn journal
// tail is cut on open, and nothing is acknowledged before its journal write is on disk.
// Implements storage/interfaces.ts (MetadataStore); test/support/store-conformance.ts checks it.

import { open, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../../lib/fs-atomic.js';
import type { MetadataStore } from './interfaces.js';
import { identity, publishId, recordFiles, type BlobLocation, type Op, type PackageRecord, type PublishRecord, type RepoRecord, type SnapshotRecord } from './records.js';

// The records moved to records.ts; importers of this module keep working.
export type { BlobLocation, Op, PackageFile, PackageRecord, PublishRecord, PublishSource, RepoRecord, SnapshotRecord } from './records.js';
export { identity, publishId } from './records.js';

interface SnapshotFile {
  /** 1: before the blob store (no blobs, uploads or publishedPool; see service/legacy.ts). */
  format: 1 | 2;
  journal: number;
  packages: PackageRecord[];
  repos: (RepoRecord & { packages: string[] })[];
  snapshots: SnapshotRecord[];
  publishes: PublishRecord[];
  blobs?: [string, string, number, number][];
  uploads?: { dir: string; files: [string, string][] }[];
  publishedPool?: { prefix: string; files: [string, string][] }[];
}

/** Adds name → sha256 entries to the inner map of `key` (created on first use). */
function mergeInto(maps: Map<string, Map<string, string>>, key: string, entries: [string, string][]): void {
  let inner = maps.get(key);
  if (!inner) maps.set(key, (inner = new Map()));
  for (const [name, sha] of entries) inner.set(name, sha);
}


const COMPACT_BYTES = 64 << 20;

export interface StoreOptions {
  /** Journal size that triggers a compaction (default 64 MiB; tests use a few KiB). */
  compactBytes?: number;
}

export class Store implements MetadataStore {
  readonly packages = new Map<string, PackageRecord>();
  readonly repos = new Map<string, RepoRecord>();
  readonly repoPackages = new Map<string, Set<string>>();
  /**
   * Each repo's keys in insertion order (the set's order). Adds append; a removal replaces the
   * array. So an array a caller read earlier has only grown since, and its new keys are at the
   * end: a publish need not look up 100k keys again.
   */
  readonly repoOrder = new Map<string, string[]>();
  /** Package records deleted overall (a record a caller read earlier may be gone). */
  packageDeletions = 0;
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly publishes = new Map<string, PublishRecord>();
  /** "name version arch" → keys of packages with that identity (conflict checks). */
  readonly byIdentity = new Map<string, Set<string>>();
  /** sha256 → where its bytes are. */
  readonly blobs = new Map<string, BlobLocation>();
  /** Upload directory → file name → sha256 (aptly's upload area, kept as a manifest). */
  readonly uploads = new Map<string, Map<string, string>>();
  /** Publish prefix → pool path under it → sha256: what the published tree serves under pool/. */
  readonly publishedPool = new Map<string, Map<string, string>>();

  private journal!: FileHandle;
  private journalNumber = 0;
  private journalBytes = 0;
  /** The last queued commit (or compaction): the next one starts after it settles. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly compactBytes: number,
  ) {}

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    const store = new Store(dir, opts.compactBytes ?? COMPACT_BYTES);
    await store.load();
    return store;
  }

  private journalPath(n: number): string {
    return join(this.dir, `journal.${n}.log`);
  }

  private async load(): Promise<void> {
    const snapshot = await readFile(join(this.dir, 'state.json'), 'utf8').then(
      (t) => JSON.parse(t) as SnapshotFile,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (snapshot) {
      for (const p of snapshot.packages) this.apply({ op: 'pkg', rec: p });
      for (const r of snapshot.repos) {
        const { packages, ...repo } = r;
        this.repos.set(repo.name, repo);
        this.repoPackages.set(repo.name, new Set(packages));
        this.repoOrder.set(repo.name, [...this.repoPackages.get(repo.name)!]);
      }
      for (const s of snapshot.snapshots) this.snapshots.set(s.name, s);
      for (const p of snapshot.publishes) this.publishes.set(publishId(p.prefix, p.distribution), p);
      for (const [sha, pack, offset, size] of snapshot.blobs ?? []) this.blobs.set(sha, { pack, offset, size });
      for (const u of snapshot.uploads ?? []) this.uploads.set(u.dir, new Map(u.files));
      for (const p of snapshot.publishedPool ?? []) this.publishedPool.set(p.prefix, new Map(p.files));
      this.journalNumber = snapshot.journal;
    }
    const path = this.journalPath(this.journalNumber);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    let good = 0;
    const lines = text.split('\n');
    // What follows the last newline is empty, or a record torn before its newline: the newline
    // is the commit mark, and appending after an unterminated record would glue the next one on.
    lines.pop();
    for (const line of lines) {
      if (line === '') break;
      let batch: Op[];
      try {
        batch = JSON.parse(line) as Op[];
      } catch {
        break; // a torn tail: the batch was never acknowledged
      }
      for (const op of batch) this.apply(op);
      good += Buffer.byteLength(line) + 1;
    }
    if (good < Buffer.byteLength(text)) await truncate(path, good);
    this.journal = await open(path, 'a');
    this.journalBytes = good;
  }

  /**
   * Makes a batch durable, then applies it. Concurrent calls are queued: each batch is written,
   * synced and applied whole, in call order (a compaction never runs beside a write).
   */
  commit(batch: Op[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.serialised(() => this.commitNow(batch));
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async commitNow(batch: Op[]): Promise<void> {
    const line = `${JSON.stringify(batch)}\n`;
    await this.journal.write(line);
    await this.journal.datasync();
    this.journalBytes += Buffer.byteLength(line);
    for (const op of batch) this.apply(op);
    if (this.journalBytes > this.compactBytes) await this.compactNow();
  }

  private apply(op: Op): void {
    switch (op.op) {
      case 'pkg': {
        this.packages.set(op.rec.key, op.rec);
        const id = identity(op.rec);
        const set = this.byIdentity.get(id) ?? new Set<string>();
        set.add(op.rec.key);
        this.byIdentity.set(id, set);
        break;
      }
      case 'pkg-del': {
        this.packageDeletions++;
        const rec = this.packages.get(op.key);
        this.packages.delete(op.key);
        if (rec) this.byIdentity.get(identity(rec))?.delete(op.key);
        break;
      }
      case 'repo':
        this.repos.set(op.repo.name, op.repo);
        if (!this.repoPackages.has(op.repo.name)) {
          this.repoPackages.set(op.repo.name, new Set());
          this.repoOrder.set(op.repo.name, []);
        }
        break;
      case 'repo-del':
        this.repos.delete(op.name);
        this.repoPackages.delete(op.name);
        this.repoOrder.delete(op.name);
        break;
      case 'repo-add': {
        const set = this.repoPackages.get(op.name);
        const order = this.repoOrder.get(op.name);
        if (set)
          for (const k of op.keys) {
            if (set.has(k)) continue;
            set.add(k);
            order?.push(k);
          }
        break;
      }
      case 'repo-rm': {
        const set = this.repoPackages.get(op.name);
        if (set) {
          for (const k of op.keys) set.delete(k);
          this.repoOrder.set(op.name, [...set]);
        }
        break;
      }
      case 'snap':
        this.snapshots.set(op.snap.name, op.snap);
        break;
      case 'snap-del':
        this.snapshots.delete(op.name);
        break;
      case 'pub':
        this.publishes.set(publishId(op.pub.prefix, op.pub.distribution), op.pub);
        break;
      case 'pub-del':
        this.publishes.delete(publishId(op.prefix, op.distribution));
        break;
      case 'blobs':
        for (const [sha, offset, size] of op.entries) this.blobs.set(sha, { pack: op.pack, offset, size });
        break;
      case 'loose':
        this.blobs.set(op.sha256, { pack: '', offset: 0, size: op.size });
        break;
      case 'blob-del':
        for (const sha of op.shas) this.blobs.delete(sha);
        break;
      case 'up':
        mergeInto(this.uploads, op.dir, op.files);
        break;
      case 'up-rm': {
        const files = this.uploads.get(op.dir);
        if (files && op.names) for (const n of op.names) files.delete(n);
        if (!op.names || files?.size === 0) this.uploads.delete(op.dir);
        break;
      }
      case 'pool-pub':
        mergeInto(this.publishedPool, op.prefix, op.files);
        break;
      case 'pool-unpub':
        this.publishedPool.delete(op.prefix);
        break;
    }
  }

  /** Writes the whole state, then starts a new journal: the old one is dropped only after. */
  compact(): Promise<void> {
    return this.serialised(() => this.compactNow());
  }

  private async compactNow(): Promise<void> {
    const next = this.journalNumber + 1;
    const snapshot: SnapshotFile = {
      format: 2,
      journal: next,
      packages: [...this.packages.values()],
      repos: [...this.repos.values()].map((r) => ({ ...r, packages: [...(this.repoPackages.get(r.name) ?? [])] })),
      snapshots: [...this.snapshots.values()],
      publishes: [...this.publishes.values()],
      blobs: [...this.blobs].map(([sha, l]) => [sha, l.pack, l.offset, l.size]),
      uploads: [...this.uploads].map(([dir, files]) => ({ dir, files: [...files] })),
      publishedPool: [...this.publishedPool].map(([prefix, files]) => ({ prefix, files: [...files] })),
    };
    const fresh = await open(this.journalPath(next), 'w');
    try {
      await fresh.sync();
      await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(snapshot));
    } catch (e) {
      // state.json still names the old journal, which stays open: the new one is not used.
      await fresh.close().catch(() => undefined);
      throw e;
    }
    const old = this.journalPath(this.journalNumber);
    await this.journal.close();
    this.journal = fresh;
    this.journalNumber = next;
    this.journalBytes = 0;
    // state.json now names the new journal; the old one is garbage whatever happens next.
    await unlink(old).catch(() => undefined);
    await fsyncDir(this.dir);
  }

  /** Blobs something names: a package record or an upload. */
  referencedBlobs(): Set<string> {
    const shas = new Set<string>();
    for (const p of this.packages.values()) for (const f of recordFiles(p)) shas.add(f.sha256);
    for (const files of this.uploads.values()) for (const sha of files.values()) shas.add(sha);
    return shas;
  }

  /** Package keys referenced by any repo or snapshot. */
  referencedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const set of this.repoPackages.values()) for (const k of set) keys.add(k);
    for (const s of this.snapshots.values()) for (const k of s.packages) keys.add(k);
    return keys;
  }

  /** Closes the journal once the commits already issued are done. */
  close(): Promise<void> {
    return this.serialised(() => this.journal.close());
  }
}
