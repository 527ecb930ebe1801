// Published generations on an object store that no publish record names any more: what a drop
// left when the store refused some of its deletes (dropPublish deletes the record first, then the
// files, and answers 200), for a name nobody publishes again (a publish of the name removes them
// itself: RemoteGenerations.prepare), and each server's local copies of a dropped distribution's
// generations (only the dropping server removes its own at the drop). Run by `db cleanup` and
// with the periodic S3 sweep.
//
// Each name is removed under its own publish lock, whose acquisition brings the metadata up to
// date (etcd: storage/open.ts), so a publish of that name cannot be between its uploads and its
// record: either it committed (the record is there, nothing is removed) or it failed and what it
// put is unnamed too.

import type { DistributionId } from '../publish/generations.js';
import { publishId } from '../storage/records.js';
import type { Context } from './context.js';

export async function removeDroppedGenerations(ctx: Pick<Context, 'store' | 'publisher' | 'publishLocks' | 'log'>): Promise<DistributionId[]> {
  if (!ctx.publisher.remote) return [];
  const removed: DistributionId[] = [];
  // The bucket's, and this server's local copies (each server removes its own).
  for (const d of await ctx.publisher.storedDistributions()) {
    const id = publishId(d.prefix, d.distribution);
    if (ctx.store.publishes.has(id)) continue; // the common case, decided without the lock
    await ctx.publishLocks.run(id, async () => {
      if (ctx.store.publishes.has(id)) return; // published again meanwhile
      await ctx.publisher.unpublish(d);
      removed.push(d);
    });
  }
  if (removed.length > 0) ctx.log.info({ removed }, 'removed the published files of dropped distributions');
  return removed;
}
