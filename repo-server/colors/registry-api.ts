// What the HTTP surface and the status readers need of a color registry and a swap engine, so
// that the embedded registry (one process, registry.ts + swap.ts) and the etcd one (a group of
// servers, etcd/) answer the same routes. Writes may be asynchronous (etcd answers them).

import type { LbAdapter } from './lb/adapter.js';
import type { HeartbeatInput, ServiceEdit, ServiceRecord, SwapRecord, Unit } from './model.js';
import type { SwapPreview, SwapRequest } from './swap.js';

export type MaybePromise<T> = T | Promise<T>;

export type { ServiceEdit } from './model.js';

export interface ColorRegistry {
  readonly options: { ttlMs: number; intervalMs: number };
  readonly now: () => number;
  alive(u: Unit): boolean;
  list(): ServiceRecord[];
  get(name: string): ServiceRecord;
  historyOf(service: string): SwapRecord[];
  heartbeat(service: string, node: string, input: HeartbeatInput): MaybePromise<Unit>;
  deregister(service: string, node: string): MaybePromise<boolean>;
  configure(name: string, edit: ServiceEdit): MaybePromise<ServiceRecord>;
  remove(name: string): MaybePromise<boolean>;
}

export interface Swapper {
  swap(service: string, req: SwapRequest): Promise<SwapRecord>;
  rollback(service: string, user: string, force?: boolean): Promise<SwapRecord>;
  /** Dry runs through the same gate (the etcd driver has none yet: the routes answer 501). */
  previewSwap?(service: string, req: Omit<SwapRequest, 'user'>): Promise<SwapPreview>;
  previewRollback?(service: string, force?: boolean): Promise<SwapPreview>;
}

/** Keeps the LB in step with the registry (lb-sync.ts; in a group only the leader applies). */
export interface LbDriver {
  readonly adapter: LbAdapter | undefined;
  sync(): Promise<void>;
  close(): Promise<void>;
}


export type { ChangeFeed, RegistryChange } from './change-feed.js';
