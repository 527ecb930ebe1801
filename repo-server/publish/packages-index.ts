// The Packages index of a component/architecture: binary-<arch>/Packages(.gz, .xz), or for
// .udeb packages debian-installer/binary-<arch>/Packages (written only when the component has
// a .udeb, as aptly; a .udeb is never in the plain index, which apt would install from).
//
// Stanzas are in the sources' order (a repo's: the order packages were added), so an added
// package lands in the last chunk of Packages.gz and the file is the previous one with a new
// tail (apt does not need Packages sorted). Everything that keeps that cheap lives here: per
// index its last input (extended when the component's list only grew), per pool area each
// record's index item, and per index the compressed chunks of its last build.

import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor } from '../../deb/compression.js';
import type { PackageRecord } from '../storage/store.js';
import { extendsArray, markExtends } from './append-only.js';
import { ChunkedGzipIndex, indexItem, type IndexItem, type IndexPlan } from './chunked-gzip.js';
import { packagesStanza } from './indexes.js';
import type { FileDigest, IndexPublish, IndexTarget, IndexType, PreparedIndex, WrittenIndex } from './index-type.js';
import { writePieces } from './pieces.js';
import type { SplicedIndex } from './segments.js';
import { renderSplice, SPLICE_SUFFIX } from './spliced-files.js';

/**
 * Large indexes ship Packages.gz only (as Debian's own archive does without the plain file):
 * it is rebuilt from cached chunks, so publishing stays cheap however large the repo grows.
 */
export const SMALL_INDEX = 2000;

/**
 * Indexes from this size on are stored as splices (see spliced-files.ts); smaller ones are
 * plain files, as cheap to write whole as to splice.
 */
export const SPLICE_MIN_BYTES = 1 << 20;

/** Part of every index digest: changed when what an index holds, or its order, is built differently. */
const INDEX_FORMAT = 'source-order+plain-listed';

interface IndexInput {
  /** The component's packages this was made from (a copy: never changed afterwards). */
  pkgs: PackageRecord[];
  /** Those of the index's architecture (and "all"), in order. */
  selected: PackageRecord[];
  items: IndexItem[];
}

/** A .udeb's record: its pool file name says so (service/package-files.ts). */
export const isUdeb = (p: Pick<PackageRecord, 'file'>): boolean => p.file.filename.endsWith('.udeb');

async function writeXz(text: Buffer, path: string): Promise<void> {
  await pipeline(Readable.from([text]), createCompressor({ kind: 'xz', level: 6 }), createWriteStream(path));
}

export class PackagesIndex implements IndexType {
  readonly name: string;
  readonly directoryRelease = true;
  /** `installer`: the debian-installer index of .udeb packages, instead of the plain one. */
  constructor(private readonly installer = false) {
    this.name = installer ? 'debian-installer Packages' : 'Packages';
  }
  /** Compressed chunks of each index's last build (see chunked-gzip.ts). */
  private readonly caches = new Map<string, ChunkedGzipIndex<SplicedIndex>>();
  /** Per index: its last input, packages and items (see input). */
  private readonly inputs = new Map<string, IndexInput>();
  /**
   * Per distribution and pool area, each record's index item: a re-publish of 100k packages then does a WeakMap
   * lookup per package instead of building paths and ids (records are immutable objects of the store).
   */
  private readonly items = new Map<string, WeakMap<PackageRecord, IndexItem>>();

  architectures(distribution: string[]): string[] {
    // "source" has a Sources index (sources-index.ts), not a binary-source/Packages.
    return distribution.filter((a) => a !== 'source');
  }

  dir(component: string, architecture: string): string {
    return this.installer ? `${component}/debian-installer/binary-${architecture}` : `${component}/binary-${architecture}`;
  }

  wanted(packages: readonly PackageRecord[]): boolean {
    return !this.installer || packages.some(isUdeb);
  }

  /** The directory: the manifests of generations already published use it. */
  key(component: string, architecture: string): string {
    return this.dir(component, architecture);
  }

  prepare(t: IndexTarget, pub: IndexPublish): PreparedIndex {
    const cacheKey = `${pub.genRoot}\0${this.dir(t.component, t.architecture)}`;
    const { selected, items } = this.input(`${cacheKey}\0${t.area}`, t.packages, t.architecture, `${pub.genRoot}\0${t.area}`, t.dirOf);
    let cache = this.caches.get(cacheKey);
    if (!cache) this.caches.set(cacheKey, (cache = new ChunkedGzipIndex<SplicedIndex>()));
    const plan = cache.plan(items, `${INDEX_FORMAT}\0${pub.compressXz}\0${t.area}`);
    const chunks = cache;
    return { digest: plan.digest, write: (absDir) => this.write(chunks, plan, selected.length <= SMALL_INDEX, absDir, pub) };
  }

