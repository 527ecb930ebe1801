// The orphan sweep of the S3 pool: objects no blob location names (an upload that failed after
// some PUTs; a dead blob whose location GC dropped, service/blob-gc.ts) and multipart uploads
// never completed or aborted (a server killed mid-upload) are deleted, but only once older than
// a grace period (`--blob-grace`, 1 h by default).
//
// Why the grace: with several servers an object may be unnamed only because its upload is in
// flight: another server PUT it and its metadata commit has not landed (or this replica has not
// seen it yet). S3 cannot delete "only if unchanged", so age is the guard: a PUT (a re-upload of
// the same content included) gives the object a fresh LastModified, and the sweep leaves any
// object younger than the grace alone. The replica is caught up first, and the location
// checked again just before each DELETE.

import type { BlobIndex } from '../storage/interfaces.js';
import type { S3Bytes } from '../storage/bytes-s3.js';

/** `--blob-grace` when not given. */
export const DEFAULT_BLOB_GRACE_MS = 60 * 60 * 1000;

const POOL_KEY = /^pool\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

export interface SweepOptions {
  graceMs: number;
  /** The clock (tests move it instead of sleeping). */
  now?: () => number;
  /** Brings the metadata replica up to date (EtcdStore.catchUp); the journaled store is current. */
  catchUp?: () => Promise<void>;
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

export async function sweepOrphans(store: BlobIndex, remote: S3Bytes, opts: SweepOptions): Promise<SweepReport> {
  const now = (opts.now ?? Date.now)();
  const cutoff = now - opts.graceMs;
  await opts.catchUp?.();
  const report: SweepReport = { objects: 0, deleted: 0, deletedBytes: 0, young: 0, abortedUploads: 0 };
  for await (const o of remote.listInfo('pool/')) {
    const m = POOL_KEY.exec(o.key);
    if (!m || m[1] !== m[2]!.slice(0, 2)) continue; // not a blob's key: not ours to judge
    report.objects++;
    if (store.blobs.has(m[2]!)) continue;
    if (o.mtime.getTime() > cutoff) {
      report.young++;
      continue;
    }
    if (store.blobs.has(m[2]!)) continue; // named while the listing went on
    await remote.delete(o.key);
    report.deleted++;
    report.deletedBytes += o.size;
  }
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
