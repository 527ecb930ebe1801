// The Store conformance suite (test/support/store-conformance.ts) against the journaled store
// (repo-server/storage/store.ts). The crash points are this backend's: what a crash can leave of
// journal.N.log and state.json, at each step of a commit and of a compaction.

import { appendFile, readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetadataStore } from '../../repo-server/storage/interfaces.js';
import { Store } from '../../repo-server/storage/store.js';
import { storeConformance, type CrashPoint } from '../support/store-conformance.js';

/** Small enough that the workload and the concurrent writers compact several times. */
const COMPACT_BYTES = 64 << 10;

async function journalNumber(dir: string): Promise<number> {
  const text = await readFile(join(dir, 'state.json'), 'utf8').catch(() => undefined);
  return text === undefined ? 0 : (JSON.parse(text) as { journal: number }).journal;
}

async function journalPath(dir: string, offset = 0): Promise<string> {
  return join(dir, `journal.${(await journalNumber(dir)) + offset}.log`);
}

/** Byte offsets where each journal record starts (records are lines). */
async function records(dir: string): Promise<{ path: string; text: string; starts: number[] }> {
  const path = await journalPath(dir);
  const text = await readFile(path, 'utf8');
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1 && i < text.length - 1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  if (text === '' || starts.length < 2) throw new Error(`${path}: too few records to damage`);
  return { path, text, starts };
}

/** Cuts the last record to `keep(length)` bytes, as a write torn by a crash leaves it. */
function tornLast(keep: (len: number) => number): (dir: string) => Promise<void> {
  return async (dir) => {
    const { path, text, starts } = await records(dir);
    const last = starts[starts.length - 1]!;
    await truncate(path, last + keep(text.length - last));
  };
}

const crashPoints: CrashPoint[] = [
  { name: 'last record torn after its first byte', batches: 12, damage: tornLast(() => 1), loses: 1 },
  { name: 'last record torn in the middle', batches: 12, damage: tornLast((n) => Math.floor(n / 2)), loses: 1 },
  { name: 'last record whole but its newline (the commit mark) missing', batches: 12, damage: tornLast((n) => n - 1), loses: 1 },
  { name: 'last record torn, in the journal after a checkpoint', batches: 12, checkpointAfter: 6, damage: tornLast((n) => Math.floor(n / 3)), loses: 1 },
  {
    name: 'journal tail of zero bytes (size extended, data never written)',
    batches: 12,
    damage: async (dir) => appendFile(await journalPath(dir), Buffer.alloc(4096)),
    loses: 0,
  },
  {
    name: 'a torn record followed by a whole one (never a mix: both go)',
    batches: 12,
    damage: async (dir) => {
      const { path, text, starts } = await records(dir);
      const [a, b] = [starts[starts.length - 2]!, starts[starts.length - 1]!];
      await writeFile(path, `${text.slice(0, a)}${text.slice(a, a + Math.floor((b - a) / 2))}\n${text.slice(b)}`);
    },
    loses: 2,
  },
  {
    name: 'compaction interrupted after the fresh journal was created (state.json half written to its temp file)',
    batches: 12,
    checkpointAfter: 5,
    damage: async (dir) => {
      await writeFile(await journalPath(dir, 1), '');
      await writeFile(join(dir, '.state.json.tmp-999999-deadbeef'), '{"format":2,"journal":');
    },
    loses: 0,
  },
  {
    name: 'compaction interrupted after state.json was replaced, before the old journal went',
    batches: 12,
    checkpointAfter: 8,
    damage: async (dir) => writeFile(await journalPath(dir, -1), `${JSON.stringify([{ op: 'repo-del', name: 'seq' }])}\n`),
    loses: 0,
  },
  {
    name: "a checkpoint's fresh journal lost (its directory entry never reached the disk)",
    batches: 12,
    checkpointAfter: 12,
    damage: async (dir) => unlink(await journalPath(dir)),
    loses: 0,
  },
];

const open = (dir: string): Promise<MetadataStore> => Store.open(dir, { compactBytes: COMPACT_BYTES });

storeConformance({
  name: 'journaled store (storage/store.ts)',
  open,
  checkpoint: async (s) => {
    if (!(s instanceof Store)) throw new Error('not a journaled store');
    await s.compact();
  },
  crashPoints,
  crashChild: fileURLToPath(new URL('../support/journaled-store-child.js', import.meta.url)),
  ...(process.env.DEBPKG_TEST_TMP ? { tmp: process.env.DEBPKG_TEST_TMP } : {}),
}).run();
