// The process-start settings of the repo server (repo-server/runtime.ts): which allocator and
// flags count as tuned, and how a relaunch composes its environment.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jemallocLibrary, relaunchEnv, serveEnv, untunedRuntime } from '../../repo-server/runtime.js';

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

test('jemalloc is found by the architecture\'s multiarch directory, or not at all', () => {
  assert.is(jemallocLibrary('x64', (p) => p === LIB), LIB);
  assert.is(jemallocLibrary('arm64', (p) => p === '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'), '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2');
  assert.is(jemallocLibrary('x64', () => false), undefined);
  assert.is(jemallocLibrary('mips', () => true), undefined);
});

test('with jemalloc the settings preload it; without, glibc keeps two arenas', () => {
  assert.equal(serveEnv(undefined), { MALLOC_ARENA_MAX: '2' });
  const env = serveEnv(LIB);
  assert.is(env.LD_PRELOAD, LIB);
  assert.match(env.MALLOC_CONF!, /narenas:2/);
  assert.match(env.MALLOC_CONF!, /background_thread:true/);
});

test('a process counts as tuned only with every setting; another preloaded library is fine', () => {
  const wanted = serveEnv(LIB);
  const flags = ['--max-semi-space-size=2'];
  assert.is(untunedRuntime({ ...wanted }, flags, wanted), undefined);
  assert.is(untunedRuntime({ ...wanted, LD_PRELOAD: `/opt/x.so ${LIB}` }, flags, wanted), undefined);
  assert.match(untunedRuntime({ ...wanted, LD_PRELOAD: '/opt/x.so' }, flags, wanted)!, /LD_PRELOAD=/);
  assert.match(untunedRuntime({ ...wanted }, [], wanted)!, /--max-semi-space-size=2/);
  assert.is(untunedRuntime({ MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=2' }, [], serveEnv(undefined)), undefined);
  assert.match(untunedRuntime({}, flags, serveEnv(undefined))!, /install libjemalloc2/);
});

test('a relaunch adds the settings, keeps a preloaded library, and marks itself', () => {
  const wanted = serveEnv(LIB);
  const env = relaunchEnv({ PATH: '/usr/bin', LD_PRELOAD: '/opt/x.so' }, wanted);
  assert.is(env.LD_PRELOAD, `${LIB}:/opt/x.so`);
  assert.is(env.MALLOC_ARENA_MAX, '2');
  assert.is(env.PATH, '/usr/bin');
  assert.is(env.DEBPKG_SERVE_RELAUNCHED, '1');
  assert.is(relaunchEnv({ LD_PRELOAD: LIB }, wanted).LD_PRELOAD, LIB);
});

test.run();
