// The main-thread side of md5-worker.ts: a ring of buffers over shared memory, and promises
// for "this slot has been hashed" and "this file's md5".

import { Worker } from 'node:worker_threads';
import type { Md5Reply, Md5Request } from './md5-worker.js';

export class Md5Hasher {
  readonly slots: Buffer[];
  private readonly worker: Worker;
  private readonly slotWaiters = new Map<number, () => void>();
  private readonly fileWaiters = new Map<number, (md5: string) => void>();
  private nextFile = 0;
  private failure: Error | undefined;

  constructor(
    slotCount: number,
    private readonly slotSize: number,
  ) {
    const shared = new SharedArrayBuffer(slotCount * slotSize);
    this.slots = Array.from({ length: slotCount }, (_, i) => Buffer.from(shared, i * slotSize, slotSize));
    this.worker = new Worker(new URL('./md5-worker.js', import.meta.url), { workerData: shared });
    this.worker.on('message', (m: Md5Reply) => {
      if ('md5' in m) {
        this.fileWaiters.get(m.file)?.(m.md5);
        this.fileWaiters.delete(m.file);
      } else {
        this.slotWaiters.get(m.slot)?.();
        this.slotWaiters.delete(m.slot);
      }
    });
    this.worker.on('error', (err) => {
      this.failure = err;
    });
  }

  startFile(): number {
    return this.nextFile++;
  }

  /** Hashes `length` bytes of slot `slot` into file `file`; resolves when the slot is free again. */
  update(file: number, slot: number, length: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const done = new Promise<void>((resolve) => this.slotWaiters.set(slot, resolve));
    this.worker.postMessage({ file, slot, length, slotSize: this.slotSize } satisfies Md5Request & { slotSize: number });
    return done;
  }

  digest(file: number): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const done = new Promise<string>((resolve) => this.fileWaiters.set(file, resolve));
    this.worker.postMessage({ file, end: true } satisfies Md5Request);
    return done;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
