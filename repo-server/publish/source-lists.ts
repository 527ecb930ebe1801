// The package lists a publish reads from its sources (a local repo's keys in add order, a
// snapshot's keys), kept between publishes: a repo that only grew since is read from its old
// end, so re-publishing 100k packages after one add looks up one key, not 100k. Each publish
// gets its own copy (a publish in flight must not see later adds), marked as an extension of
// the previous copy (append-only.ts), so the publisher's caches need not compare the lists.

import type { PackageRecord } from '../storage/store.js';
import { markExtends } from './append-only.js';

interface Collected {
  deletions: number;
  count: number;
  records: PackageRecord[];
  copy?: PackageRecord[];
}

export class SourceLists {
  /** Keyed by the source's own key list object: a repo replaces its array on removal, a snapshot's never changes. */
  private readonly lists = new WeakMap<readonly string[], Collected>();

  /**
   * The records of `keys`, in order, skipping keys without a record. `keys` may have grown since
   * the last read (appended only); `deletions` must change whenever a record may have gone.
   */
  read(keys: readonly string[], deletions: number, lookup: (key: string) => PackageRecord | undefined): PackageRecord[] {
    let c = this.lists.get(keys);
    if (!c || c.deletions !== deletions) {
      c = { deletions, count: 0, records: [] };
      this.lists.set(keys, c);
    }
    for (let i = c.count; i < keys.length; i++) {
      const p = lookup(keys[i]!);
      if (p) c.records.push(p);
    }
    c.count = keys.length;
    const copy = c.records.slice();
    if (c.copy) markExtends(c.copy, copy);
    c.copy = copy;
    return copy;
  }
}
