// Package inspections for the upload → add path. Uploads are inspected while they are still in
// memory, on worker threads when the machine has cores to spare, and the records are kept by
// sha256 so the add that usually follows needs no read, decompression or hashing. Content-
// addressed, so never stale. A worker that fails only costs speed: inspection falls back to
// the calling thread.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEFAULT_UNPACK_LIMITS, type UnpackLimits } from '../../deb/unpack-limits.js';
import type { PackageRecord } from '../storage/store.js';
import { InvalidPackageError, inspectBuffer } from './inspect.js';

/** One batch of packages, concatenated into one transferred buffer. */
export interface InspectRequest {
  id: number;
  data: ArrayBuffer;
  /** Package i is data[offsets[i], offsets[i + 1]). */
  offsets: number[];
  sha256: string[];
}

export type InspectResult = { rec: PackageRecord } | { invalid: boolean; message: string };

export interface InspectReply {
  id: number;
  results: InspectResult[];
}

/** Worker threads beside the main one: all cores but one, at most 4. */
export function defaultInspectThreads(): number {
  return Math.min(4, Math.max(0, availableParallelism() - 1));
}

// A batch goes out when it is this big, or when the thread that fills it yields.
const BATCH_COUNT = 128;
const BATCH_BYTES = 1 << 20;

interface Queued {
  buf: Buffer;
  sha256: string;
  resolve: (r: InspectResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Batches sent and not answered, by request id. */
  pending: Map<number, Queued[]>;
}

class InspectThreads {
  private readonly slots: Slot[] = [];
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private nextId = 1;
  broken = false;

  constructor(
    count: number,
    private readonly limits: UnpackLimits,
  ) {
    for (let i = 0; i < count; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./inspect-worker.js', import.meta.url), { workerData: this.limits });
    const slot: Slot = { worker, pending: new Map() };
    // Idle workers must not keep a finished process (a test, a CLI run) alive.
    worker.unref();
    worker.on('message', (reply: InspectReply) => {
      const batch = slot.pending.get(reply.id);
      if (!batch) return;
      slot.pending.delete(reply.id);
      batch.forEach((q, i) => q.resolve(reply.results[i]!));
    });
    const fail = (err: Error): void => {
      this.broken = true;
      for (const batch of slot.pending.values()) for (const q of batch) q.reject(err);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`inspection worker exited with code ${code}`)));
    return slot;
  }

  inspect(buf: Buffer, sha256: string): Promise<InspectResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ buf, sha256, resolve, reject });
      this.queuedBytes += buf.length;
      if (this.queue.length >= BATCH_COUNT || this.queuedBytes >= BATCH_BYTES) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.broken) {
      for (const q of batch) q.reject(new Error('inspection workers are gone'));
      return;
    }
    // The least busy worker; one standalone buffer (not Node's shared pool) so it can be transferred.
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const total = batch.reduce((n, q) => n + q.buf.length, 0);
    const data = Buffer.allocUnsafeSlow(total);
    const offsets = [0];
    let off = 0;
    for (const q of batch) {
      q.buf.copy(data, off);
      off += q.buf.length;
      offsets.push(off);
    }
    const id = this.nextId++;
    slot.pending.set(id, batch);
    const req: InspectRequest = { id, data: data.buffer as ArrayBuffer, offsets, sha256: batch.map((q) => q.sha256) };
    slot.worker.postMessage(req, [req.data]);
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

export interface InspectionsOptions {
  /** Worker threads (0: inspect on the calling thread). */
  threads?: number;
  /** Records kept for adds that have not come yet. */
  max?: number;
  /** Decompression allowed per package (ServerConfig's unpack limits). */
  limits?: UnpackLimits;
}

export class Inspections {
  private readonly bySha = new Map<string, Promise<PackageRecord | undefined>>();
  private readonly threads: InspectThreads | undefined;
  private readonly max: number;
  readonly limits: UnpackLimits;

  constructor({ threads = defaultInspectThreads(), max = 50_000, limits = DEFAULT_UNPACK_LIMITS }: InspectionsOptions = {}) {
    this.max = max;
    this.limits = limits;
    this.threads = threads > 0 ? new InspectThreads(threads, limits) : undefined;
  }

  /** Inspects a package held in memory; throws InvalidPackageError for one that is not valid. */
  async inspect(buf: Buffer, sha256: string): Promise<PackageRecord> {
    if (this.threads && !this.threads.broken) {
      let r: InspectResult | undefined;
      try {
        r = await this.threads.inspect(buf, sha256);
      } catch {
        // the worker died: this package is inspected here instead
      }
      if (r) {
        if ('rec' in r) return r.rec;
        throw r.invalid ? new InvalidPackageError(r.message) : new Error(r.message);
      }
    }
    return inspectBuffer(buf, sha256, this.limits);
  }

  /**
   * Starts inspecting `buf` (its sha256 is `sha256`) for a later take(). Not awaited by the
   * upload: the add that follows waits for it, so uploads and inspections overlap.
   */
  remember(sha256: string, buf: Buffer): void {
    if (this.bySha.has(sha256)) return;
    // The oldest go first: an add that finds none re-reads its packages from the packs.
    if (this.bySha.size >= this.max) this.bySha.delete(this.bySha.keys().next().value!);
    // An invalid package is not kept: the add inspects it again and reports why.
    this.bySha.set(
      sha256,
      this.inspect(buf, sha256).catch(() => undefined),
    );
  }

  /** The record of an earlier inspection, finished or in flight (taken out: the add stores it). */
  async take(sha256: string): Promise<PackageRecord | undefined> {
    const rec = this.bySha.get(sha256);
    this.bySha.delete(sha256);
    return rec;
  }

  async close(): Promise<void> {
    await this.threads?.close();
  }
}
