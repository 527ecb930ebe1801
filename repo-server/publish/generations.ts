// A distribution's generations: generations/<prefix>/<dist>/<n>/, each a complete tree
// (indexes, by-hash names, Release, InRelease, manifest.json) that is written, sealed (dated
// the Release Date and fsync'd), then made live by one atomic rename of the dists/<dist>
// symlink. Old ones are pruned after the publish has answered; the next publish waits for that.
//
// The file system, not the metadata, says what is live: a crash between the swap and the
// metadata commit must not make the next publish overwrite the live generation. (With the
// generations on an object store, remote-generations.ts, it is the other way round: the
// metadata's pointer is live, and this directory is the server's workspace and copy of it.)

import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fsyncDir, tempName } from '../../lib/fs-atomic.js';
import type { ByHashEntry, CarryPolicy } from './by-hash.js';
import type { ManifestIndex } from './index-writer.js';
import { pruneSegments } from './segments.js';

export interface Manifest {
  generation: number;
  time: number;
  /** The Release Date (the next one must be strictly later: apt ignores an older Release). */
  date: number;
  /** Per index key (see IndexType.key): digest of its content, its files and their digests. */
  indexes: Record<string, ManifestIndex>;
  byHash: ByHashEntry[];
}

/** Which distribution (aptly's prefix "." is the public root itself). */
export interface DistributionId {
  prefix: string;
  distribution: string;
}

/**
 * Where a distribution's generations live under the generations directory (and on an object
 * store): `<id>/<distribution>`, the id being the prefix with "/" as "_" (a prefix's parts never
 * hold "_": service/names.ts), or `_root` for ".".
 */
export function generationsKey(d: DistributionId): string {
  return `${d.prefix === '.' ? '_root' : d.prefix.replace(/\//g, '_')}/${d.distribution}`;
}

/** A `generationsKey` as a valid prefix and distribution make it (service/names.ts). */
const KEY = /^(_root|[A-Za-z0-9][A-Za-z0-9.+~-]*(?:_[A-Za-z0-9][A-Za-z0-9.+~-]*)*)\/([A-Za-z0-9][A-Za-z0-9._-]*)$/;

/** The distribution a `generationsKey` names; undefined for a key no distribution has. */
export function distributionAt(key: string): DistributionId | undefined {
  const m = KEY.exec(key);
  if (!m) return undefined;
  return { prefix: m[1] === '_root' ? '.' : m[1]!.replace(/_/g, '/'), distribution: m[2]! };
}

/** A generation being written, not yet live. */
export interface Draft extends DistributionId {
  /** generations/<prefix>/<dist> */
  root: string;
  generation: number;
  /** root/<generation> */
  dir: string;
  /** The live generation (0: none), its directory and manifest. */
  live: number;
  liveDir: string;
  previous?: Manifest;
}

/** Where a published prefix lives under the public root ("." is the root itself). */
export function prefixDir(publicDir: string, prefix: string): string {
  return prefix === '.' ? publicDir : join(publicDir, prefix);
}

export class Generations {
  /** Pruning of old generations runs after a publish has answered; the next one waits for it. */
  private readonly pruning = new Map<string, Promise<void>>();
  /** Drafts whose files are durable: only those may go live. */
  private readonly sealed = new WeakSet<Draft>();
  /** Told of each generation directory about to be pruned (so a cache of it forgets it). */
  onPrune?: (dir: string) => void;

  constructor(
    private readonly publicDir: string,
    private readonly generationsDir: string,
    private readonly keep: CarryPolicy,
  ) {}

  root(d: DistributionId): string {
    return join(this.generationsDir, generationsKey(d));
  }

  link(d: DistributionId): string {
    return join(prefixDir(this.publicDir, d.prefix), 'dists', d.distribution);
  }

  /**
   * A new, empty generation directory, numbered past the live one, the last recorded
   * (`recorded`) and any left on disk by an attempt that never went live.
   */
  async begin(d: DistributionId, recorded: number): Promise<Draft> {
    const root = this.root(d);
    await this.pruning.get(root);
    const live = await this.liveGeneration(d);
    await mkdir(root, { recursive: true });
    const existing = (await readdir(root)).map(Number).filter((n) => Number.isInteger(n));
    const generation = Math.max(live, recorded, ...existing) + 1;
    const dir = join(root, String(generation));
    await mkdir(dir, { recursive: true });
    const previous = await this.readManifest(root, live);
    return { prefix: d.prefix, distribution: d.distribution, root, generation, dir, live, liveDir: join(root, String(live)), ...(previous ? { previous } : {}) };
  }

