// test/support/start-all.ts: when one of several services fails to start, those that started
// are stopped (else nothing holds them and they keep the test process alive) and the failure
// is thrown; when all start, they come back in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAll } from '../support/start-all.js';

const service = (name: string, log: string[], ms = 0) =>
  new Promise<{ name: string; stop(): Promise<void> }>((resolve) =>
    setTimeout(() => resolve({ name, stop: async () => void log.push(`stopped ${name}`) }), ms),
  );

test('all start: the services in the order given, none stopped', async () => {
  const log: string[] = [];
  const [a, b] = await startAll([service('a', log, 20), service('b', log)]);
  assert.equal([a.name, b.name], ['a', 'b']);
  assert.equal(log, []);
});

test('one fails: the others that started are stopped, the failure is thrown', async () => {
  const log: string[] = [];
  const failing = new Promise<{ close(): Promise<void> }>((_, reject) => setTimeout(() => reject(new Error('radosgw did not start')), 10));
  const err = await startAll([service('etcd', log), failing, service('project', log, 30)]).then(() => undefined, (e: unknown) => e as Error);
  assert.is(err?.message, 'radosgw did not start');
  assert.equal(log.sort(), ['stopped etcd', 'stopped project']);
});

test.run();
