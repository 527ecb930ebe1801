// Before any index names a pool path, that path must be served: which pool files a publish adds
// to the prefix's published pool, and whether any would replace a different file there.
//
// A pool path, once published, serves the same bytes for as long as the prefix exists: an apt
// client still reading an index that names it must get what the index says. So a rebuild
// (same name, version and architecture, other bytes) published with ForceOverwrite does not
// replace the file: its files go to a directory of their own beside it,
// pool/<area>/<letter>/<source>/+<files hash>/ (the record key's hash; '+' starts no file
// name), and new indexes name that. Where a record is served follows from the pool alone
// (recordDir): its canonical directory when every file there is free or already its own,
// else the qualified one. Without ForceOverwrite such a publish is refused, as aptly refuses it.
//
// A re-publish of 100k packages must not build 100k paths: per prefix and pool area, the
// records already in the published pool are remembered (a WeakSet: records are immutable
// objects of the store), and per distribution the list the last publish checked, so a list
// that only grew is checked from its old end.

import type { PackageRecord } from '../storage/store.js';
import { recordFiles } from '../storage/records.js';
import { extendsArray } from './append-only.js';
import { poolDir } from './indexes.js';

/** Two different files would be published under one pool path (aptly: "file already exists and is different"). */
export class PoolClashError extends Error {
  constructor(readonly paths: string[]) {
    super(
      `unable to publish: error linking file to ${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ` and ${paths.length - 3} more` : ''}: file already exists and is different ` +
        '(a rebuild of a published package needs ForceOverwrite; distributions sharing a prefix need MultiDist to carry different builds)',
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

/** The directory (under the prefix) the files of `p` are served from, given the prefix's pool. */
export function recordDir(pool: Pick<PublishedPool, 'get'>, prefix: string, area: string, p: PackageRecord): string {
  const canonical = poolDir(area, p.source);
  for (const f of recordFiles(p)) {
    const at = pool.get(prefix, `${canonical}/${f.filename}`);
    if (at !== undefined && at !== f.sha256) return qualifiedDir(canonical, p);
  }
  return canonical;
}

const qualifiedDir = (canonical: string, p: PackageRecord): string => `${canonical}/+${p.key.slice(p.key.lastIndexOf(' ') + 1)}`;

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
  check(prefix: string, distribution: string, components: Map<string, PackageRecord[]>, area: (component: string) => string, forceOverwrite = false): PoolAdditions {
    const wanted = new Map<string, string>();
    const clashes = new Set<string>();
    const linkedNow: [WeakSet<PackageRecord>, PackageRecord][] = [];
    const checkedNow: [string, PackageRecord[]][] = [];
    // The pool as it will be once `wanted` is added (as recordDir reads it for the indexes).
    const after = { get: (pre: string, path: string): string | undefined => this.pool.get(pre, path) ?? wanted.get(path) };
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
        const canonical = poolDir(area(component), p.source);
        const files = recordFiles(p);
        // One lookup per file in the common case: what its canonical path serves (recordDir's rule).
        const at = files.map((f) => after.get(prefix, `${canonical}/${f.filename}`));
        if (files.every((f, j) => at[j] === undefined || at[j] === f.sha256)) {
          for (const [j, f] of files.entries()) if (at[j] === undefined) wanted.set(`${canonical}/${f.filename}`, f.sha256);
          continue;
        }
        // A different file already published (or about to be) under the canonical name would
        // make apt fail with a hash mismatch: refused before anything changes, unless
        // ForceOverwrite serves this record beside it. Once served there, it stays there.
        const dir = qualifiedDir(canonical, p);
        for (const [j, f] of files.entries()) {
          const path = `${dir}/${f.filename}`;
          const there = after.get(prefix, path);
          if (there === f.sha256) continue;
          // The qualified name is the files' hash: another file there is a hash collision.
          if (there !== undefined) clashes.add(path);
          else if (!forceOverwrite) {
            if (at[j] !== f.sha256) clashes.add(`${canonical}/${f.filename}`);
          } else wanted.set(path, f.sha256);
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
  async publish(prefix: string, distribution: string, components: Map<string, PackageRecord[]>, area: (component: string) => string, forceOverwrite = false): Promise<void> {
    const additions = this.check(prefix, distribution, components, area, forceOverwrite);
    if (additions.wanted.length > 0) await this.pool.add(prefix, additions.wanted);
    additions.commit();
  }

  /** The prefix's pool may be dropped with its last distribution: forget what it held. */
  forget(prefix: string): void {
    for (const m of [this.linked, this.checked]) for (const key of [...m.keys()]) if (key.startsWith(`${prefix}\0`)) m.delete(key);
  }
}
