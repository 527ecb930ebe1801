// The embedded registry's saves at fleet scale (issue 15's heartbeat p99): 10,000 units starting
// at once are 10,000 membership changes, and each used to start a whole-registry save (2 MB of
// JSON, one JSON.stringify on the event loop) as soon as the previous one ended: ~95 saves and
// ~1.6 s of the loop in 2 s, and the server fell seconds behind its heartbeats. Membership churn
// is now saved at most once a second, a slice of units at a time. What survives a crash stays:
// churn is on disk within a second, traffic and operators' edits at once, and a server killed
// with SIGKILL comes back with its units and settings.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry, SAVE_EVERY_MS, type HeartbeatInput } from '../../repo-server/colors/registry.js';
import { FileRegistryStore, type RegistrySnapshot, type RegistryStore } from '../../repo-server/colors/registry-store.js';
import { startServerProcess } from '../support/server-process.js';

const UNITS = 10_000;
const SERVICES = 100;

/** The real file store, counting its saves. */
class CountingStore implements RegistryStore {
  saves = 0;
  constructor(private readonly inner: FileRegistryStore) {}
  load(): Promise<RegistrySnapshot | undefined> {
    return this.inner.load();
  }
  async save(snapshot: RegistrySnapshot): Promise<void> {
    this.saves++;
    await this.inner.save(snapshot);
  }
}

const report = (i: number, address = `10.0.${(i >> 8) & 255}.${i & 255}`): HeartbeatInput => ({ address, port: 8080, color: i % 2 ? 'blue' : 'green', version: '1.0-1', package: 'web', health: 'healthy', weight: 100, healthPath: '/healthz' });

