// The pool check: which pool paths a publish adds, refusals of a different file under a used
// path (nothing recorded then), and that records already checked are not looked up again.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PoolCheck, PoolClashError, recordDir } from '../../repo-server/publish/pool-check.js';
import type { PackageRecord } from '../../repo-server/storage/store.js';
import { memoryPool, packageRecord } from '../support/package-records.js';

function record(name: string, content = name): PackageRecord {
  return packageRecord({ name, digestOf: content, control: `Package: ${name}\n` });
}

const plain = (c: string): string => c;

test('new pool paths are wanted, in Debian pool layout; once recorded, nothing is wanted again', async () => {
  const pool = memoryPool();
  const check = new PoolCheck(pool);
  const pkgs = [record('hello'), record('libfoo'), record('lib')];
  const first = check.check('.', 'stable', new Map([['main', pkgs]]), plain);
  assert.equal(first.wanted, [
    ['pool/main/h/hello/hello_1.0_amd64.deb', pkgs[0]!.file.sha256],
    ['pool/main/libf/libfoo/libfoo_1.0_amd64.deb', pkgs[1]!.file.sha256],
    ['pool/main/l/lib/lib_1.0_amd64.deb', pkgs[2]!.file.sha256],
  ]);
  await check.publish('.', 'stable', new Map([['main', pkgs]]), plain);
  assert.is(pool.paths.size, 3);
  assert.equal(check.check('.', 'stable', new Map([['main', pkgs.slice()]]), plain).wanted, []);
  // MultiDist: the component's area is <dist>/<component>.
  const multi = check.check('.', 'stable', new Map([['main', pkgs]]), (c) => `stable/${c}`);
  assert.equal(multi.wanted.map(([p]) => p), ['pool/stable/main/h/hello/hello_1.0_amd64.deb', 'pool/stable/main/libf/libfoo/libfoo_1.0_amd64.deb', 'pool/stable/main/l/lib/lib_1.0_amd64.deb']);
});

test('a different file under a published path, or two in one publish, is refused and nothing recorded', async () => {
  const pool = memoryPool();
  const check = new PoolCheck(pool);
  await check.publish('.', 'a', new Map([['main', [record('hello', 'v1')]]]), plain);
  const other = [record('hello', 'v2'), record('new')];
  const err = await check.publish('.', 'b', new Map([['main', other]]), plain).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PoolClashError);
  assert.equal((err as PoolClashError).paths, ['pool/main/h/hello/hello_1.0_amd64.deb']);
  assert.match((err as PoolClashError).message, /MultiDist/);
  assert.is(pool.adds, 1, 'the refused publish added nothing');
  assert.is(pool.paths.size, 1);
  // Not remembered as checked: the same list is refused again.
  assert.throws(() => check.check('.', 'b', new Map([['main', other]]), plain), (e: unknown) => e instanceof PoolClashError);
  // Another prefix has its own pool.
  assert.is(check.check('other', 'b', new Map([['main', other]]), plain).wanted.length, 2);
  // Two different files under one path within one publish.
  assert.throws(() => check.check('fresh', 'x', new Map([['main', [record('dup', '1'), record('dup', '2')]]]), plain), (e: unknown) => e instanceof PoolClashError && e.paths[0] === 'pool/main/d/dup/dup_1.0_amd64.deb');
});

test('only records not yet checked are looked up; forget(prefix) starts over', async () => {
  const pool = memoryPool();
  const check = new PoolCheck(pool);
  const all = Array.from({ length: 50 }, (_, i) => record(`p${i}`));
  await check.publish('.', 'stable', new Map([['main', all.slice(0, 40)]]), plain);
  assert.is(pool.gets, 40);
  pool.gets = 0;
  const grown = check.check('.', 'stable', new Map([['main', all.slice(0, 45)]]), plain);
  assert.is(pool.gets, 5, 'only the appended records are looked up');
  assert.is(grown.wanted.length, 5);
  grown.commit();
  pool.gets = 0;
  // The same records in another order: known records are skipped without a lookup.
  check.check('.', 'stable', new Map([['main', all.slice(0, 45).reverse()]]), plain).commit();
  assert.is(pool.gets, 0);
  check.forget('.');
  check.check('.', 'stable', new Map([['main', all.slice(0, 45)]]), plain);
  assert.is(pool.gets, 45, 'after forget, every record is looked at again');
});

test('ForceOverwrite: a rebuild is served beside the first build, which keeps its path; later publishes need no force', async () => {
  const pool = memoryPool();
  const v1 = record('hello', 'v1');
  const v2 = record('hello', 'v2');
  await new PoolCheck(pool).publish('.', 'stable', new Map([['main', [v1]]]), plain);
  const check = new PoolCheck(pool);
  assert.throws(() => check.check('.', 'stable', new Map([['main', [v2]]]), plain), (e: unknown) => e instanceof PoolClashError && /file already exists and is different/.test(e.message));
  await check.publish('.', 'stable', new Map([['main', [v2]]]), plain, true);
  const hash = v2.key.split(' ').at(-1)!;
  assert.is(recordDir(pool, '.', 'main', v2), `pool/main/h/hello/+${hash}`);
  assert.is(recordDir(pool, '.', 'main', v1), 'pool/main/h/hello');
  assert.is(pool.get('.', 'pool/main/h/hello/hello_1.0_amd64.deb'), v1.file.sha256, 'the first build keeps its path and bytes');
  assert.is(pool.get('.', `pool/main/h/hello/+${hash}/hello_1.0_amd64.deb`), v2.file.sha256);
  // A fresh check (a restart) of the distribution holding the rebuild: nothing to add, no clash, no force.
  assert.equal(new PoolCheck(pool).check('.', 'stable', new Map([['main', [v2]]]), plain).wanted, []);
  // Two builds in one forced publish: the first takes the canonical path, the second goes beside it.
  const fresh = memoryPool();
  const both = new PoolCheck(fresh).check('.', 'x', new Map([['main', [record('dup', '1'), record('dup', '2')]]]), plain, true);
  assert.is(both.wanted.length, 2);
  assert.ok(both.wanted[1]![0].startsWith('pool/main/d/dup/+'), both.wanted[1]![0]);
});

test.run();
