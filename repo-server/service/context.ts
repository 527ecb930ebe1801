// Everything an operation needs, passed explicitly (no globals): the store, the blobs, the
// publisher, the locks and the configuration.

import type { FastifyBaseLogger } from 'fastify';
import type { Signer } from '../pgp/signer.js';
import type { Publisher } from '../publish/publisher.js';
import type { BlobStore } from '../storage/blobs.js';
import type { Inspections } from '../packages/inspections.js';
import type { MetadataStore } from '../storage/interfaces.js';
import type { KeyedMutex, Mutex } from '../../lib/concurrency.js';
import type { ColorConfig } from '../colors/color-groups.js';
import type { UnpackLimits } from '../../deb/unpack-limits.js';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  adminToken: string;
  /** Tokens that may only register/heartbeat units (color registry). */
  nodeTokens: string[];
  /** Whether GET /api/... needs a token too. */
  openReads: boolean;
  maxUploadBytes: number;
  keepGenerations: number;
  keepSeconds: number;
  defaultArchitectures: string[];
  compressXz: boolean;
  /** Public base URL written into .sources snippets (default: the request's host). */
  publicUrl?: string;
  /** Color registry, swap gates and the load-balancer adapter. */
  color: ColorConfig;
  /** Decompressed bytes one package may unpack to, all members together (`--max-unpacked`). */
  maxUnpackedBytes: number;
  /** Decompressed / package size allowed above `unpackRatioFloorBytes` (`--max-unpack-ratio`). */
  maxUnpackRatio: number;
  /** Decompressed bytes any package may reach whatever its ratio. */
  unpackRatioFloorBytes: number;
  /** How long a client may take (docs/repo-server.md, Limits and hardening). */
  timeouts: RequestTimeouts;
}

export interface RequestTimeouts {
  /** A request head must be complete within this. */
  headersMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: number;
  /** A request body slower than this (averaged over `bodyWindowMs`) is cut off. */
  bodyMinBytesPerSecond: number;
  bodyWindowMs: number;
}

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
  signer: Signer;
  /** Serialises metadata changes (store commits). */
  writes: Mutex;
  /** One publish at a time per prefix/distribution. */
  publishLocks: KeyedMutex;
  publicDir: string;
  log: FastifyBaseLogger;
}
