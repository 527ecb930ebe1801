// Inspections on worker threads give the same records as on the calling thread, refuse what it
// refuses, and survive the worker going away.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { makeDeb } from '../support/deb-fixture.js';
import { InvalidPackageError, inspectBuffer } from '../../repo-server/packages/inspect.js';
import { Inspections } from '../../repo-server/packages/inspections.js';

const sha = (b: Buffer): string => hash('sha256', b, 'hex');

test('worker records equal in-thread records; invalid packages are refused the same way', async () => {
  const debs = Array.from({ length: 300 }, (_, i) => makeDeb({ name: `pkg-${i}`, version: `1.${i}-1` }));
  const ins = new Inspections({ threads: 2 });
  try {
    const viaWorkers = await Promise.all(debs.map((d) => ins.inspect(d, sha(d))));
    for (const [i, d] of debs.entries()) assert.equal(viaWorkers[i], await inspectBuffer(d), `package ${i}`);
    assert.is(viaWorkers[7]!.name, 'pkg-7');
    assert.is(viaWorkers[7]!.file.sha256, sha(debs[7]!));

    const truncated = debs[0]!.subarray(0, debs[0]!.length - 40);
    for (const bad of [Buffer.from('not a package'), truncated]) {
      let err: unknown;
      await ins.inspect(bad, sha(bad)).catch((e: unknown) => (err = e));
      assert.ok(err instanceof InvalidPackageError, String(err));
    }

    // remember/take: in flight or finished, taken once; an invalid package is not kept.
    ins.remember(sha(debs[1]!), debs[1]!);
    ins.remember(sha(truncated), truncated);
    assert.is((await ins.take(sha(debs[1]!)))?.name, 'pkg-1');
    assert.is(await ins.take(sha(debs[1]!)), undefined);
    assert.is(await ins.take(sha(truncated)), undefined);
  } finally {
    await ins.close();
  }
});

test('a worker that is gone costs speed, not results', async () => {
  const ins = new Inspections({ threads: 1 });
  await ins.close(); // the worker exits: later inspections run on this thread
  const d = makeDeb({ name: 'after-exit' });
  assert.is((await ins.inspect(d, sha(d))).name, 'after-exit');
});

test.run();
