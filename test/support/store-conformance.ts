// The Store conformance suite: what any metadata backend (storage/interfaces.ts) must do, as
// uvu tests registered against a factory. Every journal op and its read-after-write, reopen
// returning the same state, crash points (the state after a crash equals the workload model
// after exactly k batches, k no less than what was acknowledged — a prefix, never a mix),
// kill -9 of a committing child process, and concurrent writers. Backend-specific damage
// (which files a crash can tear) comes from the target; the judging is the same for all.

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataStore } from '../../repo-server/storage/interfaces.js';
import { opCases } from './store-op-cases.js';
import { ReferenceModel, batchesIn, fingerprint, indexProblems, workloadBatch } from './store-workload.js';

/** Damage a crash can leave, done to the closed store's files before it is reopened. */
export interface CrashPoint {
  name: string;
  /** Workload batches committed before the crash (the last ones are the torn candidates). */
  batches: number;
  /** Force a checkpoint after this many batches (the crash hits the one after it). */
  checkpointAfter?: number;
  damage(dir: string): Promise<void>;
  /** Trailing acknowledged batches the damage takes with it (a torn last write: 1). */
  loses: number;
}

export interface ConformanceTarget {
  name: string;
  /** Opens (creating when empty) the store kept at `dir`. */
  open(dir: string): Promise<MetadataStore>;
  /** Opens it again after close or a crash (default: open). */
  reopen?(dir: string): Promise<MetadataStore>;
  /** The backend's checkpoint (snapshot + fresh journal), if it has one. */
  checkpoint?(store: MetadataStore): Promise<void>;
  crashPoints: CrashPoint[];
  /** A script (argv: dir) that calls runCommitLoop on this backend: the kill -9 child. */
  crashChild?: string;
  /** Where temp directories go (a tmpfs keeps the fsyncs cheap). */
  tmp?: string;
}

