// The kill -9 child of the Store conformance suite, for the etcd store: opens the store whose
// key prefix is derived from argv[2] (as the parent's target does) on the cluster named by
// $DEBPKG_TEST_ETCD, and commits workload batches until it is killed.

import { EtcdStore } from '../../repo-server/storage/etcd-store.js';
import { runCommitLoop } from './store-conformance.js';
import { etcdStorePrefix } from './etcd-store-target.js';

const dir = process.argv[2];
const endpoints = process.env.DEBPKG_TEST_ETCD;
if (!dir || !endpoints) throw new Error('usage: DEBPKG_TEST_ETCD=<endpoints> etcd-store-child.js <store directory>');
await runCommitLoop(await EtcdStore.connect({ endpoints: endpoints.split(',') }, { prefix: etcdStorePrefix(dir) }));
