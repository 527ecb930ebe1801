// Garbage collection of blobs. A blob lives while a package record, an upload or a published
// prefix's pool names it (or an in-flight request has pinned it: old indexes keep naming a
// pool file after its record went, by db cleanup). Dead locations are dropped first (committed), files
// after: a pack with no live blob is deleted, a pack mostly dead is compacted (live blobs
// copied into a new pack, their locations moved in one commit, then the old pack deleted).
// Callers hold the writes mutex.
//
// Shared storage (etcd + --shared-dir, or S3): the writes mutex and the pins are per process,
// so another server's request may name a blob this collection finds dead: it saw the blob's
// location, skipped writing the bytes (dedupe), and its commit naming the blob is in flight.
// Both orders of the two commits are repaired after the fact: here, a blob named again once
// the drop has landed gets its location back (its bytes were not touched yet); on the other
// side (service/uploads.ts) an upload whose reused blob lost its location writes it again.
// With S3 the object itself is never deleted here: the orphan sweep (service/blob-sweep.ts)
// deletes unnamed objects only past the grace period, under claims an upload racing it checks
// (storage/sweep-claims.ts), so a re-upload racing either is safe.

import { rm } from 'node:fs/promises';
import type { BlobStore } from '../storage/blobs.js';
import type { BlobIndex, MetadataJournal, PublishedPoolIndex, References } from '../storage/interfaces.js';
import type { BlobLocation, Op } from '../storage/records.js';

export interface GcReport {
  dropped: number;
  packsRemoved: number;
  packsCompacted: number;
}

export async function collectBlobs(store: BlobIndex & References & PublishedPoolIndex & MetadataJournal, blobs: BlobStore, extraPacks: Iterable<string> = []): Promise<GcReport> {
  const referenced = store.referencedBlobs();
  for (const files of store.publishedPool.values()) for (const sha of files.values()) referenced.add(sha);
  const dead: string[] = [];
  const touched = new Set<string>(extraPacks);
  const deadLoose: string[] = [];
  const locsBefore = new Map<string, BlobLocation>();
  for (const [sha, loc] of store.blobs) {
    if (referenced.has(sha) || blobs.pinned(sha)) continue;
    dead.push(sha);
    locsBefore.set(sha, loc);
    if (loc.pack === '') deadLoose.push(sha);
    else touched.add(loc.pack);
  }
  if (dead.length > 0) {
    await store.commit([{ op: 'blob-del', shas: dead }]);
    // Named again by a commit of another server that landed first (etcd replays this drop after it).
    const now = store.referencedBlobs();
    for (const files of store.publishedPool.values()) for (const sha of files.values()) now.add(sha);
    const back = dead.filter((sha) => now.has(sha));
    if (back.length > 0) {
      const locs = new Map(back.map((sha) => [sha, locsBefore.get(sha)!]));
      await store.commit(restoreOps(locs));
      for (const sha of back) {
        const i = deadLoose.indexOf(sha);
        if (i >= 0) deadLoose.splice(i, 1);
      }
      dead.splice(0, dead.length, ...dead.filter((sha) => !now.has(sha)));
    }
  }
  // With S3 only this server's cache file: the object is the orphan sweep's, past the grace.
  for (const sha of deadLoose) await blobs.dropLoose(sha);
  const report: GcReport = { dropped: dead.length, packsRemoved: 0, packsCompacted: 0 };
  if (touched.size === 0) return report;
  const live = new Map<string, [string, BlobLocation][]>();
  for (const [sha, loc] of store.blobs) {
    if (!touched.has(loc.pack)) continue;
    let list = live.get(loc.pack);
    if (!list) live.set(loc.pack, (list = []));
    list.push([sha, loc]);
  }
  for (const pack of touched) {
    const entries = live.get(pack) ?? [];
    if (entries.length === 0) {
      await blobs.dropPack(pack);
      report.packsRemoved++;
      continue;
    }
    const liveBytes = entries.reduce((n, [, l]) => n + l.size, 0);
    if (liveBytes * 2 >= (await blobs.packSize(pack))) continue;
    const writer = blobs.newPack();
    const moved: [string, number, number][] = [];
    try {
      for (const [sha, loc] of entries.sort((a, b) => a[1].offset - b[1].offset)) moved.push([sha, writer.append(blobs.readSync(sha, loc)), loc.size]);
      await writer.finish();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await store.commit([{ op: 'blobs', pack: writer.id, entries: moved }]);
    await blobs.dropPack(pack);
    report.packsCompacted++;
  }
  return report;
}

/** Ops that name blobs at the given locations again (loose ones, and pack ranges by pack). */
export function restoreOps(locs: ReadonlyMap<string, BlobLocation>): Op[] {
  const ops: Op[] = [];
  const byPack = new Map<string, [string, number, number][]>();
  for (const [sha, loc] of locs) {
    if (loc.pack === '') ops.push({ op: 'loose', sha256: sha, size: loc.size });
    else {
      let list = byPack.get(loc.pack);
      if (!list) byPack.set(loc.pack, (list = []));
      list.push([sha, loc.offset, loc.size]);
    }
  }
  for (const [pack, entries] of byPack) ops.push({ op: 'blobs', pack, entries });
  return ops;
}

/**
 * At start-up: files no location names are leftovers of a crash between writing and
 * committing (temp files, packs, loose files); then the usual collection.
 */
export async function collectAtStartup(store: BlobIndex & References & PublishedPoolIndex & MetadataJournal, blobs: BlobStore): Promise<GcReport> {
  for (const f of await blobs.leftovers()) await rm(f, { force: true });
  const packs = new Set<string>();
  const loose = new Set<string>();
  for (const [sha, loc] of store.blobs) {
    if (loc.pack === '') loose.add(sha);
    else packs.add(loc.pack);
  }
  for (const id of await blobs.listPacks()) if (!packs.has(id)) await blobs.dropPack(id);
  for (const sha of await blobs.listLoose()) if (!loose.has(sha)) await blobs.dropLoose(sha);
  // Every pack is a candidate for compaction (a crash may have come between a drop and it).
  return collectBlobs(store, blobs, packs);
}
