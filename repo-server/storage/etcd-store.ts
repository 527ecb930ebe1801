// The metadata store on etcd (issue 15): one key per record (etcd-keys.ts), every server of a
// group holding a watched in-memory replica that serves the synchronous views of
// storage/interfaces.ts. A commit is one etcd transaction guarded by the mod revision of one
// key (`seq`): it applies only if no other server committed since this replica was current, so
// the netted puts and deletes (computed from the replica) are exact; on a lost race the replica
// catches up and the batch is planned again. The commit resolves once the watch has brought
// its own revision back (read-after-write, and every server applies commits in one order).
//
// A batch larger than one transaction may carry (etcd's --max-txn-ops, default 128; and its
// request size) is split into consecutive guarded transactions: those apply in order, but a
// crash between two leaves a prefix of the batch. docs/operations.md says to raise the limit.

import { EtcdClient, type EtcdOptions, type KeyValue, type WatchEvent, type Op as EtcdOp } from '../cluster/etcd-client.js';
import type { MetadataStore } from './interfaces.js';
import { K, parseKey, planBatch, type PlanState } from './etcd-keys.js';
import { identity, publishId, recordFiles, type BlobLocation, type Op, type PackageRecord, type PublishRecord, type RepoRecord, type SnapshotRecord } from './records.js';

export interface EtcdStoreOptions {
  /** Key prefix of the repo metadata (default /debpkg/repo/). */
  prefix?: string;
  /** Operations per transaction (etcd's --max-txn-ops; default 128). */
  maxTxnOps?: number;
  /** Bytes of values per transaction (below etcd's --max-request-bytes, 1.5 MiB by default). */
  maxTxnBytes?: number;
}

function mergeInto(maps: Map<string, Map<string, string>>, key: string, name: string, value: string): void {
  let inner = maps.get(key);
  if (!inner) maps.set(key, (inner = new Map()));
  inner.set(name, value);
}

export class EtcdStore implements MetadataStore {
  readonly packages = new Map<string, PackageRecord>();
  readonly byIdentity = new Map<string, Set<string>>();
  packageDeletions = 0;
  readonly repos = new Map<string, RepoRecord>();
  readonly repoPackages = new Map<string, Set<string>>();
  readonly repoOrder = new Map<string, string[]>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly publishes = new Map<string, PublishRecord>();
  readonly publishedPool = new Map<string, Map<string, string>>();
  readonly blobs = new Map<string, BlobLocation>();
  readonly uploads = new Map<string, Map<string, string>>();

  /** The guard's mod revision as this replica knows it (0: never written). */
  private seqRev = 0;
  /** Highest etcd revision applied. */
  revision = 0;
  private watch: { close(): void } | undefined;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly prefix: string;
  private readonly maxOps: number;
  private readonly maxBytes: number;
  /** Called after every applied change (caches of other modules may listen). */
  onChange: (() => void) | undefined;

  private constructor(
    private readonly etcd: EtcdClient,
    opts: EtcdStoreOptions,
    private readonly ownsClient: boolean,
  ) {
    this.prefix = opts.prefix ?? '/debpkg/repo/';
    this.maxOps = Math.max(2, opts.maxTxnOps ?? 128);
    this.maxBytes = opts.maxTxnBytes ?? 1 << 20;
  }

  /** Loads every key under the prefix and follows the changes from there. */
  static async open(etcd: EtcdClient, opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const s = new EtcdStore(etcd, opts, false);
    await s.load();
    return s;
  }

  /** The same with a client of its own, closed with the store. */
  static async connect(conn: EtcdOptions, opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const etcd = new EtcdClient(conn);
    const s = new EtcdStore(etcd, opts, true);
    try {
      await s.load();
    } catch (err) {
      etcd.close();
      throw err;
    }
    return s;
  }

  private async load(): Promise<void> {
    const { kvs, revision } = await this.etcd.range(this.prefix, true);
    this.clear();
    // Records first, then package references in the order they were added: creation
    // revision, then their index in the committing batch.
    const isRef = (kv: KeyValue): boolean => kv.key.startsWith(`${this.prefix}ref/`);
    for (const kv of kvs) if (!isRef(kv)) this.applyOne({ type: 'put', kv });
    const refs = kvs.filter(isRef).sort((a, b) => a.createRevision - b.createRevision || Number(a.value) - Number(b.value));
    for (const kv of refs) this.applyOne({ type: 'put', kv });
    this.advance(revision);
    this.watch?.close();
    this.watch = this.etcd.watch(
      this.prefix,
      revision + 1,
      (events) => {
        this.applyEvents(events);
        this.advance(events.reduce((m, e) => Math.max(m, e.kv.modRevision), 0));
        this.onChange?.();
      },
      () => void this.reload(),
    );
  }

