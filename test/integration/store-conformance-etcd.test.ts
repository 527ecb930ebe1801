// The Store conformance suite (test/support/store-conformance.ts) against the etcd store
// (repo-server/storage/etcd-store.ts), on a real 3-member etcd cluster. A commit is one etcd
// transaction, so there is no file a crash could tear: the crash points are empty and the
// kill -9 child (committing in a loop) is what checks "acknowledged survives, nothing mixed in".
// A small --max-txn-ops is not used: the workload's batches fit etcd's default of 128.

import { fileURLToPath } from 'node:url';
import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { EtcdStore } from '../../repo-server/storage/etcd-store.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import * as assert from 'uvu/assert';
import { storeConformance } from '../support/store-conformance.js';
import { fingerprint, indexProblems } from '../support/store-workload.js';
import { etcdStorePrefix } from '../support/etcd-store-target.js';

let etcd: EtcdCluster | undefined;

const s = storeConformance({
  name: 'etcd store (storage/etcd-store.ts)',
  open: (dir) => EtcdStore.connect({ endpoints: etcd!.endpoints.split(',') }, { prefix: etcdStorePrefix(dir) }),
  crashPoints: [],
  crashChild: fileURLToPath(new URL('../support/etcd-store-child.js', import.meta.url)),
  ...(process.env.DEBPKG_TEST_TMP ? { tmp: process.env.DEBPKG_TEST_TMP } : {}),
});
s.before(async () => {
  etcd = await startEtcdCluster();
  process.env.DEBPKG_TEST_ETCD = etcd.endpoints;
});
s.after(async () => {
  await etcd?.stop();
});

// Beyond the shared suite: what a group of servers needs. Two replicas on one prefix commit at
// once (the revision guard makes one of each racing pair plan again); each sees the other's
// commits through its watch, and both end with the same state.
s('two replicas committing at once: every commit lands once, in each caller\'s order, and both replicas converge', async () => {
  const ep = { endpoints: etcd!.endpoints.split(',') };
  const prefix = etcdStorePrefix(`two-replicas-${process.pid}`);
  const a = await EtcdStore.connect(ep, { prefix });
  const b = await EtcdStore.connect(ep, { prefix });
  try {
    await a.commit([{ op: 'repo', repo: { name: 'shared', comment: '', defaultDistribution: '', defaultComponent: '' } }]);
    await b.catchUp();
    assert.ok(b.repos.has('shared'), 'b sees a\'s repo');
    const M = 30;
    const writer = (st: EtcdStore, who: string): Promise<void[]> =>
      Promise.all(Array.from({ length: M }, (_, j) => st.commit([{ op: 'repo-add', name: 'shared', keys: [`${who}-${j}`] }, { op: 'up', dir: who, files: [[`f${j}`, 'a'.repeat(64)]] }])));
    await Promise.all([writer(a, 'a'), writer(b, 'b')]);
    await a.catchUp();
    await b.catchUp();
    for (const st of [a, b]) {
      const order = st.repoOrder.get('shared') ?? [];
      assert.is(order.length, 2 * M, 'every commit landed once');
      for (const who of ['a', 'b']) assert.equal(order.filter((k) => k.startsWith(`${who}-`)), Array.from({ length: M }, (_, j) => `${who}-${j}`), `${who}'s commits in order`);
      assert.equal(indexProblems(st), []);
    }
    assert.ok(fingerprint(a) === fingerprint(b), 'both replicas hold the same state');
  } finally {
    await a.close();
    await b.close();
  }
});

// The guard is what keeps netted changes exact: a repo-add planned against a replica that has
// not yet seen a concurrent repo-del would otherwise leave references of a deleted repo in etcd.
s('a repo deleted on one replica while another adds to it: no reference outlives its repo in etcd', async () => {
  const ep = { endpoints: etcd!.endpoints.split(',') };
  const prefix = etcdStorePrefix(`del-race-${process.pid}`);
  const a = await EtcdStore.connect(ep, { prefix });
  const b = await EtcdStore.connect(ep, { prefix });
  const client = new EtcdClient(ep);
  try {
    for (let round = 0; round < 15; round++) {
      await a.commit([{ op: 'repo', repo: { name: 'x', comment: '', defaultDistribution: '', defaultComponent: '' } }]);
      await b.catchUp();
      await Promise.all([a.commit([{ op: 'repo-del', name: 'x' }]), ...Array.from({ length: 4 }, (_, j) => b.commit([{ op: 'repo-add', name: 'x', keys: [`k${round}-${j}`] }]))]);
      const repo = await client.get(`${prefix}repo/x`);
      const refs = (await client.range(`${prefix}ref/x/`, true)).kvs;
      assert.ok(repo !== undefined || refs.length === 0, `round ${round}: ${refs.length} references of the deleted repo x are left`);
    }
  } finally {
    client.close();
    await a.close();
    await b.close();
  }
});
s.run();
