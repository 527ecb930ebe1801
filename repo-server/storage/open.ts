// Where a server keeps its repo: the embedded default (journaled store and blobs under the data
// directory, publishes serialised in this process), or a group's shared state (metadata on
// etcd, bytes on a directory every server mounts, publishes serialised by an etcd lock).
// With --blobs s3://… the pool blobs live on an object store (storage/bytes-s3.ts) and the
// directory keeps a read-through cache of them; with --etcd as well and no --shared-dir, the
// published generations live there too (publish/remote-generations.ts) and nothing is shared
// but etcd and the bucket: each server's directory is its own cache and workspace. Start-up garbage collection and the legacy-layout migration run only embedded: on a shared
// directory another server may be writing a pack that its metadata does not name yet.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KeyedMutex } from '../../lib/concurrency.js';
import { EtcdClient } from '../cluster/etcd-client.js';
import { EtcdLocks } from '../cluster/lock.js';
import type { ServerConfig } from '../config.js';
import { collectAtStartup } from '../service/blob-gc.js';
import { migrateLegacyLayout } from '../service/legacy.js';
import { DEFAULT_CACHE_MAX_BYTES } from './blob-cache.js';
import { BlobStore } from './blobs.js';
import { S3Bytes } from './bytes-s3.js';
import { EtcdStore } from './etcd-store.js';
import type { MetadataStore } from './interfaces.js';
import type { ByteStore } from './bytes.js';
import { Store } from './store.js';
import { EtcdSweepClaims, LocalSweepClaims } from './sweep-claims.js';

export interface OpenedStorage {
  store: MetadataStore;
  blobs: BlobStore;
  publishLocks: Pick<KeyedMutex, 'run'>;
  /** The directory of blobs, generations, the public tree, keys and tokens. */
  shared: string;
  /** Where published generations live when not on the directory: the S3 byte store. */
  generationStore?: ByteStore;
  /** Releases what the store's close() does not (the etcd client of the locks). */
  closeShared(): void;
}

export async function openStorage(config: ServerConfig): Promise<OpenedStorage> {
  const data = config.dataDir;
  if (config.sharedDir && !config.etcd) throw new Error('--shared-dir needs --etcd: the servers sharing a directory keep their metadata on etcd');
  const shared = config.sharedDir ? resolve(config.sharedDir) : data;
  for (const d of ['public', 'generations', 'keys']) await mkdir(join(shared, d), { recursive: true });
  const remote = config.blobs ? new S3Bytes(config.blobs) : undefined;
  // Bad credentials, a missing bucket or an unreachable endpoint stop the start, named.
  await remote?.checkAccess();
  // With S3 each server's cache of it is its own (under --data): the object store is what they share.
  const blobs = remote ? new BlobStore(data, remote, { maxBytes: config.blobs?.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES }) : new BlobStore(shared);
  await blobs.init();
  // A group on S3 alone: metadata on etcd, generations on the bucket, no directory in common.
  const etcd = config.etcd;
  const onS3Alone = remote !== undefined && etcd !== undefined && !config.sharedDir;
  if (!etcd || (!onS3Alone && !config.sharedDir)) {
    await mkdir(join(data, 'db'), { recursive: true });
    const store = await Store.open(join(data, 'db'));
    await migrateLegacyLayout(store, blobs, data);
    await collectAtStartup(store, blobs);
    if (remote) blobs.claims = new LocalSweepClaims();
    return { store, blobs, publishLocks: new KeyedMutex(), shared, closeShared: () => undefined };
  }
  const { leaseTtlSeconds, repoPrefix = '/debpkg/repo/', maxTxnOps } = etcd;
  const store = await EtcdStore.connect(etcd, { prefix: repoPrefix, ...(maxTxnOps ? { maxTxnOps } : {}) });
  const client = new EtcdClient(etcd);
  const publishLocks = new EtcdLocks(client, {
    // Beside the metadata, not under it: the store's watch need not see lock traffic.
    prefix: `${repoPrefix.replace(/\/+$/, '')}-locks/`,
    ttlSeconds: leaseTtlSeconds ?? 5,
    // The lock holder publishes from what etcd holds now, not from a replica a watch behind.
    onAcquired: () => store.catchUp(),
  });
  if (remote) blobs.claims = new EtcdSweepClaims(store, client, repoPrefix);
  return { store, blobs, publishLocks, shared, ...(onS3Alone ? { generationStore: remote } : {}), closeShared: () => client.close() };
}
