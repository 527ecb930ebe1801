// The repo metadata's key layout on etcd, one key per record (as aptly 1.6 keeps its database
// on etcd), and the translation of a journal batch (records.ts Op[]) into the puts and deletes
// it nets out to against the current state. Netting matters: an etcd transaction may not name
// one key twice, and a batch may add and remove the same key; prefix deletes (a repo's refs,
// an upload directory, a published prefix's pool) are expanded from the watched state, which
// the commit's revision guard proves current.

import type { Op } from './records.js';

export const enc = encodeURIComponent;

/** Keys relative to the store's prefix. */
export const K = {
  /** The revision guard: every commit compares its mod revision and rewrites it. */
  seq: 'seq',
  pkg: (key: string) => `pkg/${enc(key)}`,
  repo: (name: string) => `repo/${enc(name)}`,
  /** A repo's package reference; the value is its index within the committing batch. */
  ref: (name: string, key: string) => `ref/${enc(name)}/${enc(key)}`,
  snap: (name: string) => `snap/${enc(name)}`,
  pub: (prefix: string, dist: string) => `pub/${enc(prefix)}/${enc(dist)}`,
  blob: (sha: string) => `blob/${sha}`,
  up: (dir: string, name: string) => `up/${enc(dir)}/${enc(name)}`,
  pool: (prefix: string, path: string) => `pool/${enc(prefix)}/${path}`,
};

export type ParsedKey =
  | { kind: 'seq' }
  | { kind: 'pkg'; key: string }
  | { kind: 'repo'; name: string }
  | { kind: 'ref'; name: string; key: string }
  | { kind: 'snap'; name: string }
  | { kind: 'pub'; prefix: string; distribution: string }
  | { kind: 'blob'; sha: string }
  | { kind: 'up'; dir: string; name: string }
  | { kind: 'pool'; prefix: string; path: string };

/** The record a relative key names, or undefined for a key this store never writes. */
export function parseKey(rel: string): ParsedKey | undefined {
  const slash = rel.indexOf('/');
  if (slash < 0) return rel === K.seq ? { kind: 'seq' } : undefined;
  const kind = rel.slice(0, slash);
  const rest = rel.slice(slash + 1);
  const two = (): [string, string] | undefined => {
    const i = rest.indexOf('/');
    return i < 0 ? undefined : [decodeURIComponent(rest.slice(0, i)), rest.slice(i + 1)];
  };
  switch (kind) {
    case 'pkg':
      return { kind, key: decodeURIComponent(rest) };
    case 'repo':
      return { kind, name: decodeURIComponent(rest) };
    case 'snap':
      return { kind, name: decodeURIComponent(rest) };
    case 'pub': {
      const t = two();
      return t && { kind, prefix: t[0], distribution: decodeURIComponent(t[1]) };
    }
    case 'blob':
      return { kind, sha: rest };
    case 'ref': {
      const t = two();
      return t && { kind, name: t[0], key: decodeURIComponent(t[1]) };
    }
    case 'up': {
      const t = two();
      return t && { kind, dir: t[0], name: decodeURIComponent(t[1]) };
    }
    case 'pool': {
      const t = two();
      return t && { kind, prefix: t[0], path: t[1] };
    }
  }
  return undefined;
}

/** What the planner reads of the current (watched) state. */
export interface PlanState {
  hasRepo(name: string): boolean;
  hasRef(name: string, key: string): boolean;
  refsOf(name: string): Iterable<string>;
  uploadNames(dir: string): Iterable<string>;
  poolPaths(prefix: string): Iterable<string>;
}

/** Relative key → new value, or null for a delete; insertion order is the transaction's order. */
export type NetChanges = Map<string, string | null>;

/** The net puts and deletes of `batch` applied to `state`, in the order the Store would apply them. */
export function planBatch(batch: Op[], state: PlanState): NetChanges {
  const out: NetChanges = new Map();
  const set = (k: string, v: string | null): void => {
    // Re-inserted at the end, so the transaction's order is the order of last change.
    out.delete(k);
    out.set(k, v);
  };
  const present = (k: string, before: () => boolean): boolean => (out.has(k) ? out.get(k) !== null : before());
  const under = (prefix: string, existing: Iterable<string>, key: (x: string) => string): string[] => {
    const keys = new Set<string>();
    for (const x of existing) keys.add(key(x));
    for (const [k, v] of out) if (k.startsWith(prefix)) (v === null ? keys.delete(k) : keys.add(k));
    return [...keys].filter((k) => present(k, () => true));
  };
  let index = 0;
  for (const op of batch) {
    switch (op.op) {
      case 'pkg':
        set(K.pkg(op.rec.key), JSON.stringify(op.rec));
        break;
      case 'pkg-del':
        set(K.pkg(op.key), null);
        break;
      case 'repo':
        set(K.repo(op.repo.name), JSON.stringify(op.repo));
        break;
      case 'repo-del':
        set(K.repo(op.name), null);
        for (const k of under(`ref/${enc(op.name)}/`, state.refsOf(op.name), (x) => K.ref(op.name, x))) set(k, null);
        break;
      case 'repo-add':
        if (!present(K.repo(op.name), () => state.hasRepo(op.name))) break;
        for (const key of op.keys) {
          const k = K.ref(op.name, key);
          if (!present(k, () => state.hasRef(op.name, key))) set(k, String(index++));
        }
        break;
      case 'repo-rm':
        if (!present(K.repo(op.name), () => state.hasRepo(op.name))) break;
        for (const key of op.keys) set(K.ref(op.name, key), null);
        break;
      case 'snap':
        set(K.snap(op.snap.name), JSON.stringify(op.snap));
        break;
      case 'snap-del':
        set(K.snap(op.name), null);
        break;
      case 'pub':
        set(K.pub(op.pub.prefix, op.pub.distribution), JSON.stringify(op.pub));
        break;
      case 'pub-del':
        set(K.pub(op.prefix, op.distribution), null);
        break;
      case 'blobs':
        for (const [sha, offset, size] of op.entries) set(K.blob(sha), JSON.stringify([op.pack, offset, size]));
        break;
      case 'loose':
        set(K.blob(op.sha256), JSON.stringify(['', 0, op.size]));
        break;
      case 'blob-del':
        for (const sha of op.shas) set(K.blob(sha), null);
        break;
      case 'up':
        for (const [name, sha] of op.files) set(K.up(op.dir, name), sha);
        break;
      case 'up-rm': {
        const names = op.names ?? under(`up/${enc(op.dir)}/`, state.uploadNames(op.dir), (n) => K.up(op.dir, n)).map((k) => decodeURIComponent(k.slice(`up/${enc(op.dir)}/`.length)));
        for (const n of names) set(K.up(op.dir, n), null);
        break;
      }
      case 'pool-pub':
        for (const [path, sha] of op.files) set(K.pool(op.prefix, path), sha);
        break;
      case 'pool-unpub':
        for (const k of under(`pool/${enc(op.prefix)}/`, state.poolPaths(op.prefix), (p) => K.pool(op.prefix, p))) set(k, null);
        break;
    }
  }
  // A delete of a key that does not exist is harmless in etcd; a put of an unchanged ref would
  // not be (it keeps its create revision but changes its index), which the planner never emits.
  return out;
}
