// What the orphan sweep's claims cost an upload on etcd (storage/sweep-claims.ts sweptSince:
// after its commit, an upload reads the claims of its blobs, linearizably). A real 3-member etcd
// on loopback, 500 tombstones present as a sweep leaves them; 200 calls per upload size, and one
// bare linearizable GET for comparison. Printed; docs/operations.md keeps the figures.
//
// Usage: npm run bench:claims   (CALLS=200)

import { randomBytes } from 'node:crypto';
import { EtcdClient } from '../repo-server/cluster/etcd-client.js';
import { EtcdStore } from '../repo-server/storage/etcd-store.js';
import { EtcdSweepClaims } from '../repo-server/storage/sweep-claims.js';
import { startEtcdCluster } from '../test/support/etcd-cluster.js';

const CALLS = Number(process.env.CALLS ?? 200);
const sha = (): string => randomBytes(32).toString('hex');

function quantiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): string => s[Math.min(s.length - 1, Math.floor(s.length * q))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

const etcd = await startEtcdCluster();
try {
  const conn = { endpoints: etcd.endpoints.split(',') };
  const client = new EtcdClient(conn);
  const prefix = '/debpkg-bench/claims/';
  const store = await EtcdStore.connect(conn, { prefix });
  const claims = new EtcdSweepClaims(store, client, prefix);
  const tombstones = Array.from({ length: 500 }, sha);
  for (let i = 0; i < tombstones.length; i += 100) {
    const batch = tombstones.slice(i, i + 100);
    await claims.claim(batch, () => () => false);
    await claims.release(batch);
  }
  for (const n of [1, 8, 32, 100]) {
    const ms = await timed(() => claims.sweptSince(store.revision, Array.from({ length: n }, sha)));
    console.log(`claims check of an upload of ${n} blob(s): ${quantiles(ms)}`);
  }
  console.log(`one linearizable GET: ${quantiles(await timed(() => client.get(`${prefix}none`)))}`);
  await store.close();
  client.close();
} finally {
  await etcd.stop();
}
