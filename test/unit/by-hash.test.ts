// by-hash names: both digests link the same file (a splice keeps its suffix on disk), and
// carry-over keeps what is young by generation count or by age, skips what is gone, never twice.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { carryByHash, linkByHash, type ByHashEntry } from '../../repo-server/publish/by-hash.js';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'by-hash-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

const digest = (c: string) => ({ size: 1, sha256: c.repeat(64), sha512: c.repeat(128) });

test('linkByHash: SHA256 and SHA512 names of one file; a splice keeps its .parts suffix', async () => {
  const gen = join(root, 'link');
  await mkdir(join(gen, 'main/binary-amd64'), { recursive: true });
  await writeFile(join(gen, 'main/binary-amd64/Packages'), 'p');
  await writeFile(join(gen, 'main/binary-amd64/Packages.gz.parts'), '{}');
  const plain = await linkByHash(gen, 'main/binary-amd64', 'Packages', digest('a'), 3, 99);
  assert.equal(plain, [
    { path: `main/binary-amd64/by-hash/SHA256/${'a'.repeat(64)}`, generation: 3, time: 99 },
    { path: `main/binary-amd64/by-hash/SHA512/${'a'.repeat(128)}`, generation: 3, time: 99 },
  ]);
  for (const b of plain) assert.is((await stat(join(gen, b.path))).ino, (await stat(join(gen, 'main/binary-amd64/Packages'))).ino);
  const spliced = await linkByHash(gen, 'main/binary-amd64', 'Packages.gz.parts', digest('b'), 3, 99);
  assert.is(spliced[0]!.path, `main/binary-amd64/by-hash/SHA256/${'b'.repeat(64)}.parts`);
  assert.is(await readFile(join(gen, spliced[1]!.path), 'utf8'), '{}');
});

test('carryByHash: young by count or age is carried, old, missing or already present is not', async () => {
  const prev = join(root, 'prev');
  const next = join(root, 'next');
  await mkdir(join(prev, 'h'), { recursive: true });
  await mkdir(next);
  const entries: ByHashEntry[] = [
    { path: 'h/recent', generation: 8, time: 0 }, // 10 - 8 < 3
    { path: 'h/young', generation: 1, time: 950 }, // 1000 - 950 < 100
    { path: 'h/old', generation: 1, time: 0 },
    { path: 'h/gone', generation: 9, time: 0 }, // young, but its file was pruned
    { path: 'h/mine', generation: 9, time: 0 },
  ];
  for (const e of entries) if (e.path !== 'h/gone') await writeFile(join(prev, e.path), e.path);
  await mkdir(join(next, 'h'));
  await writeFile(join(next, 'h/mine'), 'new');
  const own: ByHashEntry[] = [{ path: 'h/mine', generation: 10, time: 1000 }];
  const out = await carryByHash(entries, prev, next, own, 10, 1000, { keepGenerations: 3, keepSeconds: 100 });
  assert.equal(out.map((b) => b.path), ['h/mine', 'h/recent', 'h/young']);
  assert.equal(out[0], own[0], 'the new generation\'s own entry wins');
  assert.is(await readFile(join(next, 'h/recent'), 'utf8'), 'h/recent');
  assert.is(await readFile(join(next, 'h/mine'), 'utf8'), 'new');
  assert.not.ok(await stat(join(next, 'h/old')).then(() => true, () => false));
});

test.run();
