// Publishing a distribution so that an `apt-get update` in flight never sees a half state.
//
// Package files are not copied or linked into the tree: the published pool is a map (pool
// path → blob) recorded durably before the generation that names the paths goes live, and
// served from the blob store (see api/pool-files.ts).
//
// Each publish writes a whole new generation directory: index files (and their by-hash
// copies), Release, InRelease, Release.gpg. By-hash files of recent generations are carried
// into the new one, so a client still holding an older InRelease finds every index it names.
// The one atomic step is a rename of the dists/<dist> symlink onto the new generation.
// Unchanged component/architecture indexes are hard-linked from the previous generation; large
// ones are splices of immutable segments shared across generations (see spliced-files.ts).

import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readFile, readdir, readlink, rename, rm, stat, symlink, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor } from '../../deb/compression.js';
import { digestFile } from '../../lib/digests.js';
import type { Signer } from '../pgp/signer.js';
import { fsyncDir, linkIfMissing, tempName } from '../../lib/fs-atomic.js';
import type { PackageRecord, PublishRecord } from '../storage/store.js';
import { extendsArray, markExtends } from './append-only.js';
import { ChunkedGzipIndex, indexItem, type ChunkedIndex, type IndexItem } from './chunked-gzip.js';
import { readSplice, renderSplice, sliceParts, SPLICE_SUFFIX, type Splice, type SplicePart } from './spliced-files.js';
import { packagesStanza, poolPath, renderComponentRelease, renderRelease, type IndexFileHash } from './indexes.js';

export interface PublisherOptions {
  /** Generations whose by-hash files stay reachable (≥ 3: a client may hold any of the last 3 InRelease). */
  keepGenerations: number;
  /** ...and at least this long. */
  keepSeconds: number;
  /** Architectures used when a distribution holds only Architecture: all packages. */
  defaultArchitectures: string[];
  validForSeconds?: number;
  compressXz: boolean;
}

interface ByHashEntry {
  /** Path relative to the generation directory. */
  path: string;
  generation: number;
  time: number;
}

interface FileDigest {
  size: number;
  sha256: string;
  sha512: string;
}

interface Manifest {
  generation: number;
  time: number;
  /** The Release Date (the next one must be strictly later: apt ignores an older Release). */
  date: number;
  /** Per "component/binary-arch": digest of its content, its files and their digests. */
  indexes: Record<string, { digest: string; names: string[]; files?: Record<string, FileDigest>; listed?: Record<string, FileDigest> }>;
  byHash: ByHashEntry[];
}

interface IndexInput {
  /** The component's packages this was made from (a copy: never changed afterwards). */
  pkgs: PackageRecord[];
  /** Those of the index's architecture (and "all"), in order. */
  selected: PackageRecord[];
  items: IndexItem[];
}

/** Two different files would be published under one pool path (aptly: "file already exists and is different"). */
export class PoolClashError extends Error {
  constructor(readonly paths: string[]) {
    super(
      `a different file is already published as ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''}: ` +
        'distributions sharing a prefix need MultiDist to carry different builds of the same package',
    );
    this.name = 'PoolClashError';
  }
}

/** The published pool of each prefix: which blob each pool path serves. */
export interface PublishedPool {
  get(prefix: string, path: string): string | undefined;
  /** Records new paths durably; called before the generation naming them goes live. */
  add(prefix: string, files: [string, string][]): Promise<void>;
}

export interface PublishedGeneration {
  generation: number;
  date: number;
  architectures: string[];
  packages: number;
  /** Milliseconds per step (for the log: where a slow publish spends its time). */
  ms: { pool: number; indexes: number; release: number; sync: number; swap: number };
}

/** Where a published prefix lives under the public root ("." is the root itself). */
export function prefixDir(publicDir: string, prefix: string): string {
  return prefix === '.' ? publicDir : join(publicDir, prefix);
}

/**
 * Large indexes ship Packages.gz only (as Debian's own archive does without the plain file):
 * it is rebuilt from cached chunks, so publishing stays cheap however large the repo grows.
 */