async function withDir<T>(t: ConformanceTarget, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(t.tmp ?? tmpdir(), 'store-conf-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertModel(s: MetadataStore, batches: number, what: string): void {
  assert.equal(indexProblems(s), [], `${what}: indexes`);
  assert.is(batchesIn(s), batches, `${what}: batches in`);
  assert.ok(fingerprint(s) === fingerprint(ReferenceModel.after(batches)), `${what}: state differs from the model after ${batches} batches`);
}

/** Child side of the kill -9 test: commits workload batches from where the store is, printing each acknowledgement. */
export async function runCommitLoop(store: MetadataStore): Promise<never> {
  for (let i = batchesIn(store); ; i++) {
    await store.commit(workloadBatch(i));
    process.stdout.write(`ack ${i + 1}\n`);
  }
}

export function storeConformance(t: ConformanceTarget): ReturnType<typeof suite> {
  const s = suite(`Store conformance: ${t.name}`);
  const reopen = t.reopen ?? t.open;

  for (const c of opCases()) {
    s(`op ${c.name}: read after write, after reopen, after checkpoint and reopen`, () =>
      withDir(t, async (dir) => {
        let st = await t.open(dir);
        const model = new ReferenceModel();
        for (const b of c.batches) {
          await st.commit(b);
          model.apply(b);
        }
        const check = (x: MetadataStore, when: string): void => {
          c.check(x, when);
          assert.equal(indexProblems(x), [], `${c.name} ${when}: indexes`);
          assert.ok(fingerprint(x) === fingerprint(model), `${c.name} ${when}: state differs from the reference model`);
        };
        check(st, 'read after write');
        await st.close();
        st = await reopen(dir);
        check(st, 'after reopen');
        if (t.checkpoint) {
          await t.checkpoint(st);
          check(st, 'after checkpoint');
          await st.close();
          st = await reopen(dir);
          check(st, 'after checkpoint and reopen');
        }
        await st.close();
      }),
    );
  }

  s('an empty batch changes nothing; a fresh store is empty', () =>
    withDir(t, async (dir) => {
      const st = await t.open(dir);
      await st.commit([]);
      assert.ok(fingerprint(st) === fingerprint(new ReferenceModel()));
      await st.close();
    }),
  );

  s('workload: every batch is visible once acknowledged; reopen (with and without checkpoints) returns the same state', () =>
    withDir(t, async (dir) => {
      let st = await t.open(dir);
      for (let i = 0; i < 60; i++) {
        await st.commit(workloadBatch(i));
        assertModel(st, i + 1, `after batch ${i}`);
        if (t.checkpoint && i % 25 === 24) await t.checkpoint(st);
        if (i % 20 === 19) {
          await st.close();
          st = await reopen(dir);
          assertModel(st, i + 1, `reopened after batch ${i}`);
        }
      }
      const model = ReferenceModel.after(60);
      const blobs = new Set<string>([...model.packages.values()].map((p) => p.file.sha256));
      for (const f of model.uploads.values()) for (const x of f.values()) blobs.add(x);
      assert.equal([...st.referencedBlobs()].sort(), [...blobs].sort(), 'referencedBlobs');
      const keys = new Set<string>([...model.repoOrder.values()].flat());
      for (const sn of model.snapshots.values()) for (const k of sn.packages) keys.add(k);
      assert.equal([...st.referencedKeys()].sort(), [...keys].sort(), 'referencedKeys');
      await st.close();
    }),
  );

  for (const cp of t.crashPoints) {
    s(`crash point: ${cp.name} — the state is the first ${cp.batches - cp.loses} of ${cp.batches} batches, and the store goes on`, () =>
      withDir(t, async (dir) => {
        let st = await t.open(dir);
        for (let i = 0; i < cp.batches; i++) {
          await st.commit(workloadBatch(i));
          if (cp.checkpointAfter === i + 1) await t.checkpoint!(st);
        }
        await st.close();
        await cp.damage(dir);
        st = await reopen(dir);
        const k = cp.batches - cp.loses;
        assertModel(st, k, 'reopened after the crash');
        // Later commits land after the cut, whole, and survive the next reopen.
        for (let i = k; i < k + 3; i++) await st.commit(workloadBatch(i));
        await st.close();
        st = await reopen(dir);
        assertModel(st, k + 3, 'three more batches, reopened');
        if (t.checkpoint) {
          await t.checkpoint(st);
          await st.close();
          st = await reopen(dir);
          assertModel(st, k + 3, 'checkpointed, reopened');
        }
        await st.close();
      }),
    );
  }

  if (t.crashChild) {
    const script = t.crashChild;
    s('kill -9 of a process committing in a loop (12 rounds): every acknowledged batch survives, nothing else is mixed in', () =>
      withDir(t, async (dir) => {
        let acked = 0;
        for (let round = 0; round < 12; round++) {
          const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            // Only whole lines count: a line cut by the kill was not seen acknowledged.
            for (const m of out.slice(0, out.lastIndexOf('\n') + 1).matchAll(/^ack (\d+)$/gm)) acked = Math.max(acked, Number(m[1]));
          });
          const start = acked;
          // Let it commit a while (enough for a checkpoint or two), then kill it mid-commit.
          const deadline = Date.now() + 5000;
          while (acked < start + 20 + round * 3 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
          child.kill('SIGKILL');
          await new Promise((r) => child.once('exit', r));
          assert.ok(acked > start, `round ${round}: the child acknowledged nothing (${out.slice(-200)})`);
          const st = await reopen(dir);
          const k = batchesIn(st);
          // One commit may have been durable but unacknowledged when the kill came.
          assert.ok(k === acked || k === acked + 1, `round ${round}: ${k} batches in the store, ${acked} acknowledged`);
          assertModel(st, k, `round ${round} reopened`);
          acked = k;
          await st.close();
        }
      }),
    );
  }

  s('concurrent writers: 8 callers × 25 commits in flight at once; every one lands, each caller in its order, across reopen', () =>
    withDir(t, async (dir) => {
      let st = await t.open(dir);
      await st.commit([{ op: 'repo', repo: { name: 'shared', comment: '', defaultDistribution: '', defaultComponent: '' } }]);
      const C = 8;
      const M = 25;
      const pad = 'x'.repeat(400); // batches big enough that checkpoints happen meanwhile
      const fire = (round: number): Promise<void>[] =>
        Array.from({ length: C }, (_, c) =>
          Array.from({ length: M }, (_, j) =>
            st.commit([
              { op: 'repo', repo: { name: `c${c}`, comment: `${round}:${j}`, defaultDistribution: pad, defaultComponent: '' } },
              { op: 'repo-add', name: 'shared', keys: [`${round}-c${c}-${j}`] },
            ]),
          ),
        ).flat();
      const check = (x: MetadataStore, rounds: number, when: string): void => {
        const order = x.repoOrder.get('shared') ?? [];
        assert.is(order.length, rounds * C * M, `${when}: every commit landed`);
        for (let c = 0; c < C; c++) {
          assert.is(x.repos.get(`c${c}`)?.comment, `${rounds - 1}:${M - 1}`, `${when}: caller ${c}'s last commit is the last applied`);
          for (let r = 0; r < rounds; r++) {
            const mine = order.filter((k) => k.startsWith(`${r}-c${c}-`));
            assert.equal(mine, Array.from({ length: M }, (_, j) => `${r}-c${c}-${j}`), `${when}: caller ${c}'s commits in order`);
          }
        }
        assert.equal(indexProblems(x), [], `${when}: indexes`);
      };
      await Promise.all(fire(0));
      check(st, 1, 'in memory');
      // close() while commits are in flight: it waits for them.
      const inFlight = Promise.allSettled(fire(1));
      await st.close();
      const results = await inFlight;
      assert.equal(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'commits issued before close');
      st = await reopen(dir);
      check(st, 2, 'after reopen');
      await st.close();
    }),
  );

  return s;
}
