// The blob store under the API: packs are compacted and removed as uploads go, stored bytes
// survive a restart byte for byte, and a data directory from before the blob store (pool
// files, real upload directories) is taken over at start-up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debFileName, makeDeb } from '../support/deb-fixture.js';
import { TestRepoServer } from '../support/repo-server.js';

const sha256 = (b: Buffer): string => hash('sha256', b, 'hex');

async function upload(s: TestRepoServer, dir: string, files: [string, Buffer][]): Promise<void> {
  const form = new FormData();
  for (const [name, body] of files) form.append('file', new Blob([body]), name);
  const r = await s.api('POST', `/api/files/${dir}`, form);
  assert.is(r.status, 200, r.text);
}

async function packSizes(s: TestRepoServer): Promise<number[]> {
  const dir = join(s.dataDir, 'packs');
  return Promise.all((await readdir(dir)).map(async (f) => (await stat(join(dir, f))).size));
}

/** The published pool file's bytes, fetched over HTTP. */
async function poolFile(s: TestRepoServer, name: string): Promise<Buffer> {
  const res = await fetch(`${s.url}/pool/main/${name[0]}/${name}/${debFileName(name)}`);
  assert.is(res.status, 200, name);
  return Buffer.from(await res.arrayBuffer());
}

test('deleting uploads compacts, then removes, their pack; what stays is served after a restart', async () => {
  const debs = Array.from({ length: 10 }, (_, i) => makeDeb({ name: `store-${i}`, content: `payload ${i} `.repeat(50) }));
  const names = debs.map((_, i) => debFileName(`store-${i}`));
  let s = await TestRepoServer.start();
  try {
    await upload(s, 'batch', debs.map((d, i) => [names[i]!, d]));
    const total = debs.reduce((n, d) => n + d.length, 0);
    assert.equal(await packSizes(s), [total], 'one request, one pack');

    // Deleting most of the files: once under half of the pack is alive it is rewritten.
    for (const n of names.slice(2)) assert.is((await s.api('DELETE', `/api/files/batch/${n}`)).status, 200);
    assert.equal(await packSizes(s), [debs[0]!.length + debs[1]!.length], 'compacted to the two live files');
    assert.equal((await s.api('GET', '/api/files/batch')).json, names.slice(0, 2).sort());

    // The two left are still whole: add, publish, fetch.
    assert.is((await s.api('POST', '/api/repos', { Name: 'st' })).status, 201);
    const add = await s.api('POST', '/api/repos/st/file/batch');
    assert.is(add.status, 200, add.text);
    const pub = await s.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Component: 'main', Name: 'st' }], Distribution: 'st', Architectures: ['amd64'] });
    assert.is(pub.status, 201, pub.text);
    for (const i of [0, 1]) assert.is(sha256(await poolFile(s, `store-${i}`)), sha256(debs[i]!));
    assert.is((await s.api('GET', '/api/files/batch')).status, 404, 'the add consumed the upload');

    await s.stop(true);
    s = await TestRepoServer.start({}, s.dataDir);
    for (const i of [0, 1]) assert.is(sha256(await poolFile(s, `store-${i}`)), sha256(debs[i]!), 'after a restart');
    assert.equal(await packSizes(s), [debs[0]!.length + debs[1]!.length], 'the package records keep their blobs');
  } finally {
    await s.stop();
  }
});

test('an add after a restart re-reads uploads from their pack (no inspection kept in memory)', async () => {
  const debs = Array.from({ length: 300 }, (_, i) => makeDeb({ name: `again-${i}` }));
  let s = await TestRepoServer.start();
  try {
    await upload(s, 'later', [...debs.map((d, i): [string, Buffer] => [debFileName(`again-${i}`), d]), ['broken.deb', debs[0]!.subarray(0, 300)]]);
    await s.stop(true);
    s = await TestRepoServer.start({}, s.dataDir);
    assert.is((await s.api('POST', '/api/repos', { Name: 'again' })).status, 201);
    // As aptly: the broken file is reported and left in the upload area, the others are added.
    const add = await s.api('POST', '/api/repos/again/file/later');
    assert.is(add.status, 200, add.text);
    assert.equal((add.json as { FailedFiles: string[] }).FailedFiles, ['later/broken.deb']);
    assert.is((add.json as { Report: { Added: string[] } }).Report.Added.length, 300);
    assert.equal((await s.api('GET', '/api/files/later')).json, ['broken.deb']);
    const keys = (await s.api('GET', '/api/repos/again/packages')).json as string[];
    assert.is(keys.length, 300);
  } finally {
    await s.stop();
  }
});

test('a data directory from before the blob store is taken over at start-up', async () => {
  let s = await TestRepoServer.start();
  const deb = makeDeb({ name: 'legacy-pkg' });
  const sha = sha256(deb);
  try {
    await s.stop(true);
    // The old layout: pool/ab/cd/<sha256>.deb and upload/<dir>/<file>.
    const oldPool = join(s.dataDir, 'pool', sha.slice(0, 2), sha.slice(2, 4));
    await mkdir(oldPool, { recursive: true });
    await writeFile(join(oldPool, `${sha}.deb`), deb);
    await mkdir(join(s.dataDir, 'upload', 'olddir'), { recursive: true });
    await writeFile(join(s.dataDir, 'upload', 'olddir', 'legacy.deb'), deb);
    await writeFile(join(s.dataDir, 'upload', 'olddir', '.partial-upload'), 'unfinished');

    s = await TestRepoServer.start({}, s.dataDir);
    assert.equal((await s.api('GET', '/api/files/olddir')).json, ['legacy.deb']);
    assert.equal(await readdir(join(s.dataDir, 'pool', sha.slice(0, 2))), [sha], 'one loose blob, the old directory gone');
    assert.is(await stat(join(s.dataDir, 'upload')).catch(() => undefined), undefined, 'the old upload area is gone');
    assert.is((await s.api('POST', '/api/repos', { Name: 'old' })).status, 201);
    const add = await s.api('POST', '/api/repos/old/file/olddir');
    assert.is(add.status, 200, add.text);
    assert.equal((add.json as { Report: { Added: string[] } }).Report.Added, ['legacy-pkg_1.0-1_amd64 added']);
  } finally {
    await s.stop();
  }
});

test.run();
