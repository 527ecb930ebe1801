// Package records and a published pool made in memory, for the publisher's unit tests
// (index writer, pool check, incremental publish): records with real-shaped keys and digests
// without building or storing any .deb.

import { hash } from 'node:crypto';
import type { PublishedPool } from '../../repo-server/publish/pool-check.js';
import type { PackageRecord } from '../../repo-server/storage/store.js';

export interface RecordSpec {
  name: string;
  /** Default amd64. */
  architecture?: string;
  /** What the file digests are taken of (default the name): same text, same "file". */
  digestOf?: string;
  /** The .deb's size in bytes (default 1). */
  size?: number;
  /** The Description field (its lines after the first start with a space); ignored with `control`. */
  description?: string;
  /** The whole control paragraph, instead of one built from the fields. */
  control?: string;
}

/** A version 1.0 package whose source is itself; key and digests follow from `digestOf`. */
export function packageRecord(spec: RecordSpec): PackageRecord {
  const { name, architecture = 'amd64', size = 1 } = spec;
  const sha = hash('sha256', spec.digestOf ?? name, 'hex');
  return {
    key: `P${architecture} ${name} 1.0 ${sha.slice(0, 16)}`,
    name,
    version: '1.0',
    architecture,
    source: name,
    sourceVersion: '1.0',
    control: spec.control ?? `Package: ${name}\nVersion: 1.0\nArchitecture: ${architecture}\nDescription: ${spec.description ?? name}\n`,
    file: { filename: `${name}_1.0_${architecture}.deb`, size, md5: sha.slice(0, 32), sha1: sha.slice(0, 40), sha256: sha, sha512: sha + sha },
  };
}

/** An in-memory published pool that counts what it is asked. */
export function memoryPool(): PublishedPool & { paths: Map<string, string>; gets: number; adds: number } {
  const paths = new Map<string, string>();
  const pool = {
    paths,
    gets: 0,
    adds: 0,
    get: (prefix: string, path: string) => {
      pool.gets++;
      return paths.get(`${prefix}\0${path}`);
    },
    add: async (prefix: string, files: [string, string][]) => {
      pool.adds++;
      for (const [path, sha] of files) paths.set(`${prefix}\0${path}`, sha);
    },
  };
  return pool;
}
