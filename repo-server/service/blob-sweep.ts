// The orphan sweep of the S3 pool: objects no blob location names (an upload that failed after
// some PUTs; a dead blob whose location GC dropped, service/blob-gc.ts) and multipart uploads
// never completed or aborted (a server killed mid-upload) are deleted, but only once older than
// a grace period (`--blob-grace`, 1 h by default).
//
// Why the grace: with several servers an object may be unnamed only because its upload is in
// flight: another server PUT it and its metadata commit has not landed (or this replica has not
// seen it yet). A PUT (a re-upload of the same content included) gives the object a fresh
// LastModified, and the sweep leaves any object younger than the grace alone.
//
// The grace alone leaves a window: an old unnamed object PUT again (same bytes: a re-upload, a
// repair of a blob GC dropped) and named between the sweep's check and its DELETE would be lost,
// and S3 cannot delete "only if unchanged". So each deletion is claimed first, atomically with
// respect to metadata commits, and uploads check the claims once committed and PUT again what a
// sweep may have deleted under them (storage/sweep-claims.ts argues why that is exact).

import type { BlobIndex, PublishedPoolIndex, References } from '../storage/interfaces.js';
import type { S3Bytes } from '../storage/bytes-s3.js';
import type { SweepClaims } from '../storage/sweep-claims.js';

/** `--blob-grace` when not given. */
export const DEFAULT_BLOB_GRACE_MS = 60 * 60 * 1000;

const POOL_KEY = /^pool\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

export interface SweepOptions {
  graceMs: number;
  /** The clock (tests move it instead of sleeping). */
  now?: () => number;
  /** Brings the metadata replica up to date (EtcdStore.catchUp); the journaled store is current. */
  catchUp?: () => Promise<void>;
  /** Claims on the blobs deleted (storage/sweep-claims.ts). */
  claims: SweepClaims;
}

/** Objects claimed and deleted at a time (one etcd transaction each). */
const BATCH = 100;

/** Tests' hooks around the claim (the window between the check and the DELETEs). */
export interface SweepHooks {
  beforeClaim?: (shas: string[]) => Promise<void>;
  claimed?: (shas: string[]) => Promise<void>;
}

/** Whether anything names a blob: a location, a package record or upload, a published pool path. */
export function namedBy(store: BlobIndex & References & PublishedPoolIndex): () => (sha: string) => boolean {
  return () => {
    const refs = store.referencedBlobs();
    for (const files of store.publishedPool.values()) for (const sha of files.values()) refs.add(sha);
    return (sha) => store.blobs.has(sha) || refs.has(sha);
  };
}

export interface SweepReport {
  /** Pool objects looked at. */
  objects: number;
  deleted: number;
  deletedBytes: number;
  /** Unnamed but younger than the grace: kept this time. */
  young: number;
  abortedUploads: number;
}

export async function sweepOrphans(store: BlobIndex & References & PublishedPoolIndex, remote: S3Bytes, opts: SweepOptions, hooks: SweepHooks = {}): Promise<SweepReport> {
  const now = (opts.now ?? Date.now)();
  const cutoff = now - opts.graceMs;
  await opts.catchUp?.();
  await opts.claims.prune(cutoff);
  const report: SweepReport = { objects: 0, deleted: 0, deletedBytes: 0, young: 0, abortedUploads: 0 };
  let batch: { sha: string; key: string; size: number }[] = [];
  const flush = async (): Promise<void> => {
    const todo = batch;
    batch = [];
    await hooks.beforeClaim?.(todo.map((o) => o.sha));
    const claimed = new Set(await opts.claims.claim(todo.map((o) => o.sha), namedBy(store)));
    if (claimed.size === 0) return;
    try {
      await hooks.claimed?.([...claimed]);
      for (const o of todo) {
        if (!claimed.has(o.sha)) continue; // named while the listing went on
        await remote.delete(o.key);
        report.deleted++;
        report.deletedBytes += o.size;
      }
    } finally {
      await opts.claims.release([...claimed]);
    }
  };
  for await (const o of remote.listInfo('pool/')) {
    const m = POOL_KEY.exec(o.key);
    if (!m || m[1] !== m[2]!.slice(0, 2)) continue; // not a blob's key: not ours to judge
    report.objects++;
    if (store.blobs.has(m[2]!)) continue;
    if (o.mtime.getTime() > cutoff) {
      report.young++;
      continue;
    }
    batch.push({ sha: m[2]!, key: o.key, size: o.size });
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  for await (const u of remote.pendingUploads('pool/')) {
    if (u.initiated.getTime() > cutoff) continue;
    await remote.abortUpload(u);
    report.abortedUploads++;
  }
  return report;
}

/**
 * Runs the sweep every `intervalMs` (first run after one interval), one run at a time, while
 * the server runs. Each server of a group sweeps: the runs are idempotent, and a second
 * server's DELETE of an object already gone is a no-op.
 */
export function scheduleSweeps(
  run: () => Promise<SweepReport>,
  intervalMs: number,
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void },
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = run()
      .then(
        (r) => {
          if (r.deleted > 0 || r.abortedUploads > 0) log.info({ sweep: r }, 'S3 orphan sweep');
        },
        (e: unknown) => log.warn({ err: e }, 'S3 orphan sweep failed; next try in one interval'),
      )
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