  /** The watched revision was compacted away: load everything again. */
  private async reload(): Promise<void> {
    while (!this.closed) {
      try {
        await this.load();
        this.onChange?.();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private clear(): void {
    for (const m of [this.packages, this.byIdentity, this.repos, this.repoPackages, this.repoOrder, this.snapshots, this.publishes, this.publishedPool, this.blobs, this.uploads]) m.clear();
    this.seqRev = 0;
  }

  private advance(rev: number): void {
    this.revision = Math.max(this.revision, rev);
    this.waiters = this.waiters.filter((w) => (w.rev <= this.revision ? (w.resolve(), false) : true));
  }

  private waitFor(rev: number): Promise<void> {
    if (rev <= this.revision) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rev, resolve }));
  }

  /** Applies events in revision order; within a revision, records before package references. */
  private applyEvents(events: WatchEvent[]): void {
    const refs: WatchEvent[] = [];
    let rev = -1;
    const flush = (): void => {
      refs.sort((a, b) => (a.type === 'put' && b.type === 'put' ? Number(a.kv.value) - Number(b.kv.value) : 0));
      for (const e of refs) this.applyOne(e);
      refs.length = 0;
    };
    for (const e of events) {
      if (e.kv.modRevision !== rev) {
        flush();
        rev = e.kv.modRevision;
      }
      if (e.kv.key.startsWith(`${this.prefix}ref/`)) refs.push(e);
      else this.applyOne(e);
    }
    flush();
  }

  private applyOne({ type, kv }: WatchEvent): void {
    const k = parseKey(kv.key.slice(this.prefix.length));
    if (!k) return;
    const del = type === 'delete';
    switch (k.kind) {
      case 'seq':
        this.seqRev = del ? 0 : kv.modRevision;
        break;
      case 'pkg': {
        const old = this.packages.get(k.key);
        if (del) {
          this.packageDeletions++;
          this.packages.delete(k.key);
          if (old) this.byIdentity.get(identity(old))?.delete(k.key);
        } else {
          const rec = JSON.parse(kv.value) as PackageRecord;
          this.packages.set(k.key, rec);
          const id = identity(rec);
          const set = this.byIdentity.get(id) ?? new Set<string>();
          set.add(k.key);
          this.byIdentity.set(id, set);
        }
        break;
      }
      case 'repo':
        if (del) {
          this.repos.delete(k.name);
          this.repoPackages.delete(k.name);
          this.repoOrder.delete(k.name);
        } else {
          this.repos.set(k.name, JSON.parse(kv.value) as RepoRecord);
          if (!this.repoPackages.has(k.name)) {
            this.repoPackages.set(k.name, new Set());
            this.repoOrder.set(k.name, []);
          }
        }
        break;
      case 'ref': {
        const set = this.repoPackages.get(k.name);
        if (!set) break;
        if (del) {
          if (set.delete(k.key)) this.repoOrder.set(k.name, [...set]);
        } else if (!set.has(k.key)) {
          set.add(k.key);
          this.repoOrder.get(k.name)?.push(k.key);
        }
        break;
      }
      case 'snap':
        if (del) this.snapshots.delete(k.name);
        else this.snapshots.set(k.name, JSON.parse(kv.value) as SnapshotRecord);
        break;
      case 'pub': {
        if (del) this.publishes.delete(publishId(k.prefix, k.distribution));
        else {
          const p = JSON.parse(kv.value) as PublishRecord;
          this.publishes.set(publishId(p.prefix, p.distribution), p);
        }
        break;
      }
      case 'blob':
        if (del) this.blobs.delete(k.sha);
        else {
          const [pack, offset, size] = JSON.parse(kv.value) as [string, number, number];
          this.blobs.set(k.sha, { pack, offset, size });
        }
        break;
      case 'up':
        if (del) {
          const files = this.uploads.get(k.dir);
          files?.delete(k.name);
          if (files?.size === 0) this.uploads.delete(k.dir);
        } else mergeInto(this.uploads, k.dir, k.name, kv.value);
        break;
      case 'pool':
        if (del) {
          const files = this.publishedPool.get(k.prefix);
          files?.delete(k.path);
          if (files?.size === 0) this.publishedPool.delete(k.prefix);
        } else mergeInto(this.publishedPool, k.prefix, k.path, kv.value);
        break;
    }
  }

