// The metadata store: packages, local repos, snapshots and published distributions, held in
// memory and made durable by an append-only journal (one fsync per committed batch) plus a
// periodic full snapshot. A crash at any point leaves the last committed batch: a torn journal
// tail is cut on open, and nothing is acknowledged before its journal write is on disk.

import { open, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from './atomic.js';

export interface PackageFile {
  /** Canonical file name in the pool: name_version_arch.deb (no epoch). */
  filename: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

export interface PackageRecord {
  /** aptly's key: "P<arch> <name> <version> <fileshash>". */
  key: string;
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  /** The control paragraph exactly as in the package's control file. */
  control: string;
  file: PackageFile;
}

export interface RepoRecord {
  name: string;
  comment: string;
  defaultDistribution: string;
  defaultComponent: string;
}

export interface SnapshotRecord {
  name: string;
  description: string;
  createdAt: string;
  sourceKind: 'local' | 'snapshot' | 'repo';
  sources: string[];
  packages: string[];
}

export interface PublishSource {
  component: string;
  name: string;
}

export interface PublishRecord {
  /** "." or a path like "debian/stable". */
  prefix: string;
  distribution: string;
  sourceKind: 'local' | 'snapshot';
  sources: PublishSource[];
  architectures: string[];
  origin: string;
  label: string;
  suite: string;
  codename: string;
  notAutomatic: string;
  butAutomaticUpgrades: string;
  acquireByHash: boolean;
  skipContents: boolean;
  multiDist: boolean;
  signedBy: string;
  /** Publish generation and its Release Date (strictly increasing). */
  generation: number;
  lastDate: number;
  /** Architectures of the live generation (when none were fixed at creation). */
  publishedArchitectures?: string[];
  /** aptly 1.6's staged source list (/sources), applied by POST .../update. */
  staged?: PublishSource[];
}

export type Op =
  | { op: 'pkg'; rec: PackageRecord }
  | { op: 'pkg-del'; key: string }
  | { op: 'repo'; repo: RepoRecord }
  | { op: 'repo-del'; name: string }
  | { op: 'repo-add'; name: string; keys: string[] }
  | { op: 'repo-rm'; name: string; keys: string[] }
  | { op: 'snap'; snap: SnapshotRecord }
  | { op: 'snap-del'; name: string }
  | { op: 'pub'; pub: PublishRecord }
  | { op: 'pub-del'; prefix: string; distribution: string };

interface SnapshotFile {
  format: 1;
  journal: number;
  packages: PackageRecord[];
  repos: (RepoRecord & { packages: string[] })[];
  snapshots: SnapshotRecord[];
  publishes: PublishRecord[];
}

export function identity(p: Pick<PackageRecord, 'name' | 'version' | 'architecture'>): string {
  return `${p.name} ${p.version} ${p.architecture}`;
}

export function publishId(prefix: string, distribution: string): string {
  return `${prefix}\u0000${distribution}`;
}

const COMPACT_BYTES = 64 << 20;

export class Store {
  readonly packages = new Map<string, PackageRecord>();
  readonly repos = new Map<string, RepoRecord>();
  readonly repoPackages = new Map<string, Set<string>>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly publishes = new Map<string, PublishRecord>();
  /** "name version arch" → keys of packages with that identity (conflict checks). */
  readonly byIdentity = new Map<string, Set<string>>();

  private journal!: FileHandle;
  private journalNumber = 0;
  private journalBytes = 0;

  private constructor(private readonly dir: string) {}

  static async open(dir: string): Promise<Store> {
    const store = new Store(dir);
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
      }
      for (const s of snapshot.snapshots) this.snapshots.set(s.name, s);
      for (const p of snapshot.publishes) this.publishes.set(publishId(p.prefix, p.distribution), p);
      this.journalNumber = snapshot.journal;
    }
    const path = this.journalPath(this.journalNumber);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    let good = 0;
    for (const line of text.split('\n')) {
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

  /** Makes a batch durable, then applies it. Callers serialise commits (see Mutex). */
  async commit(batch: Op[]): Promise<void> {
    if (batch.length === 0) return;
    const line = `${JSON.stringify(batch)}\n`;
    await this.journal.write(line);
    await this.journal.datasync();
    this.journalBytes += Buffer.byteLength(line);
    for (const op of batch) this.apply(op);
    if (this.journalBytes > COMPACT_BYTES) await this.compact();
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
        const rec = this.packages.get(op.key);
        this.packages.delete(op.key);
        if (rec) this.byIdentity.get(identity(rec))?.delete(op.key);
        break;
      }
      case 'repo':
        this.repos.set(op.repo.name, op.repo);
        if (!this.repoPackages.has(op.repo.name)) this.repoPackages.set(op.repo.name, new Set());
        break;
      case 'repo-del':
        this.repos.delete(op.name);
        this.repoPackages.delete(op.name);
        break;
      case 'repo-add': {
        const set = this.repoPackages.get(op.name);
        if (set) for (const k of op.keys) set.add(k);
        break;
      }
      case 'repo-rm': {
        const set = this.repoPackages.get(op.name);
        if (set) for (const k of op.keys) set.delete(k);
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
    }
  }

  /** Writes the whole state, then starts a new journal: the old one is dropped only after. */
  async compact(): Promise<void> {
    const next = this.journalNumber + 1;
    const snapshot: SnapshotFile = {
      format: 1,
      journal: next,
      packages: [...this.packages.values()],
      repos: [...this.repos.values()].map((r) => ({ ...r, packages: [...(this.repoPackages.get(r.name) ?? [])] })),
      snapshots: [...this.snapshots.values()],
      publishes: [...this.publishes.values()],
    };
    const fresh = await open(this.journalPath(next), 'w');
    await fresh.sync();
    await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(snapshot));
    const old = this.journalPath(this.journalNumber);
    await this.journal.close();
    this.journal = fresh;
    this.journalNumber = next;
    this.journalBytes = 0;
    // state.json now names the new journal; the old one is garbage whatever happens next.
    await unlink(old).catch(() => undefined);
    await fsyncDir(this.dir);
  }

  /** Package keys referenced by any repo or snapshot. */
  referencedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const set of this.repoPackages.values()) for (const k of set) keys.add(k);
    for (const s of this.snapshots.values()) for (const k of s.packages) keys.add(k);
    return keys;
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}
