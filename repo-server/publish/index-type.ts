// What one kind of index (Packages today; Sources, Contents later) tells the index writer:
// where its files go, a digest of what it would write (an unchanged digest reuses the previous
// generation's files), and how to write them. Each kind keeps its own caches.

import type { PackageRecord } from '../storage/store.js';
import type { Segments } from './segments.js';

export interface FileDigest {
  size: number;
  sha256: string;
  sha512: string;
}

/** One index to publish: a component's, for one architecture. */
export interface IndexTarget {
  component: string;
  architecture: string;
  /** The pool area its Filename fields point into (MultiDist: <dist>/<component>). */
  area: string;
  /** The component's packages, in source order (a copy: never changed afterwards). */
  packages: PackageRecord[];
  /** The pool directory a package's files are served from (pool-check.ts recordDir). */
  dirOf(p: PackageRecord): string;
}

/** The publish an index is written for. */
export interface IndexPublish {
  /** generations/<prefix>/<dist>: caches are per distribution. */
  genRoot: string;
  /** Where this publish stores large files as splices. */
  segments: Segments;
  compressXz: boolean;
}

export interface WrittenIndex {
  /** The files shipped, as named in the index's directory (a splice: `<name>.parts`). */
  names: string[];
  /** Digests of files written just now, as published (known without reading them back). */
  digests: Record<string, FileDigest>;
  /** Listed in the Release without being shipped (by name in the index's directory). */
  listed: Record<string, FileDigest>;
  /** Absolute paths of every file written (to be dated and fsync'd). */
  written: string[];
  /** Called once the generation is durable (a cache may then build on these files). */
  durable?(): void;
}

export interface PreparedIndex {
  /** Equal to the previous generation's digest for the same key: its files are reused as they are. */
  digest: string;
  /** Writes the index's files into `absDir` (which exists). */
  write(absDir: string): Promise<WrittenIndex>;
}

export interface IndexType {
  /** For logs and errors: "Packages". */
  readonly name: string;
  /** The architectures it has indexes for, of the distribution's (Sources: none of them but "source"). */
  architectures(distribution: string[]): string[];
  /** The index's directory under dists/<dist>, e.g. main/binary-amd64. */
  dir(component: string, architecture: string): string;
  /** Its key in the generation manifest (unique across types). */
  key(component: string, architecture: string): string;
  /** Whether its directory gets the small per-directory Release (Archive, Component, Architecture…). */
  readonly directoryRelease: boolean;
  /** Whether a component with these packages has this index at all (absent: always). */
  wanted?(packages: readonly PackageRecord[]): boolean;
  prepare(target: IndexTarget, publish: IndexPublish): PreparedIndex;
  /** Drops the caches of an unpublished distribution. */
  forget(genRoot: string): void;
}
