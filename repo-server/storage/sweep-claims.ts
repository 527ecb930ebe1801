// Claims of the orphan sweep (service/blob-sweep.ts) on the pool objects it deletes, and the
// check that makes an upload safe against them. S3 has no "delete if unchanged", so between the
// sweep deciding "no one names this old object" and its DELETE, another server may PUT the same
// bytes again (a re-upload, a repair of a blob GC dropped) and commit a location: the DELETE
// would then remove an object the metadata names. The metadata store's order closes it:
//
// - the sweep claims a blob before deleting its object, atomically with respect to metadata
//   commits: on etcd, a transaction that applies only if no commit landed since the replica in
//   which the blob is unnamed (no location, no reference, no published pool path) was current;
//   embedded, in one synchronous step against the in-memory store. After the DELETE it marks the
//   claim done (a tombstone, kept for the grace, with the revision it was done at);
// - an upload takes a mark (the replica's revision) before it PUTs or relies on any blob, and
//   once its commit has landed it reads the claims of its blobs: a claim still deleting, or done
//   after the mark, may have deleted the object after (or while) the upload put it, so the upload
//   waits for the sweep to finish and PUTs the bytes again (service/uploads.ts).
//
// Why that suffices: a claim made after the upload's commit cannot succeed (the commit names the
// blob), so any claim that matters was made before the commit, and the check after the commit
// (a linearizable read on etcd) sees it. A claim done before the mark finished its DELETE before
// the upload's PUT began. A sweeper that dies mid-way leaves a claim "deleting": an upload waits
// for it at most `staleMs`, then PUTs again anyway (the dead sweeper's DELETE is long over).
// Tombstones are pruned once older than the grace: an upload request would have to last longer
// than the grace between its mark and its check to miss one.

import { forEachLimit } from '../../lib/concurrency.js';
import type { EtcdClient, KeyValue } from '../cluster/etcd-client.js';
import type { EtcdStore } from './etcd-store.js';

/** A claim no sweep finished within this time is taken as its sweeper's death. */
export const STALE_CLAIM_MS = 120_000;

export interface SweepClaims {
  /** Taken before an upload PUTs or relies on blobs: claims done after it are its concern. */
  mark(): number;
  /**
   * Claims those of `shas` no one names, judged by `namedNow()` (called in the same tick as the
   * claim is made, on the current metadata); returns them.
   */
  claim(shas: string[], namedNow: () => (sha: string) => boolean): Promise<string[]>;
  /** The DELETEs of these claims are over (whatever their outcome). */
  release(shas: string[]): Promise<void>;
  /**
   * Of `shas`, those whose object a sweep may have deleted since `mark`: claimed and not done,
   * or done after the mark. Waits (at most `staleMs`) for claims still deleting to be done.
   */
  sweptSince(mark: number, shas: Iterable<string>): Promise<string[]>;
  /** Forgets tombstones done before `cutoffMs` (wall clock). */
  prune(cutoffMs: number): Promise<void>;
}

interface Claim {
  state: 'deleting' | 'done';
  /** Wall clock of the last change (staleness, pruning). */
  at: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Embedded (journaled store): one process decides, so claims are a map and a counter. */
export class LocalSweepClaims implements SweepClaims {
  private rev = 0;
  private readonly claims = new Map<string, Claim & { rev: number; done: Promise<void>; finish: () => void }>();

  constructor(private readonly staleMs = STALE_CLAIM_MS) {}

  mark(): number {
    return this.rev;
  }

  async claim(shas: string[], namedNow: () => (sha: string) => boolean): Promise<string[]> {
    // One synchronous step: no commit is applied in between the check and the claim.
    const named = namedNow();
    const out: string[] = [];
    for (const sha of shas) {
      if (named(sha)) continue;
      let finish!: () => void;
      const done = new Promise<void>((r) => (finish = r));
      this.claims.set(sha, { state: 'deleting', at: Date.now(), rev: ++this.rev, done, finish });
      out.push(sha);
    }
    return out;
  }

  async release(shas: string[]): Promise<void> {
    for (const sha of shas) {
      const c = this.claims.get(sha);
      if (!c || c.state === 'done') continue;
      Object.assign(c, { state: 'done', at: Date.now(), rev: ++this.rev });
      c.finish();
    }
  }

