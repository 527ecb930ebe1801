// The index writer with the index-type list: the files of every component × architecture ×
// type, their digests in what the Release lists, by-hash names, reuse of an unchanged index
// (hard links, nothing written), and that a new index type is one more entry in the list.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { IndexType } from '../../repo-server/publish/index-type.js';
import { INDEX_TYPES } from '../../repo-server/publish/index-types.js';
import { writeIndexes, type IndexWriteInput } from '../../repo-server/publish/index-writer.js';
import { Segments } from '../../repo-server/publish/segments.js';
import { poolDir } from '../../repo-server/publish/indexes.js';
import { packageRecord } from '../support/package-records.js';
import type { PackageRecord } from '../../repo-server/storage/store.js';

function record(i: number, architecture: string): PackageRecord {
  const name = `pkg-${String(i).padStart(5, '0')}`;
  return packageRecord({ name, architecture, digestOf: `${name}${architecture}`, size: 100 + i, description: `package ${i}` });
}

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'index-writer-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function input(name: string, generation: number, over: Partial<IndexWriteInput> & Pick<IndexWriteInput, 'types' | 'components'>, compressXz = false): Promise<IndexWriteInput> {
  const genRoot = join(root, name);
  const genDir = join(genRoot, String(generation));
  await mkdir(genDir, { recursive: true });
  return {
    architectures: ['amd64', 'arm64'],
    area: (c) => c,
    dirOf: (area, p) => poolDir(area, p.source),
    release: { archive: 'stable', origin: 'O', label: 'L', acquireByHash: true },
    genDir,
    generation,
    now: 1_800_000_000 + generation,
    publish: { genRoot, segments: new Segments(root, genRoot, generation), compressXz },
    ...over,
  };
}

const sha256 = async (p: string): Promise<string> => hash('sha256', await readFile(p), 'hex');

test('Packages per component × architecture, listed with real digests, by-hash names; unchanged ones are hard links', async () => {
  const types = INDEX_TYPES.map((m) => m());
  const pkgs = [record(1, 'amd64'), record(2, 'arm64'), record(3, 'all')];
  const components = new Map([['main', pkgs], ['contrib', [record(4, 'amd64')]]]);
  const first = await writeIndexes(await input('a', 1, { types, components }, true));
  const genDir = join(root, 'a', '1');
  const paths = first.files.map((f) => f.path).sort();
  const dirs = ['contrib/binary-amd64', 'contrib/binary-arm64', 'main/binary-amd64', 'main/binary-arm64'];
  assert.equal(paths, dirs.flatMap((d) => [`${d}/Packages`, `${d}/Packages.gz`, `${d}/Packages.xz`, `${d}/Release`]).sort());
  for (const f of first.files) {
    const bytes = await readFile(join(genDir, f.path));
    assert.equal([f.size, f.sha256, f.sha512], [bytes.length, hash('sha256', bytes, 'hex'), hash('sha512', bytes, 'hex')], f.path);
    if (f.path.endsWith('/Release')) continue;
    // by-hash names are the same file.
    for (const [algo, hex] of [['SHA256', f.sha256], ['SHA512', f.sha512]]) {
      const byHash = join(genDir, f.path.replace(/[^/]+$/, ''), 'by-hash', algo!, hex!);
      assert.is((await stat(byHash)).ino, (await stat(join(genDir, f.path))).ino, `by-hash of ${f.path}`);
    }
  }
  assert.is(first.byHash.length, 4 * 3 * 2);
  // Architecture: all is in every architecture's index; the .gz and .xz hold the same text (real xz).
  const amd64 = await readFile(join(genDir, 'main/binary-amd64/Packages'), 'utf8');
  assert.equal([...amd64.matchAll(/^Package: (.*)$/gm)].map((m) => m[1]), ['pkg-00001', 'pkg-00003']);
  assert.match(amd64, /^Filename: pool\/main\/p\/pkg-00001\/pkg-00001_1.0_amd64.deb$/m);
  assert.is(gunzipSync(await readFile(join(genDir, 'main/binary-amd64/Packages.gz'))).toString(), amd64);
  assert.is(execFileSync('xz', ['-dc', join(genDir, 'main/binary-amd64/Packages.xz')]).toString(), amd64);
  assert.match(await readFile(join(genDir, 'main/binary-arm64/Release'), 'utf8'), /^Archive: stable\nOrigin: O\nLabel: L\nComponent: main\nArchitecture: arm64\nAcquire-By-Hash: yes\n$/);
  assert.ok(first.written.includes(join(genDir, 'main/binary-amd64/Packages.gz')));

  // Generation 2: main unchanged, contrib grew.
  const next = await writeIndexes(
    await input('a', 2, {
      types,
      components: new Map([['main', pkgs.slice()], ['contrib', [record(4, 'amd64'), record(5, 'amd64')]]]),
      previous: { dir: genDir, indexes: first.indexes },
    }, true),
  );
  const gen2 = join(root, 'a', '2');
  for (const n of ['Packages', 'Packages.gz', 'Packages.xz']) {
    assert.is((await stat(join(gen2, 'main/binary-amd64', n))).ino, (await stat(join(genDir, 'main/binary-amd64', n))).ino, `main ${n} reused`);
    assert.ok(!next.written.includes(join(gen2, 'main/binary-amd64', n)), `main ${n} not written`);
  }
  assert.is.not((await stat(join(gen2, 'contrib/binary-amd64/Packages.gz'))).ino, (await stat(join(genDir, 'contrib/binary-amd64/Packages.gz'))).ino);
  assert.match(await readFile(join(gen2, 'contrib/binary-amd64/Packages'), 'utf8'), /pkg-00005/);
  assert.equal(next.indexes['main/binary-amd64'], first.indexes['main/binary-amd64']);
  // The Release's digests of reused files are still those of the files.
  const listed = next.files.find((f) => f.path === 'main/binary-amd64/Packages.gz')!;
  assert.is(listed.sha256, await sha256(join(gen2, 'main/binary-amd64/Packages.gz')));
});