  private async write(cache: ChunkedGzipIndex<SplicedIndex>, plan: IndexPlan, small: boolean, absDir: string, pub: IndexPublish): Promise<WrittenIndex> {
    const built = await cache.build(plan, small);
    const gz: FileDigest = { size: built.size, sha256: built.sha256, sha512: built.sha512 };
    const out: WrittenIndex = { names: [], digests: {}, listed: {}, written: [] };
    if (built.size >= SPLICE_MIN_BYTES) {
      const descriptor = `Packages.gz${SPLICE_SUFFIX}`;
      const { splice, segment } = await pub.segments.write(built, '.gz');
      await writeFile(join(absDir, descriptor), renderSplice({ size: built.size, sha256: built.sha256, parts: splice.parts }));
      if (segment) out.written.push(segment);
      out.written.push(join(absDir, descriptor));
      out.digests[descriptor] = gz;
      out.names.push(descriptor);
      // The next build may keep ranges of these segments only once they are durable.
      out.durable = () => {
        cache.written = splice;
      };
    } else {
      await writePieces(join(absDir, 'Packages.gz'), built.pieces, 'wx');
      out.written.push(join(absDir, 'Packages.gz'));
      out.digests['Packages.gz'] = gz;
      out.names.push('Packages.gz');
    }
    const plain: FileDigest = { size: built.length, sha256: built.textSha256, sha512: built.textSha512 };
    // apt looks an index up by its plain name (main/binary-amd64/Packages) and silently skips
    // it when only Packages.gz is listed: a large index lists the plain file it does not ship.
    if (!built.text) out.listed = { Packages: plain };
    else {
      out.names.unshift('Packages');
      await writeFile(join(absDir, 'Packages'), built.text);
      out.written.push(join(absDir, 'Packages'));
      out.digests.Packages = plain;
      if (pub.compressXz) {
        out.names.push('Packages.xz');
        await writeXz(built.text, join(absDir, 'Packages.xz'));
        out.written.push(join(absDir, 'Packages.xz'));
      }
    }
    return out;
  }

  /**
   * The packages of one index and their items. When the component's input only grew since the
   * last publish (packages appended), the last result is extended instead of rebuilt.
   */
  private input(key: string, pkgs: PackageRecord[], arch: string, area: string, dirOf: (p: PackageRecord) => string): IndexInput {
    const installer = this.installer;
    const ofArch = (p: PackageRecord): boolean => (p.architecture === arch || p.architecture === 'all') && isUdeb(p) === installer;
    const prev = this.inputs.get(key);
    let next: IndexInput;
    if (prev && extendsArray(prev.pkgs, pkgs)) {
      const added = pkgs.slice(prev.pkgs.length).filter(ofArch);
      if (added.length === 0) next = { ...prev, pkgs };
      else {
        next = { pkgs, selected: prev.selected.concat(added), items: prev.items.concat(added.map((p) => this.itemFor(area, dirOf, p))) };
        markExtends(prev.items, next.items);
      }
    } else {
      const selected = pkgs.filter(ofArch);
      next = { pkgs, selected, items: selected.map((p) => this.itemFor(area, dirOf, p)) };
    }
    this.inputs.set(key, next);
    return next;
  }

  /** `area` is per distribution (genRoot and pool area): where a record is served depends on its prefix's pool. */
  private itemFor(area: string, dirOf: (p: PackageRecord) => string, p: PackageRecord): IndexItem {
    let byRec = this.items.get(area);
    if (!byRec) this.items.set(area, (byRec = new WeakMap()));
    let item = byRec.get(p);
    if (!item) {
      const path = `${dirOf(p)}/${p.file.filename}`;
      item = indexItem(`${p.key}\0${path}`, p.name, () => packagesStanza(p, path));
      byRec.set(p, item);
    }
    return item;
  }

  forget(genRoot: string): void {
    for (const m of [this.caches, this.inputs, this.items]) for (const key of [...m.keys()]) if (key.startsWith(`${genRoot}\0`)) m.delete(key);
  }
}
