// How the Store conformance suite names an etcd store: its temp directory becomes a key prefix,
// so every case (and the kill -9 child) gets a keyspace of its own on the shared test cluster.

import { basename } from 'node:path';

export function etcdStorePrefix(dir: string): string {
  return `/debpkg-conformance/${basename(dir)}/`;
}
