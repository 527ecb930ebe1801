// The incremental publish paths (appended packages reuse the last index input, chunk groups,
// hash states and the previous file's bytes) give exactly what a publisher with no history
// writes for the same packages, and the Release names the files' real digests.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Publisher } from '../../repo-server/publish/publisher.js';
import { readPublishedFile, readSplice, SPLICE_SUFFIX } from '../../repo-server/publish/spliced-files.js';
import type { Signer } from '../../repo-server/pgp/signer.js';
import type { PackageRecord, PublishRecord } from '../../repo-server/storage/store.js';
import { memoryPool, packageRecord } from '../support/package-records.js';

const unsigned: Signer = {
  fingerprint: '',
  publicKeyArmored: '',
  publicKeyBinary: new Uint8Array(),
  clearsign: () => Promise.reject(new Error('not signing')),
  detachSign: () => Promise.reject(new Error('not signing')),
} as unknown as Signer;

function record(i: number): PackageRecord {
  const name = `inc-${String(i).padStart(5, '0')}`;
  const architecture = i % 7 === 0 ? 'all' : i % 5 === 0 ? 'arm64' : 'amd64';
  // Hex in the description: incompressible, so the indexes pass the size where a publish copies the previous file.
  const description = `package ${i} ${'x'.repeat(i % 90)}\n ${hash('sha512', `a${i}`, 'hex')}\n ${hash('sha512', `b${i}`, 'hex')}`;
  return packageRecord({ name, architecture, size: 1000 + i, description });
}

const base: PublishRecord = {
  prefix: '.',
  distribution: 'inc',
  sourceKind: 'local',
  sources: [{ component: 'main', name: 'r' }],
  architectures: ['amd64', 'arm64'],
  origin: 'o',
  label: 'l',
  suite: 'inc',
  codename: 'inc',
  notAutomatic: '',
  butAutomaticUpgrades: '',
  acquireByHash: true,
  skipContents: true,
  multiDist: false,
  signedBy: '',
  generation: 0,
  lastDate: 0,
};

async function publisherIn(dir: string): Promise<Publisher> {
  return new Publisher(join(dir, 'public'), join(dir, 'generations'), memoryPool(), unsigned, {
    keepGenerations: 3,
    keepSeconds: 0,
    defaultArchitectures: ['amd64'],
    compressXz: false,
  });
}

/** "SHA256:"/"SHA512:" sections of a Release: path → [digest, size]. */
function releaseDigests(release: string, section: string): Map<string, [string, number]> {
  const out = new Map<string, [string, number]>();
  const lines = release.split('\n');
  for (let i = lines.indexOf(`${section}:`) + 1; i > 0 && i < lines.length && lines[i]!.startsWith(' '); i++) {
    const [digest, size, path] = lines[i]!.trim().split(/\s+/);
    out.set(path!, [digest!, Number(size)]);
  }
  return out;
}

/** Every index of the live generation, decompressed, after checking the Release's digests of it. */
async function indexes(dir: string): Promise<Record<string, string>> {
  const dists = join(dir, 'public', 'dists', 'inc');
  const release = await readFile(join(dists, 'Release'), 'utf8');
  const sha256s = releaseDigests(release, 'SHA256');
  const sha512s = releaseDigests(release, 'SHA512');
  const out: Record<string, string> = {};
  for (const arch of ['amd64', 'arm64']) {
    const rel = `main/binary-${arch}/Packages.gz`;
    const gz = await readPublishedFile(join(dir, 'generations'), join(dists, rel));
    const sha256 = hash('sha256', gz, 'hex');
    assert.equal(sha256s.get(rel), [sha256, gz.length], `Release's SHA256 of ${rel}`);
    assert.equal(sha512s.get(rel), [hash('sha512', gz, 'hex'), gz.length], `Release's SHA512 of ${rel}`);
    for (const [algo, hex] of [['SHA256', sha256], ['SHA512', hash('sha512', gz, 'hex')]]) {
      assert.ok((await readPublishedFile(join(dir, 'generations'), join(dists, `main/binary-${arch}/by-hash/${algo}/${hex}`))).equals(gz), `by-hash ${algo} of ${rel}`);
    }
    // The plain index is listed whether or not it is shipped: apt looks indexes up by that name.
    const text = gunzipSync(gz);
    assert.equal(sha256s.get(`main/binary-${arch}/Packages`), [hash('sha256', text, 'hex'), text.length], `Release's SHA256 of the plain ${arch} index`);
    assert.equal(sha512s.get(`main/binary-${arch}/Packages`), [hash('sha512', text, 'hex'), text.length], `Release's SHA512 of the plain ${arch} index`);
    out[arch] = text.toString();
  }
  return out;
}