const SMALL_INDEX = 2000;

/** Part of every index digest: changed when what an index holds, or its order, is built differently. */
const INDEX_FORMAT = 'source-order+plain-listed';

/** Writes `pieces` at `at`, IOV_MAX buffers per call, finishing any short write. */
async function writeAllAt(fh: FileHandle, pieces: Buffer[], at: number): Promise<void> {
  for (let i = 0; i < pieces.length; i += 1024) {
    const batch = pieces.slice(i, i + 1024);
    const want = batch.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(batch, at);
    if (bytesWritten < want) {
      // Rare for regular files: write the rest piece by piece.
      let done = bytesWritten;
      let pos = at + bytesWritten;
      for (const b of batch) {
        if (done >= b.length) {
          done -= b.length;
          continue;
        }
        const rest = b.subarray(done);
        done = 0;
        for (let off = 0; off < rest.length; ) {
          const r = await fh.write(rest, off, rest.length - off, pos);
          off += r.bytesWritten;
          pos += r.bytesWritten;
        }
      }
    }
    at += want;
  }
}

/** The built file's bytes from offset `from` on (views of its pieces, nothing copied). */
function piecesFrom(pieces: Buffer[], from: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = from;
  for (const p of pieces) {
    if (skip >= p.length) skip -= p.length;
    else {
      out.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
  }
  return out;
}

async function writePieces(path: string, pieces: Buffer[], flags: string): Promise<void> {
  const fh = await open(path, flags);
  try {
    await writeAllAt(fh, pieces, 0);
  } finally {
    await fh.close();
  }
}

/** Where the last build of a large index lives: the next one keeps its unchanged ranges. */
type SplicedIndex = Pick<Splice, 'size' | 'parts'>;

/**
 * Indexes from this size on are stored as splices (see spliced-files.ts); smaller ones are
 * plain files, as cheap to write whole as to splice.
 */
const SPLICE_MIN_BYTES = 1 << 20;
/** A splice with more parts is compacted: its parts after the first become one segment. */
const MAX_SPLICE_PARTS = 8;

async function writeXz(text: Buffer, path: string): Promise<void> {
  await pipeline(Readable.from([text]), createCompressor({ kind: 'xz', level: 6 }), createWriteStream(path));
}

export class Publisher {
  /** Compressed chunks of each index's last build (see chunked-gzip.ts). */
  private readonly indexCaches = new Map<string, ChunkedGzipIndex<SplicedIndex>>();
  /** Pruning of old generations runs after a publish has answered; the next one waits for it. */
  private readonly pruning = new Map<string, Promise<void>>();
  /**
   * Per prefix and pool area, the records already in the published pool, and per pool area each
   * record's index item: a re-publish of 100k packages then does a WeakSet/WeakMap lookup per
   * package instead of building paths and ids (records are immutable objects of the store).
   */
  private readonly linkedRecords = new Map<string, WeakSet<PackageRecord>>();
  private readonly items = new Map<string, WeakMap<PackageRecord, IndexItem>>();
  /** Per prefix, pool area and distribution: the input the last publish checked against the pool. */
  private readonly checked = new Map<string, PackageRecord[]>();
  /** Architectures found in recent component lists (a list without Architectures is scanned once). */
  private readonly lastComponentLists: { pkgs: PackageRecord[]; archs: Set<string> }[] = [];
  /** Per index: its last input, packages and items (see indexInput). */
  private readonly indexInputs = new Map<string, IndexInput>();

  /**
   * The packages of one index and their items. When the component's input only grew since the
   * last publish (packages appended), the last result is extended instead of rebuilt.
   */
  private indexInput(key: string, pkgs: PackageRecord[], arch: string, area: string): IndexInput {
    const ofArch = (p: PackageRecord): boolean => p.architecture === arch || p.architecture === 'all';
    const prev = this.indexInputs.get(key);
    let next: IndexInput;
    if (prev && extendsArray(prev.pkgs, pkgs)) {
      const added = pkgs.slice(prev.pkgs.length).filter(ofArch);
      if (added.length === 0) next = { ...prev, pkgs };
      else {
        next = { pkgs, selected: prev.selected.concat(added), items: prev.items.concat(added.map((p) => this.itemFor(area, p))) };
        markExtends(prev.items, next.items);
      }
    } else {
      const selected = pkgs.filter(ofArch);
      next = { pkgs, selected, items: selected.map((p) => this.itemFor(area, p)) };
    }
    this.indexInputs.set(key, next);
    return next;
  }

  private itemFor(area: string, p: PackageRecord): IndexItem {
    let byRec = this.items.get(area);
    if (!byRec) this.items.set(area, (byRec = new WeakMap()));
    let item = byRec.get(p);
    if (!item) {
      const path = poolPath(area, p.source, p.file.filename);
      item = indexItem(`${p.key}\0${path}`, p.name, () => packagesStanza(p, path));
      byRec.set(p, item);
    }
    return item;
  }

  constructor(
    private readonly publicDir: string,
    private readonly generationsDir: string,
    private readonly pool: PublishedPool,
    private readonly signer: Signer,
    private readonly options: PublisherOptions,
  ) {}

  private generationRoot(rec: Pick<PublishRecord, 'prefix' | 'distribution'>): string {
    const id = rec.prefix === '.' ? '_root' : rec.prefix.replace(/\//g, '_');
    return join(this.generationsDir, id, rec.distribution);
  }

  async publish(
    rec: PublishRecord,
    components: Map<string, PackageRecord[]>,
    { now = Math.floor(Date.now() / 1000), sign = true }: { now?: number; sign?: boolean } = {},
  ): Promise<PublishedGeneration> {
    const t0 = performance.now();
    const root = prefixDir(this.publicDir, rec.prefix);
    const genRoot = this.generationRoot(rec);
    await this.pruning.get(genRoot);
    // The file system, not the metadata, says what is live: a crash between the swap and the
    // metadata commit must not make the next publish overwrite the live generation.
    const live = await this.liveGeneration(root, rec.distribution);
    await mkdir(genRoot, { recursive: true });
    const existing = (await readdir(genRoot)).map(Number).filter((n) => Number.isInteger(n));
    const generation = Math.max(live, rec.generation, ...existing) + 1;
    const genDir = join(genRoot, String(generation));
    await mkdir(genDir, { recursive: true });
    const previous = await this.readManifest(genRoot, live);
    const prevDir = join(genRoot, String(live));

    const architectures = this.architecturesFor(rec, components);
    // MultiDist (aptly 1.6): pool/<dist>/<component>/..., so distributions sharing a prefix may
    // carry different builds under the same file name.
    const poolArea = (component: string): string => (rec.multiDist ? `${rec.distribution}/${component}` : component);
    // Pool paths first: every index we are about to publish must name a path that is served.
    let count = 0;
    const wanted = new Map<string, string>(); // pool path under the prefix → sha256
    const clashes = new Set<string>();
    const linkedNow: [WeakSet<PackageRecord>, PackageRecord][] = [];
    const checkedNow: [string, PackageRecord[]][] = [];
    for (const [component, pkgs] of components) {
      const treeKey = `${rec.prefix}\0${poolArea(component)}`;
      let done = this.linkedRecords.get(treeKey);
      if (!done) this.linkedRecords.set(treeKey, (done = new WeakSet()));
      count += pkgs.length;
      // What the last publish of this distribution checked is in the pool: when packages were
      // only appended since, only the new ones are looked at.
      const checkKey = `${treeKey}\0${rec.distribution}`;
      const prev = this.checked.get(checkKey);
      const from = prev && extendsArray(prev, pkgs) ? prev.length : 0;
      checkedNow.push([checkKey, pkgs]);
      for (let i = from; i < pkgs.length; i++) {
        const p = pkgs[i]!;
        if (done.has(p)) continue;
        linkedNow.push([done, p]);
        const path = poolPath(poolArea(component), p.source, p.file.filename);
        // A different file already published under the same name would make apt fail with a
        // hash mismatch (the index names the new one): refuse before anything changes.
        const published = this.pool.get(rec.prefix, path);
        if (published === p.file.sha256) continue;
        const other = wanted.get(path);
        if ((other !== undefined && other !== p.file.sha256) || published !== undefined) clashes.add(path);
        wanted.set(path, p.file.sha256);
      }
    }
    if (clashes.size > 0) throw new PoolClashError([...clashes].sort());
    if (wanted.size > 0) await this.pool.add(rec.prefix, [...wanted]);
    for (const [set, p] of linkedNow) set.add(p);
    for (const [key, pkgs] of checkedNow) this.checked.set(key, pkgs);

    const tPool = performance.now();
    const files: IndexFileHash[] = [];
    /** Files this publish wrote (the rest of the generation is hard links to durable files). */
    const written: string[] = [];
    // Digests of files written just now, known without reading them back.
    const known = new Map<string, FileDigest>();
    const byHash: ByHashEntry[] = [];
    const indexes: Manifest['indexes'] = {};
    let segmentCount = 0;
    const spliced: [ChunkedGzipIndex<SplicedIndex>, SplicedIndex][] = [];
    for (const [component, pkgs] of components) {
      for (const arch of architectures) {
        const dir = `${component}/binary-${arch}`;
        const absDir = join(genDir, dir);
        await mkdir(absDir, { recursive: true });
        // Index order is the sources' order (a repo's in the order packages were added): an
        // added package then lands in the last chunk, and the file is the previous one with a
        // new tail. apt does not need Packages sorted.
        const cacheKey = `${genRoot}\0${dir}`;
        const { selected, items } = this.indexInput(`${cacheKey}\0${poolArea(component)}`, pkgs, arch, poolArea(component));
        let cache = this.indexCaches.get(cacheKey);
        if (!cache) {
          cache = new ChunkedGzipIndex<SplicedIndex>();
          this.indexCaches.set(cacheKey, cache);
        }
        const small = selected.length <= SMALL_INDEX;
        const plan = cache.plan(items, `${INDEX_FORMAT}\0${this.options.compressXz}\0${poolArea(component)}`);
        const digest = plan.digest;
        const reused = previous?.indexes[dir];
        let names: string[];
        /**
         * Listed in the Release without being shipped: apt looks an index up by its plain name
         * (main/binary-amd64/Packages) and silently skips it when only Packages.gz is listed.
         */
        let listed: Record<string, FileDigest> = {};
        if (reused?.digest === digest) {
          listed = reused.listed ?? {};
          // Unchanged since the last generation: reuse its files (hard links, no recompression).
          names = reused.names;
          for (const n of names) {
            await linkIfMissing(join(prevDir, dir, n), join(absDir, n));
            const d = reused.files?.[n];
            if (d) known.set(`${dir}/${n}`, d);
          }
        } else {
          const built = await cache.build(plan, small);
          const gz: FileDigest = { size: built.size, sha256: built.sha256, sha512: built.sha512 };
          if (built.size >= SPLICE_MIN_BYTES) {
            const descriptor = `Packages.gz${SPLICE_SUFFIX}`;
            const { splice, segment } = await this.writeSplice(genRoot, `${generation}-${segmentCount++}.gz`, built);
            await writeFile(join(absDir, descriptor), renderSplice({ size: built.size, sha256: built.sha256, parts: splice.parts }));
            if (segment) written.push(segment);
            written.push(join(absDir, descriptor));
            known.set(`${dir}/${descriptor}`, gz);
            names = [descriptor];
            // The next build may keep ranges of these segments only once they are durable.
            spliced.push([cache, splice]);
          } else {
            await writePieces(join(absDir, 'Packages.gz'), built.pieces, 'wx');
            written.push(join(absDir, 'Packages.gz'));
            known.set(`${dir}/Packages.gz`, gz);
            names = ['Packages.gz'];
          }
          const plain: FileDigest = { size: built.length, sha256: built.textSha256, sha512: built.textSha512 };
          if (!built.text) listed = { Packages: plain };
          else {
            names.unshift('Packages');
            await writeFile(join(absDir, 'Packages'), built.text);
            written.push(join(absDir, 'Packages'));
            known.set(`${dir}/Packages`, plain);
            if (this.options.compressXz) {
              names.push('Packages.xz');
              await writeXz(built.text, join(absDir, 'Packages.xz'));
              written.push(join(absDir, 'Packages.xz'));
            }
          }
        }
        const fileDigests: Record<string, FileDigest> = {};
        written.push(join(absDir, 'Release'));
        await writeFile(
          join(absDir, 'Release'),
          renderComponentRelease({ archive: rec.suite || rec.distribution, origin: rec.origin, label: rec.label, component, architecture: arch, acquireByHash: rec.acquireByHash }),
        );
        for (const n of [...names, 'Release']) {
          // A splice is published under the file's own name; on disk it is `<name>.parts`.
          const spliced = n.endsWith(SPLICE_SUFFIX);
          const d = known.get(`${dir}/${n}`) ?? (await digestFile(join(absDir, n), ['sha256', 'sha512']));
          files.push({ path: `${dir}/${spliced ? n.slice(0, -SPLICE_SUFFIX.length) : n}`, ...d });
          if (n !== 'Release') fileDigests[n] = { size: d.size, sha256: d.sha256, sha512: d.sha512 };
          if (rec.acquireByHash && n !== 'Release') {
            for (const [algo, hex] of [['SHA256', d.sha256], ['SHA512', d.sha512]] as const) {
              const rel = `${dir}/by-hash/${algo}/${hex}${spliced ? SPLICE_SUFFIX : ''}`;
              await linkIfMissing(join(absDir, n), join(genDir, rel));
              byHash.push({ path: rel, generation, time: now });
            }
          }
        }
        for (const [n, d] of Object.entries(listed)) files.push({ path: `${dir}/${n}`, ...d });
        indexes[dir] = { digest, names, files: fileDigests, ...(Object.keys(listed).length > 0 ? { listed } : {}) };
      }
    }
    // Carry the by-hash files of recent generations, so older InRelease files stay usable.
    if (previous) {
      const mine = new Set(byHash.map((b) => b.path));
      for (const b of previous.byHash) {
        if (mine.has(b.path)) continue;
        const young = generation - b.generation < this.options.keepGenerations || now - b.time < this.options.keepSeconds;
        if (!young) continue;
        try {
          await linkIfMissing(join(prevDir, b.path), join(genDir, b.path));
          byHash.push(b);
          mine.add(b.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }

    const date = Math.max(now, rec.lastDate + 1, (previous?.date ?? 0) + 1);
    const tIndexes = performance.now();
    const release = renderRelease(
      {
        origin: rec.origin,
        label: rec.label,
        suite: rec.suite,
        codename: rec.codename,
        date,
        ...(this.options.validForSeconds ? { validUntil: date + this.options.validForSeconds } : {}),
        architectures,
        components: [...components.keys()],
        notAutomatic: rec.notAutomatic,
        butAutomaticUpgrades: rec.butAutomaticUpgrades,
        acquireByHash: rec.acquireByHash,
        signedBy: rec.signedBy,
      },
      files,
    );
    await writeFile(join(genDir, 'Release'), release);
    written.push(join(genDir, 'Release'));
    if (sign) {
      await writeFile(join(genDir, 'InRelease'), await this.signer.clearsign(release));
      await writeFile(join(genDir, 'Release.gpg'), await this.signer.detachSign(release));
      written.push(join(genDir, 'InRelease'), join(genDir, 'Release.gpg'));
    }
    const manifest: Manifest = { generation, time: now, date, indexes, byHash };
    await writeFile(join(genDir, 'manifest.json'), JSON.stringify(manifest));
    written.push(join(genDir, 'manifest.json'));
    // Every file this publish wrote is dated the Release Date, which strictly increases: apt asks
    // for InRelease with If-Modified-Since (seconds), and a new InRelease written in the same
    // second as the one a client holds would otherwise be answered 304 Not Modified.
    await Promise.all(written.map((p) => utimes(p, date, date)));
    const tRelease = performance.now();
    await this.syncTree(genDir, written);
    if (segmentCount > 0) await fsyncDir(join(genRoot, 'segments'));
    await fsyncDir(genRoot); // the new generation's (and segments') directory entry
    for (const [cache, splice] of spliced) cache.written = splice;
    const tSync = performance.now();

    await this.swap(root, rec.distribution, genDir);
    const tSwap = performance.now();
    // Failures are harmless: the next publish prunes whatever is still there.
    const pruned: Promise<void> = this.prune(genRoot, generation, now)
      .catch(() => undefined)
      .finally(() => {
        if (this.pruning.get(genRoot) === pruned) this.pruning.delete(genRoot);
      });
    this.pruning.set(genRoot, pruned);
    const ms = (a: number, b: number): number => Math.round(b - a);
    return {
      generation,
      date,
      architectures,
      packages: count,
      ms: { pool: ms(t0, tPool), indexes: ms(tPool, tIndexes), release: ms(tIndexes, tRelease), sync: ms(tRelease, tSync), swap: ms(tSync, tSwap) },
    };
  }

  /**
   * Stores a large built index as a splice: the previous build's ranges up to the first changed
   * byte, then one new segment with the rest. A splice that grew too many parts is compacted
   * (everything after its first part rewritten, or the whole file when that part is small).
   */
  private async writeSplice(genRoot: string, name: string, built: ChunkedIndex<SplicedIndex>): Promise<{ splice: SplicedIndex; segment?: string }> {
    let keep: SplicePart[] = [];
    const base = built.base;
    if (base && built.unchangedPrefix > 0) {
      keep = sliceParts(base.parts, built.unchangedPrefix);
      // Segments of a build whose generation never went live may be gone: then start afresh.
      const present = await Promise.all([...new Set(keep.map((p) => p[0]))].map((seg) => stat(join(this.generationsDir, seg)).then(() => true, () => false)));
      if (present.includes(false)) keep = [];
    }
    if (keep.length + 1 > MAX_SPLICE_PARTS) keep = keep[0]![2] * 2 >= built.size ? [keep[0]!] : [];
    const from = keep.reduce((n, p) => n + p[2], 0);
    if (from === built.size) return { splice: { size: built.size, parts: keep } };
    const segDir = join(genRoot, 'segments');
    await mkdir(segDir, { recursive: true });
    const path = join(segDir, name);
    // 'w', not 'wx': a segment of this name can only be left by an attempt that never went live.
    await writePieces(path, piecesFrom(built.pieces, from), 'w');
    return { splice: { size: built.size, parts: [...keep, [relative(this.generationsDir, path), 0, built.size - from]] }, segment: path };
  }

  /** Deletes segments that no splice of a remaining generation names. */
  private async pruneSegments(genRoot: string): Promise<void> {
    const segDir = join(genRoot, 'segments');
    const present = await readdir(segDir).catch(() => [] as string[]);
    if (present.length === 0) return;
    const used = new Set<string>();
    const visit = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await visit(join(d, e.name));
        else if (e.name.endsWith(SPLICE_SUFFIX)) for (const [seg] of (await readSplice(join(d, e.name))).parts) used.add(join(this.generationsDir, seg));
      }
    };
    for (const name of await readdir(genRoot)) if (Number.isInteger(Number(name))) await visit(join(genRoot, name));
    for (const name of present) if (!used.has(join(segDir, name))) await rm(join(segDir, name), { force: true });
  }

  /** The generation dists/<dist> points at (0 when unpublished). */
  private async liveGeneration(root: string, distribution: string): Promise<number> {
    const target = await readlink(join(root, 'dists', distribution)).catch(() => undefined);
    const n = target === undefined ? NaN : Number(target.split('/').pop());
    return Number.isInteger(n) ? n : 0;
  }

  /** The atomic step: dists/<dist> now names the new generation. */
  private async swap(root: string, distribution: string, genDir: string): Promise<void> {
    const link = join(root, 'dists', distribution);
    await mkdir(dirname(link), { recursive: true });
    const existing = await lstat(link).catch(() => undefined);
    if (existing && !existing.isSymbolicLink()) await rm(link, { recursive: true, force: true });
    const tmp = tempName(link);
    await symlink(relative(dirname(link), genDir), tmp);
    await rename(tmp, link);
    await fsyncDir(dirname(link));
  }

  /** Removes generations that are neither among the last kept ones nor young enough. */
  private async prune(genRoot: string, current: number, now: number): Promise<void> {
    for (const name of await readdir(genRoot)) {
      const n = Number(name);
      if (!Number.isInteger(n) || n === current) continue;
      if (n > current) {
        await rm(join(genRoot, name), { recursive: true, force: true }); // an attempt that crashed
        continue;
      }
      if (current - n < this.options.keepGenerations) continue;
      const m = await this.readManifest(genRoot, n);
      if (m && now - m.time < this.options.keepSeconds) continue;
      await rm(join(genRoot, name), { recursive: true, force: true });
    }
    await this.pruneSegments(genRoot);
  }

  /** Resolves once no pruning runs (before the data directory is closed). */
  async idle(): Promise<void> {
    await Promise.all(this.pruning.values());
  }

  async unpublish(rec: Pick<PublishRecord, 'prefix' | 'distribution'>): Promise<void> {
    await this.pruning.get(this.generationRoot(rec));
    // The prefix's pool may be dropped with its last distribution: forget what it held.
    for (const key of [...this.linkedRecords.keys()]) if (key.startsWith(`${rec.prefix}\0`)) this.linkedRecords.delete(key);
    for (const key of [...this.checked.keys()]) if (key.startsWith(`${rec.prefix}\0`)) this.checked.delete(key);
    const genRoot = `${this.generationRoot(rec)}\0`;
    for (const m of [this.indexCaches, this.indexInputs]) for (const key of [...m.keys()]) if (key.startsWith(genRoot)) m.delete(key);
    const link = join(prefixDir(this.publicDir, rec.prefix), 'dists', rec.distribution);
    await rm(link, { force: true, recursive: true });
    await rm(this.generationRoot(rec), { recursive: true, force: true });
  }

  private async readManifest(genRoot: string, generation: number): Promise<Manifest | undefined> {
    if (generation <= 0) return undefined;
    return readFile(join(genRoot, String(generation), 'manifest.json'), 'utf8').then(
      (t) => JSON.parse(t) as Manifest,
      () => undefined,
    );
  }

  private architecturesFor(rec: PublishRecord, components: Map<string, PackageRecord[]>): string[] {
    if (rec.architectures.length > 0) return [...rec.architectures].sort();
    const found = new Set<string>();
    for (const pkgs of components.values()) {
      // What an earlier list held is known: when this one only extends it, look at the new end.
      const prev = this.lastComponentLists.find((l) => extendsArray(l.pkgs, pkgs));
      const seen = { pkgs, archs: new Set(prev?.archs) };
      for (let i = prev?.pkgs.length ?? 0; i < pkgs.length; i++) if (pkgs[i]!.architecture !== 'all') seen.archs.add(pkgs[i]!.architecture);
      for (const a of seen.archs) found.add(a);
      this.lastComponentLists.unshift(seen);
      this.lastComponentLists.length = Math.min(this.lastComponentLists.length, 8);
    }
    return (found.size > 0 ? [...found] : this.options.defaultArchitectures).sort();
  }

  /**
   * Makes a new generation durable before it becomes visible: the files written for it, and
   * every directory (for the entries, hard links included, that it holds).
   */
  private async syncTree(dir: string, written: string[]): Promise<void> {
    for (const path of written) {
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
    await visit(dir);
  }
}
