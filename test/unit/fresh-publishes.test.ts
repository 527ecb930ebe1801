// The catch-up reads a lagging S3-generations replica makes before a dists/ 404
// (http/static/remote-dists.ts FreshPublishes): each request is answered by a read begun after it
// arrived, concurrent requests share reads, one client asking again and again for a name no
// distribution has gets at most one read per 100 ms, and a read that hangs leaves the 404.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { FreshPublishes } from '../../repo-server/http/static/remote-dists.js';
import type { PublishRecord } from '../../repo-server/storage/records.js';

// The reads' timers are unref'd (a server's listener keeps its process alive): here a timer does.
let alive: NodeJS.Timeout | undefined;
test.before(() => {
  alive = setInterval(() => undefined, 1000);
});
test.after(() => clearInterval(alive));

/** A reader that records when each read began and answers after `ms`. */
function reader(ms = 1): { read: () => Promise<PublishRecord[]>; starts: number[] } {
  const starts: number[] = [];
  return {
    starts,
    read: async () => {
      starts.push(performance.now());
      await sleep(ms);
      return [];
    },
  };
}

test('one after another: every answer comes from a read begun after the request, at most one read per 100 ms', async () => {
  const r = reader();
  const fresh = new FreshPublishes(r.read);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) {
    const asked = performance.now();
    const ticket = fresh.ticket();
    assert.ok(await fresh.since(ticket), 'answered');
    assert.ok(r.starts.at(-1)! >= asked, `read ${i} began after request ${i}`);
  }
  const took = performance.now() - t0;
  assert.is(fresh.reads, 10);
  for (let i = 1; i < r.starts.length; i++) assert.ok(r.starts[i]! - r.starts[i - 1]! >= 99, `reads ${i - 1} and ${i} began ${(r.starts[i]! - r.starts[i - 1]!).toFixed(1)} ms apart`);
  assert.ok(took >= 900, `10 requests took ${took.toFixed(0)} ms`);
});

test('at once: 50 requests share at most 2 reads', async () => {
  const r = reader(20);
  const fresh = new FreshPublishes(r.read);
  await fresh.since(fresh.ticket());
  const before = fresh.reads;
  const answers = await Promise.all(Array.from({ length: 50 }, () => fresh.since(fresh.ticket())));
  assert.ok(answers.every((a) => a !== undefined));
  assert.ok(fresh.reads - before <= 2, `${fresh.reads - before} reads`);
});

test('a read that hangs or fails leaves the 404 (undefined), within the timeout', async () => {
  const hang = new FreshPublishes(() => new Promise<PublishRecord[]>(() => undefined), 150);
  const t0 = performance.now();
  assert.is(await hang.since(hang.ticket()), undefined);
  assert.ok(performance.now() - t0 < 1000);
  const failing = new FreshPublishes(() => Promise.reject(new Error('etcd is unreachable')));
  assert.is(await failing.since(failing.ticket()), undefined);
});

test.run();