test('appends, removals and unchanged re-publishes equal a publish from scratch', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pub-inc-'));
  try {
    const all = Array.from({ length: 9000 }, (_, i) => record(i));
    const steps: PackageRecord[][] = [
      all.slice(0, 6000),
      all.slice(0, 6100), // appended
      all.slice(0, 6100), // unchanged
      [...all.slice(0, 3000), ...all.slice(3001, 6100)], // one removed in the middle
      [...all.slice(0, 3000), ...all.slice(3001, 9000)], // appended after the removal
      [...all.slice(0, 3000), ...all.slice(3001, 9000), all[3000]!], // the removed one back, at the end
    ];
    const inc = await publisherIn(join(dir, 'inc'));
    let rec = base;
    for (const [n, pkgs] of steps.entries()) {
      const r = await inc.publish(rec, new Map([['main', pkgs.slice()]]), { sign: false, now: 1_800_000_000 + n });
      rec = { ...rec, generation: r.generation, lastDate: r.date };
      // Dated the Release Date (strictly increasing): If-Modified-Since never mistakes a new Release for the last one.
      assert.is((await stat(join(dir, 'inc', 'public', 'dists', 'inc', 'Release'))).mtimeMs, r.date * 1000, `step ${n}: Release mtime`);
      const got = await indexes(join(dir, 'inc'));
      // A publisher with no history, same packages.
      const freshDir = join(dir, `fresh-${n}`);
      const fresh = await publisherIn(freshDir);
      await fresh.publish(base, new Map([['main', pkgs.slice()]]), { sign: false, now: 1_800_000_000 });
      assert.equal(got, await indexes(freshDir), `step ${n}`);
      if (n === 1) {
        // Large enough to be a splice: the previous build's ranges, then a new tail segment.
        const splice = await readSplice(join(dir, 'inc', 'public', 'dists', 'inc', `main/binary-amd64/Packages.gz${SPLICE_SUFFIX}`));
        assert.ok(splice.size > 1 << 20, `Packages.gz is ${splice.size} bytes`);
        assert.is(splice.parts.length, 2);
        assert.ok(splice.parts[0]![2] > splice.size * 0.9, 'most of the file is the first generation\'s segment');
      }
      const count = got.amd64!.split('\n\n').length - 1;
      assert.is(count, pkgs.filter((p) => p.architecture !== 'arm64').length, `step ${n}: amd64 stanzas`);
    }
    await inc.idle();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('appends write only a tail segment; splices stay short; unused segments are deleted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pub-splice-'));
  try {
    const all = Array.from({ length: 7000 }, (_, i) => record(i));
    const inc = await publisherIn(dir);
    const segDir = join(dir, 'generations', '_root', 'inc', 'segments');
    const descriptor = join(dir, 'public', 'dists', 'inc', `main/binary-amd64/Packages.gz${SPLICE_SUFFIX}`);
    let rec = base;
    let count = 6000;
    let compactions = 0;
    let lastParts = 0;
    // 40 packages a step: a chunk boundary passes most steps, so splices grow a part most steps.
    for (let step = 0; step < 12; step++, count += 40) {
      const before = new Set(await readdir(segDir).catch(() => [] as string[]));
      const r = await inc.publish(rec, new Map([['main', all.slice(0, count)]]), { sign: false, now: 1_800_000_000 + step });
      rec = { ...rec, generation: r.generation, lastDate: r.date };
      await inc.idle(); // pruning done
      const splice = await readSplice(descriptor);
      assert.ok(splice.parts.length <= 8, `step ${step}: ${splice.parts.length} parts`);
      if (splice.parts.length < lastParts) compactions++;
      lastParts = splice.parts.length;
      const segments = await readdir(segDir);
      if (step > 0) {
        // One new segment for the spliced index (amd64; arm64's is under 1 MiB, a plain
        // file); an append's tail is small unless the splice was compacted.
        const fresh = segments.filter((s) => !before.has(s));
        assert.is(fresh.length, 1, `step ${step}: new segments ${fresh}`);
        const sizes = await Promise.all(fresh.map(async (s) => (await stat(join(segDir, s))).size));
        const compacted = splice.parts.length === 2 && splice.parts[1]![2] > 64 << 10;
        if (!compacted) assert.ok(sizes.every((n) => n < 64 << 10), `step ${step}: tail segments ${sizes}`);
      }
      // Every segment left is named by a splice (its own or a carried by-hash one) of a kept generation.
      const gens = (await readdir(join(dir, 'generations', '_root', 'inc'))).filter((g) => /^\d+$/.test(g));
      assert.ok(gens.length <= 3, `kept generations ${gens}`);
      const named = new Set<string>();
      for (const g of gens) {
        const root = join(dir, 'generations', '_root', 'inc', g);
        for (const f of (await readdir(root, { recursive: true })) as string[]) {
          if (!f.endsWith(SPLICE_SUFFIX)) continue;
          for (const [seg] of (await readSplice(join(root, f))).parts) named.add(seg.split('/').pop()!);
        }
      }
      assert.ok(segments.length <= 10, `${segments.length} segments kept`);
      assert.equal(segments.sort(), [...named].sort(), `step ${step}: segments on disk are exactly those named`);
      // Content equals a publish from scratch.
      const got = await indexes(dir);
      const freshDir = join(dir, `fresh-${step}`);
      await (await publisherIn(freshDir)).publish(base, new Map([['main', all.slice(0, count)]]), { sign: false, now: 1_800_000_000 });
      assert.equal(got, await indexes(freshDir), `step ${step}`);
      await rm(freshDir, { recursive: true, force: true });
    }

    assert.ok(compactions >= 1, 'a splice was compacted');

    // Segments gone from under the cache (a generation that never went live, then pruned):
    // the next publish writes the whole file again instead of naming missing ranges.
    await rm(segDir, { recursive: true, force: true });
    const r = await inc.publish(rec, new Map([['main', all.slice(0, count + 3)]]), { sign: false, now: 1_900_000_000 });
    assert.ok(r.generation > rec.generation);
    const splice = await readSplice(descriptor);
    assert.is(splice.parts.length, 1);
    const freshDir = join(dir, 'fresh-last');
    await (await publisherIn(freshDir)).publish(base, new Map([['main', all.slice(0, count + 3)]]), { sign: false, now: 1_800_000_000 });
    assert.equal(await indexes(dir), await indexes(freshDir));
    await inc.idle();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
