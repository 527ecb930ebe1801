// The incremental publish paths (appended packages reuse the last index input, chunk groups,
// hash states and the previous file's bytes) give exactly what a publisher with no history
// writes for the same packages, and the Release names the files' real digests.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Publisher, type PublishedPool } from '../../repo-server/publish/publisher.js';
import type { Signer } from '../../repo-server/pgp/signer.js';
import type { PackageRecord, PublishRecord } from '../../repo-server/storage/store.js';

const unsigned: Signer = {
  fingerprint: '',
  publicKeyArmored: '',
  publicKeyBinary: new Uint8Array(),
  clearsign: () => Promise.reject(new Error('not signing')),
  detachSign: () => Promise.reject(new Error('not signing')),
} as unknown as Signer;

function memoryPool(): PublishedPool {
  const paths = new Map<string, string>();
  return {
    get: (prefix, path) => paths.get(`${prefix}\0${path}`),
    add: async (prefix, files) => {
      for (const [path, sha] of files) paths.set(`${prefix}\0${path}`, sha);
    },
  };
}

function record(i: number): PackageRecord {
  const name = `inc-${String(i).padStart(5, '0')}`;
  const architecture = i % 7 === 0 ? 'all' : i % 5 === 0 ? 'arm64' : 'amd64';
  const sha = hash('sha256', name, 'hex');
  return {
    key: `P${architecture} ${name} 1.0 ${sha.slice(0, 16)}`,
    name,
    version: '1.0',
    architecture,
    source: name,
    sourceVersion: '1.0',
    // Hex in the description: incompressible, so the indexes pass the size where a publish copies the previous file.
    control: `Package: ${name}\nVersion: 1.0\nArchitecture: ${architecture}\nDescription: package ${i} ${'x'.repeat(i % 90)}\n ${hash('sha512', `a${i}`, 'hex')}\n ${hash('sha512', `b${i}`, 'hex')}\n`,
    file: { filename: `${name}_1.0_${architecture}.deb`, size: 1000 + i, md5: sha.slice(0, 32), sha1: sha.slice(0, 40), sha256: sha, sha512: sha + sha },
  };
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
    const gz = await readFile(join(dists, rel));
    const sha256 = hash('sha256', gz, 'hex');
    assert.equal(sha256s.get(rel), [sha256, gz.length], `Release's SHA256 of ${rel}`);
    assert.equal(sha512s.get(rel), [hash('sha512', gz, 'hex'), gz.length], `Release's SHA512 of ${rel}`);
    assert.is((await stat(join(dists, `main/binary-${arch}/by-hash/SHA256/${sha256}`))).size, gz.length);
    out[arch] = gunzipSync(gz).toString();
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
      const got = await indexes(join(dir, 'inc'));
      // A publisher with no history, same packages.
      const freshDir = join(dir, `fresh-${n}`);
      const fresh = await publisherIn(freshDir);
      await fresh.publish(base, new Map([['main', pkgs.slice()]]), { sign: false, now: 1_800_000_000 });
      assert.equal(got, await indexes(freshDir), `step ${n}`);
      if (n === 1) {
        // Large enough that the new file is the previous one copied, with a new tail.
        const size = (await stat(join(dir, 'inc', 'public', 'dists', 'inc', 'main/binary-amd64/Packages.gz'))).size;
        assert.ok(size > 1 << 20, `Packages.gz is ${size} bytes`);
      }
      const count = got.amd64!.split('\n\n').length - 1;
      assert.is(count, pkgs.filter((p) => p.architecture !== 'arm64').length, `step ${n}: amd64 stanzas`);
    }
    await inc.idle();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
