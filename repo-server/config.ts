// The repo server's configuration: server, color registry and load balancer, and the defaults
// a start fills in. A leaf module (types and defaults only; its one import is deb/'s unpack
// limits) so that service/, colors/ and http/ all read it without importing each other.

import { DEFAULT_UNPACK_LIMITS } from '../deb/unpack-limits.js';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  adminToken: string;
  /** Tokens that may only register/heartbeat units (color registry). */
  nodeTokens: string[];
  /** A token that may only scrape /metrics (`--metrics-token`, $DEBPKG_METRICS_TOKEN). */
  metricsToken?: string;
  /** Whether GET /api/... needs a token too. */
  openReads: boolean;
  maxUploadBytes: number;
  keepGenerations: number;
  keepSeconds: number;
  defaultArchitectures: string[];
  compressXz: boolean;
  /**
   * Keys that sign a publish that names none in `Signing.GpgKey` (aptly's `gpgKeys`; `--gpg-key`):
   * fingerprints, key ids or e-mail addresses in the default keyring (pgp/keyring.ts). Empty:
   * the server's own key. Two during a key rotation: every Release then carries both signatures.
   */
  signingKeys: string[];
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
  /** A group of servers sharing the color registry on etcd (`--etcd`); absent: embedded. */
  etcd?: EtcdConfig;
  /** Bounds of /api/events streams (http/event-stream.ts has the defaults). */
  events?: Partial<{ perToken: number; heartbeatMs: number; maxQueuedBytes: number; coalesceMs: number; beatMs: number }>;
  /**
   * A directory every server of the group mounts (`--shared-dir`, with `--etcd`): blobs,
   * published generations, the signing key and the tokens live there and the repo metadata
   * on etcd. Absent: both under the data directory (the embedded store).
   */
  sharedDir?: string;
  /**
   * Pool blobs on an S3-compatible object store (`--blobs s3://bucket/prefix`), shared by every
   * server that names it: storage/bytes-s3.ts. Absent: blobs on the data or shared directory.
   */
  blobs?: S3BlobsConfig;
  /**
   * With shared bytes (`--shared-dir` or S3): how long a blob stays unnamed before it may be
   * deleted (`--blob-grace`, default 1 h): dead blobs by GC, unnamed objects by the orphan
   * sweep (service/blob-gc.ts says why).
   */
  blobGraceMs?: number;
}

/** Where an S3 API is and how to sign for it (cluster/s3-client.ts). */
export interface S3Endpoint {
  /** http(s)://host:port of the S3 API (DEBPKG_S3_ENDPOINT); path-style requests. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Per-request idle timeout; a stalled server fails the call instead of hanging it. */
  timeoutMs?: number;
}

/** `--blobs s3://bucket/prefix` and its endpoint (storage/bytes-s3.ts). */
export interface S3BlobsConfig extends S3Endpoint {
  /** Key prefix inside the bucket ('' or without a trailing slash). */
  prefix: string;
  /**
   * Send HTTP Range for partial reads (default). false: read the object from its start and cut
   * locally, for servers whose Range answers are wrong (radosgw 18's dbstore).
   */
  rangeRequests?: boolean;
  /** Size bound of this server's read-through cache (`--s3-cache-max`; storage/blob-cache.ts). */
  cacheMaxBytes?: number;
}

export interface EtcdConfig {
  /** Client URLs of the etcd members (http:// or https://). */
  endpoints: string[];
  /** PEM files for https endpoints: CA, client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** One etcd request gives up after this long over all members (default 4 s). */
  timeoutMs?: number;
  /** Session lease of the LB-driving role in seconds (default 5). */
  leaseTtlSeconds?: number;
  /** Key prefix of the registry (default /debpkg/colors/). */
  prefix?: string;
  /** Key prefix of the repo metadata with a shared directory (default /debpkg/repo/). */
  repoPrefix?: string;
  /** Operations one etcd transaction may carry (etcd's --max-txn-ops; default 128). */
  maxTxnOps?: number;
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

/** Generous for honest clients on slow links; tight enough that a trickling one is cut. */
export const DEFAULT_TIMEOUTS: RequestTimeouts = {
  headersMs: 20_000,
  keepAliveMs: 72_000,
  bodyMinBytesPerSecond: 1024,
  bodyWindowMs: 15_000,
};

export interface ColorConfig {
  /** A unit without a heartbeat for this long leaves the pool (default 10 s). */
  ttlMs: number;
  /** Heartbeat interval suggested to agents (default: a fifth of the TTL, so a unit outlives four missed heartbeats). */
  intervalMs?: number;
  /** Gate probes each unit's health URL from the server (default on). */
  probe: boolean;
  probeTimeoutMs: number;
  lb?: LbConfig;
}

export const DEFAULT_COLOR_CONFIG: ColorConfig = { ttlMs: 10_000, probe: true, probeTimeoutMs: 1_000 };

/** The heartbeat interval the server suggests: the configured one, else a fifth of the TTL (at least 0.1 s). */
export function heartbeatIntervalMs(c: Pick<ColorConfig, 'ttlMs' | 'intervalMs'>): number {
  return c.intervalMs ?? Math.max(100, Math.round(c.ttlMs / 500) * 100);
}

export interface LbConfig {
  /** One of the adapters listed in colors/lb/adapters.ts ('haproxy', 'nginx'); checked when opened. */
  adapter: string;
  /** Run the LB process ourselves, with its files under `dir` (default <data>/lb/<adapter>). */
  manage: boolean;
  dir?: string;
  configFile?: string;
  socket?: string;
  stateFile?: string;
  reloadCommand?: string[];
}

/** What a caller (`debpkg serve`, a test) sets; the nested groups may be given in part. */
export type ServerOverrides = Partial<Omit<ServerConfig, 'color' | 'timeouts'>> & {
  color?: Partial<ServerConfig['color']>;
  timeouts?: Partial<ServerConfig['timeouts']>;
};

/** The full configuration: defaults, then `overrides`. Empty tokens are filled at start (tokens.ts). */
export function defaultConfig(overrides: ServerOverrides = {}): ServerConfig {
  return {
    dataDir: process.env.DEBPKG_DATA ?? './var',
    host: '127.0.0.1',
    port: 8080,
    adminToken: '',
    nodeTokens: [],
    openReads: false,
    maxUploadBytes: 2 * 1024 ** 3,
    keepGenerations: 5,
    keepSeconds: 600,
    defaultArchitectures: ['amd64', 'arm64'],
    compressXz: true,
    signingKeys: [],
    maxUnpackedBytes: DEFAULT_UNPACK_LIMITS.maxUnpacked,
    maxUnpackRatio: DEFAULT_UNPACK_LIMITS.maxRatio,
    unpackRatioFloorBytes: DEFAULT_UNPACK_LIMITS.ratioFloor,
    ...overrides,
    color: { ...DEFAULT_COLOR_CONFIG, ...overrides.color },
    timeouts: { ...DEFAULT_TIMEOUTS, ...overrides.timeouts },
  };
}
