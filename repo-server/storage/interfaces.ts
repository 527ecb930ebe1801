// The seam between the repo server and its metadata backend, cut narrow (after aptly's
// aptly/interfaces.go): one read view per collection in aptly's vocabulary, one journal to
// change them, and the lifecycle. storage/store.ts (the journaled store) implements all of
// them; a second backend (etcd, issue 15) implements the same and passes the same conformance
// suite (test/support/store-conformance.ts).
//
// Changes are asynchronous (a remote backend answers over the network); reads are synchronous
// views. That is deliberate: the publish path walks a repo's 100k records in one synchronous
// pass (a consistent view without a transaction), and the raw HTTP front resolves every pool
// URL with two map lookups; neither can afford an await per record. A remote backend keeps a
// watched in-memory replica of its keys and serves these views from it, applying its own
// commits before acknowledging them (read-after-write), as the journaled store does.
//
// Contract of every view: the maps are owned by the store, callers never mutate them, and they
// change only when a commit is applied (never in between the synchronous steps of a caller).

import type { BlobLocation, Op, PackageRecord, PublishRecord, RepoRecord, SnapshotRecord } from './records.js';

/** Every package record, by aptly key ("P<arch> <name> <version> <fileshash>"). */
export interface PackageCollection {
  readonly packages: ReadonlyMap<string, PackageRecord>;
  /** identity() ("name version arch") → keys with it; a key set may be empty once its records are gone. */
  readonly byIdentity: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Package records deleted since the store was opened: a cache of records read earlier is
   * still whole while this has not moved. Process-local; a reopened store may start anywhere.
   */
  readonly packageDeletions: number;
}

/** Local repos and their package keys. */
export interface LocalRepoCollection {
  readonly repos: ReadonlyMap<string, RepoRecord>;
  readonly repoPackages: ReadonlyMap<string, ReadonlySet<string>>;
  /**
   * Each repo's keys in insertion order. An add appends to the same array, a removal replaces
   * it: an array read earlier has only grown since (the publisher reads just the new tail).
   */
  readonly repoOrder: ReadonlyMap<string, readonly string[]>;
}

export interface SnapshotCollection {
  readonly snapshots: ReadonlyMap<string, SnapshotRecord>;
}

/** Published distributions, by publishId(prefix, distribution). */
export interface PublishedRepoCollection {
  readonly publishes: ReadonlyMap<string, PublishRecord>;
}

/** What each published prefix serves under pool/: pool path → sha256. */
export interface PublishedPoolIndex {
  readonly publishedPool: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Where each blob's bytes are (storage/blobs.ts holds the bytes themselves). */
export interface BlobIndex {
  readonly blobs: ReadonlyMap<string, BlobLocation>;
}

/** aptly's upload area, kept as a manifest: directory → file name → sha256. */
export interface UploadArea {
  readonly uploads: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Derived queries garbage collection needs. */
export interface References {
  /** sha256 of every blob a package record or an upload names. */
  referencedBlobs(): Set<string>;
  /** Package keys a local repo or a snapshot names. */
  referencedKeys(): Set<string>;
}

/**
 * The one way to change metadata. A batch is all-or-nothing, durable before the promise
 * resolves, and visible in the views from then on. Commits may be issued concurrently: each
 * applies whole, in call order, so one caller's batches keep their order.
 */
export interface MetadataJournal {
  commit(batch: Op[]): Promise<void>;
}

/** Read views of everything, plus the journal: what a request handler needs. */
export interface MetadataStore
  extends PackageCollection,
    LocalRepoCollection,
    SnapshotCollection,
    PublishedRepoCollection,
    PublishedPoolIndex,
    BlobIndex,
    UploadArea,
    References,
    MetadataJournal {
  /** Waits for commits in flight, then releases the backend; the store is unusable after. */
  close(): Promise<void>;
}

/** Opens a backend at a location (a directory for the journaled store). */
export type MetadataStoreOpener = (location: string) => Promise<MetadataStore>;
