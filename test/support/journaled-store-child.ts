// The kill -9 child of the Store conformance suite, for the journaled store: opens the store at
// argv[2] with a small compaction threshold (so kills also land inside compactions) and
// commits workload batches until it is killed.

import { Store } from '../../repo-server/storage/store.js';
import { runCommitLoop } from './store-conformance.js';

export const CHILD_COMPACT_BYTES = 24 << 10;

const dir = process.argv[2];
if (!dir) throw new Error('usage: journaled-store-child.js <store directory>');
await runCommitLoop(await Store.open(dir, { compactBytes: CHILD_COMPACT_BYTES }));
