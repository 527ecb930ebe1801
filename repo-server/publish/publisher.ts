// Publishing a distribution so that an `apt-get update` in flight never sees a half state.
// This module only orchestrates; each step is its own module:
//   pool-check.ts     the pool paths the indexes will name, recorded as served first
//   index-writer.ts   component × architecture × index type (index-types.ts): reused or written
//   by-hash.ts        by-hash names, and those of recent generations carried over
//   release-writer.ts Release, InRelease, Release.gpg, and the strictly increasing Release Date
//   generations.ts    the generation directory: manifest, Release-date mtimes, fsync, atomic swap, prune
//   remote-generations.ts  with an object store for generations: the sealed draft PUT there
//                     (InRelease last) before the caller commits the pointer; old ones deleted
//
// Package files are not copied or linked into the tree: the published pool is a map (pool
// path → blob) recorded durably before the generation that names the paths goes live, and
// served from the blob store (see http/static/pool-files.ts).

import type { Signer } from '../pgp/signer.js';
import type { PackageRecord, PublishRecord } from '../storage/store.js';
import { ArchitectureScan } from './architectures.js';
import { carryByHash } from './by-hash.js';
import { Generations, generationsKey, type DistributionId } from './generations.js';
import type { IndexType } from './index-type.js';
import { INDEX_TYPES } from './index-types.js';
import { writeIndexes } from './index-writer.js';
import { PoolCheck, recordDir, type PublishedPool } from './pool-check.js';
import { nextReleaseDate, writeRelease } from './release-writer.js';
import { Segments } from './segments.js';
import { RemoteGenerations } from './remote-generations.js';
import type { ByteStore } from '../storage/bytes.js';

export { prefixDir } from './generations.js';
export { PoolClashError, type PublishedPool } from './pool-check.js';

export interface PublisherOptions {
  /** Generations whose by-hash files stay reachable (≥ 3: a client may hold any of the last 3 InRelease). */
  keepGenerations: number;
  /** ...and at least this long. */
  keepSeconds: number;
  /** Architectures used when a distribution holds only Architecture: all packages. */
  defaultArchitectures: string[];
  validForSeconds?: number;
  compressXz: boolean;
  /**
   * Where a group without a shared directory keeps its published generations (the S3 byte
   * store): what is live is then the publish record's generation, not a local symlink.
   */
  generationStore?: ByteStore;
}

export interface PublishedGeneration {
  generation: number;
  date: number;
  architectures: string[];
  packages: number;
  /** Milliseconds per step (for the log: where a slow publish spends its time). */
  ms: { pool: number; indexes: number; release: number; sync: number; upload?: number; swap: number };
}

export class Publisher {
  private readonly poolCheck: PoolCheck;
  private readonly generations: Generations;
  private readonly architectures: ArchitectureScan;
  private readonly indexTypes: IndexType[] = INDEX_TYPES.map((make) => make());
  /** Per generations root: the generation this process made live last. */
  private readonly lastMade = new Map<string, number>();
  /** Set when generations live on an object store (options.generationStore). */
  readonly remote: RemoteGenerations | undefined;

  constructor(
    publicDir: string,
    private readonly generationsDir: string,
    private readonly pool: PublishedPool,
    private readonly signer: Signer,
    private readonly options: PublisherOptions,
  ) {
    this.poolCheck = new PoolCheck(pool);
    this.generations = new Generations(publicDir, generationsDir, options);
    const remote = options.generationStore ? new RemoteGenerations(options.generationStore, this.generations, generationsDir, options) : undefined;
    this.remote = remote;
    if (remote) this.generations.onPrune = (dir) => remote.forget(dir);
    this.architectures = new ArchitectureScan(options.defaultArchitectures);
  }

