// The size bound of a server's read-through cache of S3 blobs (`--s3-cache-max`): the loose pool
// under --data, which with S3 holds copies only, the object store being the truth. Once the
// files it holds pass the bound, the least recently used are deleted until the total is under a
// low-water mark (90 % of the bound), so eviction runs in batches rather than on every new file.
//
// Never evicted: a file with a read stream open (its use count), a blob an in-flight upload
// relies on (pinned: its file is the source of the PUT), and a file used in the last
// `recentMs` (a caller that has just made sure the file is there reads it next: ensureLocal,
// then a stream or a synchronous read). When everything is protected the cache stays over its
// bound for a while: the bound is soft, the protection is not. Only BlobStore with a remote
// creates one: on the directory backend the pool is the only copy, and nothing evicts it.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** `--s3-cache-max` when not given. */
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;

interface Entry {
  size: number;
  /** Last use, ms (the file's mtime at start-up). */
  used: number;
  /** Streams open on the file. */
  readers: number;
}

export interface CacheBounds {
  maxBytes: number;
  /** Evict down to this (default 90 % of maxBytes). */
  lowWaterBytes?: number;
  /** A file used this recently is kept (default 60 s). */
  recentMs?: number;
  /** The clock (tests move it instead of sleeping). */
  now?: () => number;
}

export interface EvictionReport {
  evicted: number;
  freedBytes: number;
}

export class CacheLru {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private running: Promise<EvictionReport> | undefined;
  /** Files chosen for eviction whose deletion is in flight: a fetch of one waits for it. */
  private readonly deleting = new Map<string, Promise<void>>();
  readonly maxBytes: number;
  readonly lowWaterBytes: number;
  private readonly recentMs: number;
  private readonly now: () => number;
  /** Totals over the process's life (for /metrics and tests). */
  readonly stats = { evicted: 0, freedBytes: 0 };

  constructor(
    bounds: CacheBounds,
    private readonly pathOf: (sha256: string) => string,
    private readonly pinned: (sha256: string) => boolean,
  ) {
    this.maxBytes = bounds.maxBytes;
    this.lowWaterBytes = bounds.lowWaterBytes ?? Math.floor(bounds.maxBytes * 0.9);
    this.recentMs = bounds.recentMs ?? 60_000;
    this.now = bounds.now ?? Date.now;
  }

  get bytes(): number {
    return this.total;
  }

  /** Learns what the cache holds at start-up: every file, its size, its mtime as last use. */
  async scan(looseDir: string): Promise<void> {
    for (const a of await readdir(looseDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const f of await readdir(join(looseDir, a)).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{64}$/.test(f)) continue;
        const st = await stat(join(looseDir, a, f)).catch(() => undefined);
        if (st?.isFile()) this.add(f, st.size, st.mtimeMs);
      }
    }
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  /** Resolves once no eviction is deleting this file (so a new copy is not deleted under it). */
  async settled(sha256: string): Promise<void> {
    await this.deleting.get(sha256);
  }

  /** A file now in the cache (ingested or downloaded); may start an eviction. */
  add(sha256: string, size: number, used = this.now()): void {
    const old = this.entries.get(sha256);
    if (old) this.total -= old.size;
    this.entries.set(sha256, { size, used, readers: old?.readers ?? 0 });
    this.total += size;
    if (this.total > this.maxBytes) void this.evict().catch(() => undefined);
  }

  touch(sha256: string): void {
    const e = this.entries.get(sha256);
    if (e) e.used = this.now();
  }

  /** A stream opened on the file: kept until `release`. */
  hold(sha256: string): void {
    const e = this.entries.get(sha256);
    if (!e) return;
    e.readers++;
  }

  release(sha256: string): void {
    const e = this.entries.get(sha256);
    if (e && e.readers > 0) e.readers--;
  }

  /** The file went (GC of a dead blob, or cleared by hand). */
  forget(sha256: string): void {
    const e = this.entries.get(sha256);
    if (!e) return;
    this.entries.delete(sha256);
    this.total -= e.size;
  }

  /**
   * Deletes least recently used files until the total is at the low-water mark (or only
   * protected files are left). One run at a time; a call during a run waits for it.
   */
  evict(): Promise<EvictionReport> {
    if (!this.running) {
      this.running = this.evictNow().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async evictNow(): Promise<EvictionReport> {
    const report: EvictionReport = { evicted: 0, freedBytes: 0 };
    if (this.total <= this.maxBytes) return report;
    const cutoff = this.now() - this.recentMs;
    // Victims are chosen and dropped from the index synchronously, before any deletion: a
    // reader that looks the file up meanwhile sees it gone and fetches it again.
    const victims: [string, Entry][] = [];
    let total = this.total;
    for (const [sha, e] of [...this.entries].sort((a, b) => a[1].used - b[1].used)) {
      if (total <= this.lowWaterBytes) break;
      if (e.readers > 0 || e.used > cutoff || this.pinned(sha)) continue;
      victims.push([sha, e]);
      total -= e.size;
    }
    const done = new Map<string, () => void>();
    for (const [sha] of victims) {
      this.forget(sha);
      this.deleting.set(sha, new Promise<void>((resolve) => done.set(sha, resolve)));
    }
    try {
      for (const [sha, e] of victims) {
        await rm(this.pathOf(sha), { force: true });
        this.deleting.delete(sha);
        done.get(sha)!();
        report.evicted++;
        report.freedBytes += e.size;
      }
    } finally {
      // A failed deletion: its file (and those after it) stay on disk, unindexed until a restart's scan.
      for (const [sha, resolve] of done) {
        if (this.deleting.delete(sha)) resolve();
      }
    }
    this.stats.evicted += report.evicted;
    this.stats.freedBytes += report.freedBytes;
    return report;
  }
}