  private readonly planState: PlanState = {
    hasRepo: (name) => this.repos.has(name),
    hasRef: (name, key) => this.repoPackages.get(name)?.has(key) ?? false,
    refsOf: (name) => this.repoPackages.get(name) ?? [],
    uploadNames: (dir) => this.uploads.get(dir)?.keys() ?? [],
    poolPaths: (prefix) => this.publishedPool.get(prefix)?.keys() ?? [],
  };

  commit(batch: Op[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const run = this.tail.then(() => {
      if (this.closed) throw new Error('metadata store is closed');
      return this.commitNow(batch);
    });
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async commitNow(batch: Op[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const changes = [...planBatch(batch, this.planState)];
      if (changes.length === 0) return;
      // Chunks of at most maxOps - 1 changes (the guard's put is one more) and maxBytes of values.
      const chunks: EtcdOp[][] = [[]];
      let bytes = 0;
      for (const [k, v] of changes) {
        let cur = chunks[chunks.length - 1]!;
        const size = k.length + (v?.length ?? 0);
        if (cur.length > 0 && (cur.length >= this.maxOps - 1 || bytes + size > this.maxBytes)) {
          chunks.push((cur = []));
          bytes = 0;
        }
        cur.push(v === null ? { del: { key: this.prefix + k } } : { put: { key: this.prefix + k, value: v } });
        bytes += size;
      }
      let lost = false;
      for (const [i, ops] of chunks.entries()) {
        const seqKey = this.prefix + K.seq;
        const t = await this.etcd.txn(
          [{ key: seqKey, target: 'MOD', result: 'EQUAL', revision: this.seqRev }],
          [...ops, { put: { key: seqKey, value: String(this.revision) } }],
          [],
          'commit repo metadata',
        );
        if (!t.succeeded) {
          if (i > 0) throw new Error('repo metadata: another server committed in the middle of a split batch');
          lost = true;
          break;
        }
        await this.waitFor(t.revision);
      }
      if (!lost) return;
      if (attempt >= 50) throw new Error('repo metadata: lost the commit race 50 times');
      await this.catchUp();
    }
  }

  /** Waits until this replica holds every commit etcd had when this was called. */
  async catchUp(): Promise<void> {
    const kv = await this.etcd.get(this.prefix + K.seq);
    if (kv) await this.waitFor(kv.modRevision);
  }

  /**
   * Applies `ops` (keys outside the records, e.g. the orphan sweep's claims) only if no commit
   * has landed since this replica was current: what the caller decided from the replica in this
   * tick still holds when they apply. False when one did (catch up and decide again).
   */
  async ifCurrent(ops: EtcdOp[], what: string): Promise<boolean> {
    const t = await this.etcd.txn([{ key: this.prefix + K.seq, target: 'MOD', result: 'EQUAL', revision: this.seqRev }], ops, [], what);
    return t.succeeded;
  }

  /**
   * The publish records as etcd holds them now (a linearizable read), ahead of this replica's
   * watch: for the one answer that must not lag another server (http/static/remote-dists.ts).
   */
  async currentPublishes(): Promise<PublishRecord[]> {
    const { kvs } = await this.etcd.range(`${this.prefix}pub/`, true);
    return kvs.map((kv) => JSON.parse(kv.value) as PublishRecord);
  }

  referencedBlobs(): Set<string> {
    const shas = new Set<string>();
    for (const p of this.packages.values()) for (const f of recordFiles(p)) shas.add(f.sha256);
    for (const files of this.uploads.values()) for (const sha of files.values()) shas.add(sha);
    return shas;
  }

  referencedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const set of this.repoPackages.values()) for (const k of set) keys.add(k);
    for (const s of this.snapshots.values()) for (const k of s.packages) keys.add(k);
    return keys;
  }

  async close(): Promise<void> {
    await this.tail;
    this.closed = true;
    this.watch?.close();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    if (this.ownsClient) this.etcd.close();
  }
}