  /**
   * Makes the draft durable before it can become visible: writes its manifest, dates every file
   * this publish wrote (`written`, the manifest too) the Release Date, fsyncs them and every
   * directory (for the entries, hard links included), then `alsoDirs` and the generation's own entry.
   *
   * The date: apt asks for InRelease with If-Modified-Since (seconds), and a new InRelease
   * written in the same second as the one a client holds would otherwise be answered 304.
   */
  async seal(draft: Draft, manifest: Manifest, written: string[], alsoDirs: string[] = []): Promise<void> {
    const files = [...written, join(draft.dir, 'manifest.json')];
    await writeFile(files[files.length - 1]!, JSON.stringify(manifest));
    await Promise.all(files.map((p) => utimes(p, manifest.date, manifest.date)));
    for (const path of files) {
      const fh = await open(path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    const visit = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) if (e.isDirectory()) await visit(join(d, e.name));
      await fsyncDir(d);
    };
    await visit(draft.dir);
    for (const d of alsoDirs) await fsyncDir(d);
    await fsyncDir(draft.root); // the new generation's (and segments') directory entry
    this.sealed.add(draft);
  }

  /**
   * The atomic step: dists/<dist> now names the sealed draft. Then prunes, without waiting:
   * failures are harmless, the next publish prunes whatever is still there.
   */
  async swap(draft: Draft, now: number): Promise<void> {
    if (!this.sealed.has(draft)) throw new Error(`generation ${draft.dir} is not sealed: refusing to make it live`);
    await this.point(draft, draft.dir);
    this.startPrune(draft.root, draft.generation, now, true);
  }

  /**
   * Makes generation `n`, already complete on disk (a verified copy of a generation another
   * server published on the object store: remote-generations.ts), the local live one. `exact`
   * (the publisher, under the publish lock): also drops local generations numbered past it,
   * attempts that never went live; a reader leaves those alone (a publish may be writing one).
   */
  async adopt(d: DistributionId, n: number, now: number, exact = true): Promise<void> {
    const root = this.root(d);
    await this.pruning.get(root);
    await this.point(d, join(root, String(n)));
    this.startPrune(root, n, now, exact);
  }

  private async point(d: DistributionId, dir: string): Promise<void> {
    const link = this.link(d);
    await mkdir(dirname(link), { recursive: true });
    const existing = await lstat(link).catch(() => undefined);
    if (existing && !existing.isSymbolicLink()) await rm(link, { recursive: true, force: true });
    const tmp = tempName(link);
    await symlink(relative(dirname(link), dir), tmp);
    await rename(tmp, link);
    await fsyncDir(dirname(link));
  }

  /** Prunes without waiting: failures are harmless, the next publish prunes whatever is still there. */
  private startPrune(root: string, current: number, now: number, dropNewer: boolean): void {
    const pruned: Promise<void> = this.prune(root, current, now, dropNewer)
      .catch(() => undefined)
      .finally(() => {
        if (this.pruning.get(root) === pruned) this.pruning.delete(root);
      });
    this.pruning.set(root, pruned);
  }

  /** The generation dists/<dist> points at (0 when unpublished). */
  async liveGeneration(d: DistributionId): Promise<number> {
    const target = await readlink(this.link(d)).catch(() => undefined);
    const n = target === undefined ? NaN : Number(target.split('/').pop());
    return Number.isInteger(n) ? n : 0;
  }

  /** Removes generations that are neither among the last kept ones nor young enough, then unused segments. */
  private async prune(root: string, current: number, now: number, dropNewer: boolean): Promise<void> {
    for (const name of await readdir(root)) {
      const n = Number(name);
      if (!Number.isInteger(n) || n === current) continue;
      if (n > current) {
        if (!dropNewer) continue;
        this.onPrune?.(join(root, name));
        await rm(join(root, name), { recursive: true, force: true }); // an attempt that crashed
        continue;
      }
      if (current - n < this.keep.keepGenerations) continue;
      const m = await this.readManifest(root, n);
      if (m && now - m.time < this.keep.keepSeconds) continue;
      this.onPrune?.(join(root, name));
      await rm(join(root, name), { recursive: true, force: true });
    }
    await pruneSegments(this.generationsDir, root);
  }

  /** Resolves once no pruning runs (before the data directory is closed). */
  async idle(): Promise<void> {
    await Promise.all(this.pruning.values());
  }

  /** Every distribution with a directory here. */
  async distributions(): Promise<DistributionId[]> {
    const found: DistributionId[] = [];
    const dirs = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const id of await dirs(this.generationsDir)) {
      for (const name of await dirs(join(this.generationsDir, id))) {
        const d = distributionAt(`${id}/${name}`);
        if (d) found.push(d);
      }
    }
    return found;
  }

  /** Unpublishes: dists/<dist> and every generation go. */
  async remove(d: DistributionId): Promise<void> {
    await this.pruning.get(this.root(d));
    await rm(this.link(d), { force: true, recursive: true });
    await rm(this.root(d), { recursive: true, force: true });
  }

  private async readManifest(root: string, generation: number): Promise<Manifest | undefined> {
    if (generation <= 0) return undefined;
    return readFile(join(root, String(generation), 'manifest.json'), 'utf8').then(
      (t) => JSON.parse(t) as Manifest,
      () => undefined,
    );
  }
}
