// Generations: numbering past the live, recorded and left-over ones; seal (manifest, every
// written file dated the Release Date) before swap (refused otherwise); the swap is a symlink
// rename; pruning keeps the last N or young generations and drops crashed attempts. A
// distribution's key under the generations directory turns back into the distribution.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributionAt, Generations, generationsKey, type Draft, type Manifest } from '../../repo-server/publish/generations.js';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'generations-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

const dist = { prefix: 'team/x', distribution: 'stable' };
const manifest = (d: Draft, date: number, time = date): Manifest => ({ generation: d.generation, time, date, indexes: {}, byHash: [] });

/** Writes a Release into the draft, seals and swaps it. */
async function publishOne(g: Generations, date: number, time = date): Promise<Draft> {
  const d = await g.begin(dist, 0);
  await writeFile(join(d.dir, 'Release'), `Date: ${date}\n`);
  await g.seal(d, manifest(d, date, time), [join(d.dir, 'Release')]);
  await g.swap(d, time);
  await g.idle();
  return d;
}

test('seal dates written files and the manifest, swap needs a sealed draft and flips dists/<dist>', async () => {
  const g = new Generations(join(root, 'a', 'public'), join(root, 'a', 'gen'), { keepGenerations: 3, keepSeconds: 0 });
  const d = await g.begin(dist, 0);
  assert.is(d.generation, 1);
  assert.is(d.live, 0);
  assert.is(d.dir, join(root, 'a', 'gen', 'team_x', 'stable', '1'));
  await mkdir(join(d.dir, 'main'));
  await writeFile(join(d.dir, 'main', 'Packages'), 'x');
  await writeFile(join(d.dir, 'Release'), 'r');
  const refused = await g.swap(d, 1).then(() => undefined, (e: Error) => e.message);
  assert.match(refused ?? '', /not sealed/);
  assert.not.ok(await lstat(join(root, 'a', 'public', 'team/x', 'dists', 'stable')).then(() => true, () => false), 'nothing live');
  await g.seal(d, manifest(d, 1_800_000_123), [join(d.dir, 'Release'), join(d.dir, 'main', 'Packages')]);
  for (const f of ['Release', 'main/Packages', 'manifest.json']) assert.is((await stat(join(d.dir, f))).mtimeMs, 1_800_000_123_000, `${f} mtime`);
  assert.is(JSON.parse(await readFile(join(d.dir, 'manifest.json'), 'utf8')).date, 1_800_000_123);
  await g.swap(d, 1_800_000_123);
  const link = join(root, 'a', 'public', 'team/x', 'dists', 'stable');
  assert.is(await readlink(link), '../../../../gen/team_x/stable/1');
  assert.is(await readFile(join(link, 'Release'), 'utf8'), 'r');
  assert.is(await g.liveGeneration(dist), 1);
  // The next draft knows the live one and its manifest.
  const next = await g.begin(dist, 0);
  assert.equal([next.generation, next.live, next.previous?.date], [2, 1, 1_800_000_123]);
});

test('numbering: past the live, the recorded and any left-over generation', async () => {
  const g = new Generations(join(root, 'b', 'public'), join(root, 'b', 'gen'), { keepGenerations: 3, keepSeconds: 0 });
  await publishOne(g, 10);
  assert.is((await g.begin(dist, 7)).generation, 8, 'recorded 7');
  // 8 is left over from the begin above (never live): the next is 9.
  assert.is((await g.begin(dist, 0)).generation, 9);
});

test('prune: keeps the last N generations or young ones, drops crashed attempts; remove drops all', async () => {
  const g = new Generations(join(root, 'c', 'public'), join(root, 'c', 'gen'), { keepGenerations: 3, keepSeconds: 100 });
  const genRoot = join(root, 'c', 'gen', 'team_x', 'stable');
  for (let i = 1; i <= 4; i++) await publishOne(g, 1000 + i);
  // All within keepSeconds of the last: kept.
  assert.equal((await readdir(genRoot)).sort(), ['1', '2', '3', '4']);
  // Much later: only the last 3 stay; an attempt numbered past the one going live (crashed) goes.
  const d = await g.begin(dist, 0);
  assert.is(d.generation, 5);
  await mkdir(join(genRoot, '77'));
  await writeFile(join(d.dir, 'Release'), 'r');
  await g.seal(d, manifest(d, 5000), [join(d.dir, 'Release')]);
  await g.swap(d, 5000);
  await g.idle();
  assert.equal((await readdir(genRoot)).sort(), ['3', '4', '5']);
  await g.remove(dist);
  assert.not.ok(await stat(genRoot).then(() => true, () => false));
  assert.not.ok(await lstat(join(root, 'c', 'public', 'team/x', 'dists', 'stable')).then(() => true, () => false));
});

test('generationsKey and distributionAt are inverse; other keys name no distribution', () => {
  for (const d of [dist, { prefix: '.', distribution: 'bookworm' }, { prefix: 'a/b/c', distribution: 'x-y.z' }]) {
    assert.equal(distributionAt(generationsKey(d)), d);
  }
  assert.is(generationsKey({ prefix: '.', distribution: 'stable' }), '_root/stable');
  for (const k of ['_root', '_root/stable/objects', '', 'a//b']) assert.is(distributionAt(k), undefined, k);
});

test.run();