  async publish(
    rec: PublishRecord,
    components: Map<string, PackageRecord[]>,
    { now = Math.floor(Date.now() / 1000), sign = true, forceOverwrite = false, signer }: { now?: number; sign?: boolean; forceOverwrite?: boolean; signer?: Signer } = {},
  ): Promise<PublishedGeneration> {
    const t0 = performance.now();
    // On an object store the record is the truth: its generation becomes the local previous
    // one (fetched if another server published it), and what it left behind is deleted.
    const present = this.remote ? await this.remote.prepare(rec, rec.generation, now) : undefined;
    const draft = await this.generations.begin(rec, rec.generation);
    // Another server of a group published this distribution since (shared directory): what
    // this process cached of its own last build (index chunks, segments, pool checks) may name
    // files that server's pruning removed. Start from the disk instead.
    const made = this.lastMade.get(draft.root);
    if (made !== undefined && made !== draft.live) {
      for (const t of this.indexTypes) t.forget(draft.root);
      this.poolCheck.forget(rec.prefix);
    }
    const architectures = this.architectures.of(rec.architectures, components);
    // MultiDist (aptly 1.6): pool/<dist>/<component>/..., so distributions sharing a prefix may
    // carry different builds under the same file name.
    const area = (component: string): string => (rec.multiDist ? `${rec.distribution}/${component}` : component);
    // Pool paths first: every index we are about to publish must name a path that is served.
    // ForceOverwrite: a rebuild whose pool paths hold other bytes is served beside them (pool-check.ts).
    await this.poolCheck.publish(rec.prefix, rec.distribution, components, area, forceOverwrite);

    const tPool = performance.now();
    const segments = new Segments(this.generationsDir, draft.root, draft.generation);
    const idx = await writeIndexes({
      types: this.indexTypes,
      components,
      architectures,
      area,
      dirOf: (a, p) => recordDir(this.pool, rec.prefix, a, p),
      release: { archive: rec.suite || rec.distribution, origin: rec.origin, label: rec.label, acquireByHash: rec.acquireByHash },
      genDir: draft.dir,
      generation: draft.generation,
      now,
      ...(draft.previous ? { previous: { dir: draft.liveDir, indexes: draft.previous.indexes } } : {}),
      publish: { genRoot: draft.root, segments, compressXz: this.options.compressXz },
    });
    // Carry the by-hash files of recent generations, so older InRelease files stay usable.
    const byHash = draft.previous ? await carryByHash(draft.previous.byHash, draft.liveDir, draft.dir, idx.byHash, draft.generation, now, this.options) : idx.byHash;

    const date = nextReleaseDate(now, rec.lastDate, draft.previous?.date);
    const tIndexes = performance.now();
    const release = await writeRelease(
      draft.dir,
      {
        origin: rec.origin,
        label: rec.label,
        suite: rec.suite,
        codename: rec.codename,
        date,
        ...(this.options.validForSeconds ? { validUntil: date + this.options.validForSeconds } : {}),
        // Release lists binary architectures only (Debian and aptly): Sources is found by its path.
        architectures: architectures.filter((a) => a !== 'source'),
        components: [...components.keys()],
        notAutomatic: rec.notAutomatic,
        butAutomaticUpgrades: rec.butAutomaticUpgrades,
        acquireByHash: rec.acquireByHash,
        signedBy: rec.signedBy,
        ...(rec.version ? { version: rec.version } : {}),
      },
      idx.files,
      sign ? (signer ?? this.signer) : undefined,
    );
    const tRelease = performance.now();
    await this.generations.seal(
      draft,
      { generation: draft.generation, time: now, date, indexes: idx.indexes, byHash },
      [...idx.written, ...release],
      segments.used ? [segments.dir] : [],
    );
    for (const done of idx.durable) done();
    const tSync = performance.now();
    // Every object on the store before anything may name the generation.
    if (this.remote && present) await this.remote.upload(draft, now, present);
    const tUpload = performance.now();

    await this.generations.swap(draft, now);
    this.lastMade.set(draft.root, draft.generation);
    const tSwap = performance.now();
    const ms = (a: number, b: number): number => Math.round(b - a);
    return {
      generation: draft.generation,
      date,
      architectures,
      packages: [...components.values()].reduce((n, pkgs) => n + pkgs.length, 0),
      ms: { pool: ms(t0, tPool), indexes: ms(tPool, tIndexes), release: ms(tIndexes, tRelease), sync: ms(tRelease, tSync), ...(this.remote ? { upload: ms(tSync, tUpload) } : {}), swap: ms(tUpload, tSwap) },
    };
  }

  /** Resolves once no pruning runs (before the data directory is closed). */
  async idle(): Promise<void> {
    await this.generations.idle();
  }

  /** Every distribution with generations on this server's disk or on the object store. */
  async storedDistributions(): Promise<DistributionId[]> {
    const all = [...(await this.generations.distributions()), ...((await this.remote?.distributions()) ?? [])];
    return [...new Map(all.map((d) => [generationsKey(d), d])).values()];
  }

  async unpublish(rec: Pick<PublishRecord, 'prefix' | 'distribution'>): Promise<void> {
    // The prefix's pool may be dropped with its last distribution: forget what it held.
    this.poolCheck.forget(rec.prefix);
    const root = this.generations.root(rec);
    for (const t of this.indexTypes) t.forget(root);
    await this.generations.remove(rec);
    await this.remote?.remove(rec);
  }
}
