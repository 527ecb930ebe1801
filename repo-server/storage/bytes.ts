// The seam between the repo server and where its bytes live (issue 15), cut as narrow as
// aptly's storage interfaces: whole immutable objects under keys, nothing else. Two backends
// implement it: a directory (local, or one every server of a group mounts: NFS, CephFS, EFS)
// and an S3-compatible object store. Both pass the same conformance checks
// (test/support/bytes-conformance.ts), the S3 one against a real radosgw.
//
// The contract that makes a shared backend safe for several servers:
// - put is all-or-nothing: a reader sees no object, or the whole object whose SHA-256 the
//   writer declared (verified before it becomes visible; a mismatch is an error, nothing stays);
// - objects are immutable once put: keys are content addresses (pool) or live under a prefix
//   that is never rewritten (a published generation), so a reader never sees bytes change;
// - what is current (which generation is live) is never a byte-store fact: it is a metadata
//   pointer (etcd or the journaled store), read once per request.

import type { Readable } from 'node:stream';

export interface ObjectInfo {
  size: number;
  mtime: Date;
}

/** Bytes to put: a buffer, or a stream of exactly `size` bytes. */
export interface PutBody {
  data: Buffer | Readable;
  size: number;
  /** Hex SHA-256 the bytes must have. */
  sha256: string;
}

/** Inclusive byte range, as HTTP's Range header counts. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A put whose bytes did not hash to what the writer declared; nothing was stored. */
export class DigestMismatchError extends Error {
  constructor(readonly key: string) {
    super(`${key}: the bytes do not match their declared SHA-256; nothing was stored`);
  }
}

export interface ByteStore {
  /** 'directory' or 's3', for messages and metrics. */
  readonly kind: string;
  /** Where, for messages (a path or s3://bucket/prefix). */
  readonly location: string;
  /** Stores the object whole under `key` once its bytes hashed to body.sha256. */
  put(key: string, body: PutBody): Promise<void>;
  /** The object's bytes, or a range of them; undefined when there is no such object. */
  get(key: string, range?: ByteRange): Promise<Readable | undefined>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Removes the object; removing a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`, in no promised order (for garbage collection). */
  list(prefix: string): AsyncIterable<string>;
}

const KEY = /^[A-Za-z0-9._~+-]+(\/[A-Za-z0-9._~+-]+)*$/;

/** Keys are relative slash paths without '.', '..' or empty segments (safe as file paths too). */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`invalid object key '${key}'`);
  return key;
}

/** The pool's content address of a blob: pool/<2 hex>/<sha256>. */
export function blobKey(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`invalid sha256 '${sha256}'`);
  return `pool/${sha256.slice(0, 2)}/${sha256}`;
}
