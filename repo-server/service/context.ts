// Everything an operation needs, passed explicitly (no globals): the store, the blobs, the
// publisher, the locks and the configuration.

import type { SigningKeyring } from '../pgp/keyring.js';
import type { Signer } from '../pgp/signer.js';
import type { Publisher } from '../publish/publisher.js';
import type { BlobStore } from '../storage/blobs.js';
import type { Inspections } from '../packages/inspections.js';
import type { MetadataStore } from '../storage/interfaces.js';
import type { KeyedMutex, Mutex } from '../../lib/concurrency.js';
import type { ServerConfig } from '../config.js';
import type { Log } from '../model/log.js';
import type { UnpackLimits } from '../../deb/unpack-limits.js';

/** The configuration types live in ../config.ts (a leaf every folder may import). */
export type { RequestTimeouts, ServerConfig } from '../config.js';

/** The unpack limits of a configuration, as the package readers take them. */
export function unpackLimits(config: ServerConfig): UnpackLimits {
  return { maxUnpacked: config.maxUnpackedBytes, maxRatio: config.maxUnpackRatio, ratioFloor: config.unpackRatioFloorBytes };
}

export interface Context {
  config: ServerConfig;
  store: MetadataStore;
  blobs: BlobStore;
  /** Inspections of small packages made while they were uploaded. */
  inspections: Inspections;
  publisher: Publisher;
  /** The server's own key (the default signer; its public half is /keys/archive.asc). */
  signer: Signer;
  /** Every key the server may sign with, chosen by a publish's Signing options. */
  keyring: SigningKeyring;
  /** Serialises metadata changes (store commits). */
  writes: Mutex;
  /** One publish at a time per prefix/distribution (group-wide on etcd: cluster/lock.ts). */
  publishLocks: Pick<KeyedMutex, 'run'>;
  publicDir: string;
  /** keys/ of the data directory, or of the shared directory in a group: signing and trusted keyrings. */
  keysDir: string;
  log: Log;
}
