// Before any index names a pool path, that path must be served: which pool files a publish adds
// to the prefix's published pool, and whether any would replace a different file there.
//
// A re-publish of 100k packages must not build 100k paths: per prefix and pool area, the
// records already in the published pool are remembered (a WeakSet: records are immutable
// objects of the store), and per distribution the list the last publish checked, so a list
// that only grew is checked from its old end.

import type { PackageRecord } from '../storage/store.js';
import { recordFiles } from '../storage/records.js';
import { extendsArray } from './append-only.js';
import { poolPath } from './indexes.js';

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

/** What a publish adds to the pool; `commit` once the pool holds it. */
export interface PoolAdditions {
  /** Pool path under the prefix → sha256 of the file it must serve. */
  wanted: [string, string][];
  /** Remembers the checked records (only after `PublishedPool.add` succeeded). */
  commit(): void;
}

export class PoolCheck {
  private readonly linked = new Map<string, WeakSet<PackageRecord>>();
  /** Per prefix, pool area and distribution: the input the last publish checked. */
  private readonly checked = new Map<string, PackageRecord[]>();

  constructor(private readonly pool: PublishedPool) {}

  /**
   * The pool files that `components` need and the pool lacks; throws PoolClashError (nothing
   * changed) when one would differ from what is or will be published under its path.
   * `area(component)` is the component's pool area (MultiDist: <dist>/<component>).
   */
  check(prefix: string, distribution: string, components: Map<string, PackageRecord[]>, area: (component: string) => string): PoolAdditions {
    const wanted = new Map<string, string>();
    const clashes = new Set<string>();
    const linkedNow: [WeakSet<PackageRecord>, PackageRecord][] = [];
    const checkedNow: [string, PackageRecord[]][] = [];
    for (const [component, pkgs] of components) {
      const treeKey = `${prefix}\0${area(component)}`;
      let done = this.linked.get(treeKey);
      if (!done) this.linked.set(treeKey, (done = new WeakSet()));
      // What the last publish of this distribution checked is in the pool: when packages were
      // only appended since, only the new ones are looked at.
      const checkKey = `${treeKey}\0${distribution}`;
      const prev = this.checked.get(checkKey);
      const from = prev && extendsArray(prev, pkgs) ? prev.length : 0;
      checkedNow.push([checkKey, pkgs]);
      for (let i = from; i < pkgs.length; i++) {
        const p = pkgs[i]!;
        if (done.has(p)) continue;
        linkedNow.push([done, p]);
        // A source package's files (.dsc, tarballs) all go beside each other.
        for (const f of recordFiles(p)) {
          const path = poolPath(area(component), p.source, f.filename);
          // A different file already published under the same name would make apt fail with a
          // hash mismatch (the index names the new one): refuse before anything changes.
          const published = this.pool.get(prefix, path);
          if (published === f.sha256) continue;
          const other = wanted.get(path);
          if ((other !== undefined && other !== f.sha256) || published !== undefined) clashes.add(path);
          wanted.set(path, f.sha256);
        }
      }
    }
    if (clashes.size > 0) throw new PoolClashError([...clashes].sort());
    return {
      wanted: [...wanted],
      commit: () => {
        for (const [set, p] of linkedNow) set.add(p);
        for (const [key, pkgs] of checkedNow) this.checked.set(key, pkgs);
      },
    };
  }

  /** Checks and records the additions in the published pool (durably, before any index names them). */
  async publish(prefix: string, distribution: string, components: Map<string, PackageRecord[]>, area: (component: string) => string): Promise<void> {
    const additions = this.check(prefix, distribution, components, area);
    if (additions.wanted.length > 0) await this.pool.add(prefix, additions.wanted);
    additions.commit();
  }

  /** The prefix's pool may be dropped with its last distribution: forget what it held. */
  forget(prefix: string): void {
    for (const m of [this.linked, this.checked]) for (const key of [...m.keys()]) if (key.startsWith(`${prefix}\0`)) m.delete(key);
  }
}