  async sweptSince(mark: number, shas: Iterable<string>): Promise<string[]> {
    const out: string[] = [];
    for (const sha of shas) {
      const c = this.claims.get(sha);
      if (!c || (c.state === 'done' && c.rev <= mark)) continue;
      if (c.state === 'deleting') {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([c.done, new Promise<void>((r) => (timer = setTimeout(r, this.staleMs)))]);
        clearTimeout(timer);
      }
      out.push(sha);
    }
    return out;
  }

  async prune(cutoffMs: number): Promise<void> {
    for (const [sha, c] of this.claims) if (c.state === 'done' && c.at < cutoffMs) this.claims.delete(sha);
  }
}

/**
 * A group on etcd: claims are keys beside the metadata (<repo prefix>-sweep/<sha>), written by a
 * transaction guarded like a metadata commit (EtcdStore.ifCurrent) and read linearizably.
 */
export class EtcdSweepClaims implements SweepClaims {
  private readonly prefix: string;

  constructor(
    private readonly store: Pick<EtcdStore, 'revision' | 'ifCurrent' | 'catchUp'>,
    private readonly etcd: EtcdClient,
    repoPrefix: string,
    private readonly staleMs = STALE_CLAIM_MS,
  ) {
    this.prefix = `${repoPrefix.replace(/\/+$/, '')}-sweep/`;
  }

  mark(): number {
    return this.store.revision;
  }

  async claim(shas: string[], namedNow: () => (sha: string) => boolean): Promise<string[]> {
    for (let attempt = 0; attempt < 20; attempt++) {
      // Decided and sent in one tick: the guard proves nothing was committed since.
      const named = namedNow();
      const out = shas.filter((sha) => !named(sha));
      if (out.length === 0) return [];
      const value = JSON.stringify({ state: 'deleting', at: Date.now() } satisfies Claim);
      if (await this.store.ifCurrent(out.map((sha) => ({ put: { key: this.prefix + sha, value } })), 'claim blobs for the orphan sweep')) return out;
      await this.store.catchUp();
    }
    return []; // commits keep landing: left for the next sweep
  }

  async release(shas: string[]): Promise<void> {
    const value = JSON.stringify({ state: 'done', at: Date.now() } satisfies Claim);
    for (let i = 0; i < shas.length; i += 100) {
      await this.etcd.txn([], shas.slice(i, i + 100).map((sha) => ({ put: { key: this.prefix + sha, value } })), [], 'release orphan sweep claims');
    }
  }

  async sweptSince(mark: number, shas: Iterable<string>): Promise<string[]> {
    const mine = [...shas];
    // One linearizable read: per blob for a small request, of every claim for a large one
    // (tombstones live for the grace only, so there are few unless a sweep just ran).
    const claims = new Map<string, KeyValue>();
    if (mine.length <= 32) {
      await forEachLimit(mine, 8, async (sha) => {
        const kv = await this.etcd.get(this.prefix + sha);
        if (kv) claims.set(sha, kv);
      });
    } else {
      const wanted = new Set(mine);
      for (const kv of (await this.etcd.range(this.prefix, true)).kvs) {
        const sha = kv.key.slice(this.prefix.length);
        if (wanted.has(sha)) claims.set(sha, kv);
      }
    }
    const out: string[] = [];
    await forEachLimit([...claims], 8, async ([sha, first]) => {
      const since = Date.now();
      for (let kv: KeyValue | undefined = first; kv; kv = await this.etcd.get(this.prefix + sha)) {
        if ((JSON.parse(kv.value) as Claim).state === 'done') {
          if (kv.modRevision > mark) out.push(sha);
          return;
        }
        if (Date.now() - since > this.staleMs) break;
        await pause(200);
      }
      out.push(sha); // still deleting after staleMs, or its claim pruned meanwhile: PUT again anyway
    });
    return out;
  }

  async prune(cutoffMs: number): Promise<void> {
    const { kvs } = await this.etcd.range(this.prefix, true);
    for (const kv of kvs) {
      const c = JSON.parse(kv.value) as Claim;
      if (c.at >= cutoffMs) continue;
      // Only if unchanged since read: a new claim on the same blob stays.
      await this.etcd.txn([{ key: kv.key, target: 'MOD', result: 'EQUAL', revision: kv.modRevision }], [{ del: { key: kv.key } }], [], 'prune orphan sweep claims');
    }
  }
}