test('a large index ships Packages.gz only and lists the plain Packages with its digest', async () => {
  const types = INDEX_TYPES.map((m) => m());
  const pkgs = Array.from({ length: 2100 }, (_, i) => record(i, 'amd64'));
  const out = await writeIndexes(await input('large', 1, { types, components: new Map([['main', pkgs]]), architectures: ['amd64'] }));
  const dir = join(root, 'large', '1', 'main/binary-amd64');
  assert.equal(out.indexes['main/binary-amd64']!.names, ['Packages.gz']);
  assert.not.ok(await stat(join(dir, 'Packages')).then(() => true, () => false), 'no plain Packages file');
  const text = gunzipSync(await readFile(join(dir, 'Packages.gz')));
  const plainEntry = out.files.find((f) => f.path === 'main/binary-amd64/Packages')!;
  assert.equal([plainEntry.size, plainEntry.sha256], [text.length, hash('sha256', text, 'hex')]);
  assert.is(text.toString().split('\n\n').length - 1, 2100);
});

test('a new index type is one entry in the list: written per component × its architectures, listed, by-hash', async () => {
  /** A stand-in for Sources: one file per component, in <component>/source/. */
  const names: IndexType = {
    name: 'Names',
    directoryRelease: false,
    architectures: () => ['source'],
    dir: (component) => `${component}/source`,
    key: (component) => `${component}/source:Names`,
    prepare: (t) => {
      const text = t.packages.map((p) => p.name).join('\n') + '\n';
      return {
        digest: hash('sha256', text, 'hex'),
        write: async (absDir) => {
          await writeFile(join(absDir, 'Names'), text);
          return { names: ['Names'], digests: {}, listed: {}, written: [join(absDir, 'Names')] };
        },
      };
    },
    forget: () => undefined,
  };
  const types = [...INDEX_TYPES.map((m) => m()), names];
  const out = await writeIndexes(await input('types', 1, { types, components: new Map([['main', [record(1, 'amd64'), record(2, 'amd64')]]]), architectures: ['amd64'] }));
  const genDir = join(root, 'types', '1');
  assert.equal(out.files.map((f) => f.path).sort(), ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Release', 'main/source/Names']);
  const entry = out.files.find((f) => f.path === 'main/source/Names')!;
  assert.is(entry.sha256, await sha256(join(genDir, 'main/source/Names')));
  assert.is(await readFile(join(genDir, 'main/source/Names'), 'utf8'), 'pkg-00001\npkg-00002\n');
  assert.is(await readFile(join(genDir, 'main/source/by-hash/SHA256', entry.sha256), 'utf8'), 'pkg-00001\npkg-00002\n');
  assert.ok(out.indexes['main/source:Names']);
  assert.not.ok(await stat(join(genDir, 'main/source/Release')).then(() => true, () => false), 'no directory Release for this type');
});

test.run();
