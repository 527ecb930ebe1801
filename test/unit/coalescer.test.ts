// service/coalescer.ts: updates of one key queued while a run is under way fold into the next
// batch, each answered; and when the key's lock itself fails (etcd without quorum), the batch's
// requests get that error instead of an unhandled rejection (which ended the server process:
// test/integration/etcd-repo.test.ts), and the next request starts a batch of its own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyedMutex } from '../../lib/concurrency.js';
import { Coalescer, type Queued } from '../../repo-server/service/coalescer.js';

const doubled = async (_key: string, batch: Queued<number, number>[]): Promise<void> => {
  for (const q of batch) q.resolve(q.change * 2);
};

test('requests queued behind a run fold into one batch; each gets its own answer', async () => {
  const batches: number[][] = [];
  const c = new Coalescer<number, number>(new KeyedMutex(), async (key, batch) => {
    batches.push(batch.map((q) => q.change));
    await new Promise((r) => setTimeout(r, 20));
    await doubled(key, batch);
  });
  const answers = await Promise.all([c.submit('d', 1), c.submit('d', 2), c.submit('d', 3)]);
  assert.equal(answers, [2, 4, 6]);
  assert.equal(batches, [[1, 2, 3]]);
});

test('a lock that fails rejects its batch with the lock\'s error; the next request runs', async () => {
  let failing = true;
  const locks = {
    run: <T>(_key: string, fn: () => Promise<T>): Promise<T> => (failing ? Promise.reject(new Error('etcd is unreachable (grant a lease)')) : fn()),
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const c = new Coalescer<number, number>(locks, doubled);
    const results = await Promise.allSettled([c.submit('d', 1), c.submit('d', 2)]);
    assert.equal(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value)), ['etcd is unreachable (grant a lease)', 'etcd is unreachable (grant a lease)']);
    failing = false;
    assert.is(await c.submit('d', 5), 10);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test.run();
