// aptly's `db cleanup`: package records no local repo or snapshot names are deleted, then the
// blobs nothing names any more are collected (blob-gc.ts; files of the published pool stay
// while a published prefix serves them). It waits for the publishes of every distribution
// that exists when it starts, so no publish is between reading its packages and recording
// their pool paths while records go. On an object store, the published files a failed drop
// left are deleted too (generation-sweep.ts).

import { collectBlobs } from './blob-gc.js';
import { removeDroppedGenerations } from './generation-sweep.js';
import type { Context } from './context.js';

export interface CleanupReport {
  packagesDeleted: number;
  blobsDropped: number;
  packsRemoved: number;
  packsCompacted: number;
  /** Dropped distributions whose published files on the object store were left, now deleted. */
  distributionsRemoved: number;
}

/** What a cleanup tells as it goes: lines of output, and package records deleted so far. */
export interface CleanupProgress {
  out(line: string): void;
  deleting(total: number, remaining: number): void;
}

/** Records per journal batch: bounded batches keep one commit's size and pause small. */
const BATCH = 10_000;

export async function cleanupDb(ctx: Context, io: CleanupProgress): Promise<CleanupReport> {
  const ids = [...ctx.store.publishes.keys()].sort();
  type Collected = Omit<CleanupReport, 'distributionsRemoved'>;
  const underPublishLocks = (i: number, fn: () => Promise<Collected>): Promise<Collected> =>
    i === ids.length ? fn() : ctx.publishLocks.run(ids[i]!, () => underPublishLocks(i + 1, fn));
  const report = await underPublishLocks(0, () =>
    ctx.writes.run(async () => {
      io.out('Loading local repos, snapshots and published repos...');
      const referenced = ctx.store.referencedKeys();
      io.out('Loading list of all packages...');
      const unreferenced = [...ctx.store.packages.keys()].filter((k) => !referenced.has(k));
      io.out(`Deleting unreferenced packages (${unreferenced.length})...`);
      io.deleting(unreferenced.length, unreferenced.length);
      for (let i = 0; i < unreferenced.length; i += BATCH) {
        const batch = unreferenced.slice(i, i + BATCH);
        await ctx.store.commit(batch.map((key) => ({ op: 'pkg-del' as const, key })));
        io.deleting(unreferenced.length, unreferenced.length - i - batch.length);
      }
      io.out('Deleting unreferenced files...');
      const gc = await collectBlobs(ctx.store, ctx.blobs);
      io.out(`Deleted ${gc.dropped} files (${gc.packsRemoved} packs removed, ${gc.packsCompacted} compacted)`);
      return { packagesDeleted: unreferenced.length, blobsDropped: gc.dropped, packsRemoved: gc.packsRemoved, packsCompacted: gc.packsCompacted };
    }),
  );
  // After the locks above: each dropped name's own lock is taken there, never while holding others.
  const dropped = await removeDroppedGenerations(ctx);
  if (dropped.length > 0) io.out(`Deleted the published files of ${dropped.length} dropped distributions: ${dropped.map((d) => `${d.prefix}/${d.distribution}`).join(', ')}`);
  return { ...report, distributionsRemoved: dropped.length };
}