async function withRegistry(fn: (r: Registry, store: CountingStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-registry-'));
  const store = new CountingStore(new FileRegistryStore(dir));
  const r = await Registry.open(store, { ttlMs: 10_000, intervalMs: 2000, forgetMs: 300_000 });
  try {
    await fn(r, store, dir);
  } finally {
    await r.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function onDisk(dir: string): Promise<RegistrySnapshot> {
  return JSON.parse(await readFile(join(dir, 'registry.json'), 'utf8')) as RegistrySnapshot;
}

/**
 * The most CPU time the process spent between two turns of the event loop while `work` ran: the
 * longest time a heartbeat would have waited behind it. CPU time, not wall time, so that a busy
 * host (the process descheduled) does not count.
 */
/**
 * The most JSON text serialized within one turn of the event loop while `work` ran (every
 * JSON.stringify call's output, summed between two turns): how much of the document one
 * synchronous step serialized. Deterministic, unlike CPU time, which on a loaded CI host also
 * counts GC and thread-pool threads of the same process.
 */
async function mostSerializedPerTurn(work: () => Promise<unknown>): Promise<number> {
  const original = JSON.stringify;
  let sinceTurn = 0;
  let most = 0;
  JSON.stringify = ((...args: Parameters<typeof JSON.stringify>): string => {
    const out = original(...args);
    if (typeof out === 'string') sinceTurn += out.length;
    return out;
  }) as typeof JSON.stringify;
  let done = false;
  const turns = (async () => {
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      most = Math.max(most, sinceTurn);
      sinceTurn = 0;
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await turns;
    JSON.stringify = original;
  }
  return Math.max(most, sinceTurn);
}

async function longestCpuStretchMs(work: Promise<unknown>): Promise<number> {
  let done = false;
  void work.finally(() => (done = true));
  let last = process.cpuUsage();
  let longest = 0;
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    const d = process.cpuUsage(last);
    last = process.cpuUsage();
    longest = Math.max(longest, (d.user + d.system) / 1000);
  }
  await work;
  return longest;
}

test('10,000 units registering within 2 s: about one save a second, not one after another', async () => {
  await withRegistry(async (r, store, dir) => {
    const t0 = Date.now();
    // As a fleet starting at once: 5,000 registrations a second, 50 every 10 ms.
    for (let i = 0; i < UNITS; i++) {
      r.heartbeat(`svc${i % SERVICES}`, `n${i}`, report(i));
      if (i % 50 === 49) await sleep(10);
    }
    const seconds = (Date.now() - t0) / 1000;
    await r.flush();
    // Before: a save after every change, back to back (~95 in this loop on a shared host).
    // Allowed beside the once-a-second churn saves: the services' first traffic records (saved
    // at once, coalesced while a write runs), the flush, and a timer's edge on a busy host.
    assert.ok(store.saves <= Math.ceil((seconds * 1000) / SAVE_EVERY_MS) + 5, `${store.saves} saves in ${seconds.toFixed(1)} s of registrations`);
    const saved = await onDisk(dir);
    assert.is(saved.services.length, SERVICES);
    assert.is(saved.services.reduce((n, s) => n + s.units.length, 0), UNITS);
    // Each service's first healthy unit gave it traffic: recorded, and saved.
    assert.is(saved.history.filter((h) => h.kind === 'initial').length, SERVICES);
  });
});

test('a save of 10,000 units holds the event loop for a few milliseconds at a time, and reads back the same', async () => {
  await withRegistry(async (r, _store, dir) => {
    for (let i = 0; i < UNITS; i++) r.heartbeat(`svc${i % SERVICES}`, `n${i}`, report(i));
    await r.flush();
    // Three saves (an operator's edit each time); the best of them, as GC may land in one.
    const stretches: number[] = [];
    const pieces: number[] = [];
    for (let k = 0; k < 3; k++) {
      r.configure('svc1', { minHealthy: k + 1 });
      pieces.push(await mostSerializedPerTurn(async () => stretches.push(await longestCpuStretchMs(r.flush()))));
    }
    const size = (await readFile(join(dir, 'registry.json'))).length;
    // Before: one JSON.stringify of the whole document (~2 MB), 15–45 ms of CPU in one go on a
    // quiet host. Now a slice of units at a time. The CPU figure is shown, not asserted: on a
    // loaded host it also counts the process's GC and thread-pool threads (CI saw 18–29 ms).
    const note = `most serialized in one turn of the event loop: ${Math.max(...pieces)} of ${size} bytes; longest CPU stretch per save: ${stretches.map((s) => s.toFixed(1)).join(', ')} ms`;
    assert.ok(size > 1_000_000, note);
    assert.ok(Math.max(...pieces) < size / 10, note);
    const saved = await onDisk(dir);
    // The sliced document is the registry's state (a service's keys in another order).
    assert.equal(saved.services, JSON.parse(JSON.stringify(r.list())));
    assert.is(saved.services.find((s) => s.name === 'svc1')?.minHealthy, 3);
  });
});

test('what survives a crash: churn is on disk within a second, an operator edit at once', async () => {
  await withRegistry(async (r, _store, dir) => {
    r.heartbeat('web', 'n1', report(1));
    await r.flush();
    // Churn right after a save waits for the next second, then is written without a flush.
    r.heartbeat('web', 'n2', report(2));
    const t0 = Date.now();
    for (;;) {
      if ((await onDisk(dir)).services.find((s) => s.name === 'web')?.units.some((u) => u.node === 'n2')) break;
      assert.ok(Date.now() - t0 < SAVE_EVERY_MS + 1000, 'a registration was not saved within SAVE_EVERY_MS');
      await sleep(50);
    }
    // An operator's edit is saved at once, not with the churn's next second.
    r.heartbeat('web', 'n3', report(3));
    r.configure('web', { minHealthy: 2 });
    const t1 = Date.now();
    for (;;) {
      const web = (await onDisk(dir)).services.find((s) => s.name === 'web');
      if (web?.minHealthy === 2) {
        assert.ok(web.units.some((u) => u.node === 'n3'), 'the churn before the edit is saved with it');
        break;
      }
      assert.ok(Date.now() - t1 < SAVE_EVERY_MS / 2, 'an operator edit waited for the churn interval');
      await sleep(10);
    }
  });
});

test('a server killed with SIGKILL comes back with the units that registered and its service settings', async () => {
  const token = 'registry-save-node';
  const first = await startServerProcess({ env: { DEBPKG_NODE_TOKEN: token } });
  const dataDir = first.dataDir;
  try {
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${first.url}/api/units/svc${i % 4}/n${i}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ Address: `10.0.0.${i % 250}`, Port: 8080, Color: 'blue', Version: '1.0-1' }) });
      assert.is(res.status, 200, await res.text());
    }
    const edit = await first.api('PUT', '/api/services/svc0', { MinHealthy: 2 });
    assert.is(edit.status, 200, edit.text);
    await sleep(SAVE_EVERY_MS + 500);
    first.kill('SIGKILL');
    await first.waitExit();
    const second = await startServerProcess({ dataDir, env: { DEBPKG_NODE_TOKEN: token } });
    try {
      let units = 0;
      for (let s = 0; s < 4; s++) {
        const got = await second.api('GET', `/api/services/svc${s}`);
        assert.is(got.status, 200, got.text);
        const svc = got.json as { Units: unknown[]; MinHealthy: number | null };
        units += svc.Units.length;
        if (s === 0) assert.is(svc.MinHealthy, 2);
      }
      assert.is(units, 200);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test.run();
