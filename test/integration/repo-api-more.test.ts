// The rest of aptly 1.6's API surface against the real server: raw file uploads, package
// listings (maximumVersion, withDeps), repo from snapshot, repo copy, snapshot merge/pull,
// publish show, SignedBy, MultiDist, the staged source list with .../update, and queued
// concurrent publish updates. Bad requests answer aptly-style 4xx JSON and store nothing.

import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

interface DebOpts {
  arch?: string;
  depends?: string[];
  provides?: string[];
  content?: string;
}

/** Builds a package in-process (fast); `content` makes builds of the same version differ. */
async function makeDeb(p: Project, name: string, version: string, o: DebOpts = {}): Promise<string> {
  const src = `src/${name}-${version}-${Math.random().toString(36).slice(2, 8)}`;
  await p.write(src, o.content ?? `${name} ${version}\n`);
  const list = (k: string, v?: string[]) => (v ? `${k}:\n${v.map((x) => `  - "${x}"`).join('\n')}\n` : '');
  const yaml =
    `name: ${name}\nversion: "${version}"\narch: ${o.arch ?? 'all'}\nmaintainer: Api Tester <api@example.org>\ndescription: api test package\n` +
    list('depends', o.depends) +
    list('provides', o.provides) +
    `contents:\n  - { src: ${src}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  const r = await buildPackage(loaded, { outputDir: p.path(`out/${Math.random().toString(36).slice(2, 10)}`), env: { SOURCE_DATE_EPOCH: '1700000000' } });
  return r.path;
}

/** `manualStop`: the test closes the server itself (e.g. to restart on the same data). */
async function withServer(fn: (s: TestRepoServer, p: Project) => Promise<void>, opts: { manualStop?: boolean } = {}): Promise<void> {
  const p = await Project.create();
  const s = await TestRepoServer.start();
  let ok = false;
  try {
    await fn(s, p);
    ok = true;
  } finally {
    if (!opts.manualStop || !ok) await s.stop().catch(() => undefined);
    await p.destroy();
  }
}

type Json = Record<string, unknown>;
const keysOf = async (s: TestRepoServer, path: string): Promise<string[]> => {
  const r = await s.api('GET', path);
  assert.is(r.status, 200, `${path}: ${r.text}`);
  return r.json as string[];
};
/** "Pall name version hash" → "name version". */
const nv = (keys: string[]): string[] => keys.map((k) => k.split(' ').slice(1, 3).join(' ')).sort();
/** Adds packages with forceReplace=1: a different build of a name/version/arch the server has. */
async function addRebuilds(s: TestRepoServer, repo: string, debs: string[]): Promise<void> {
  const dir = `rebuild-${Math.random().toString(36).slice(2, 8)}`;
  const form = new FormData();
  for (const d of debs) form.append('file', new Blob([await readFile(d)]), d.split('/').pop()!);
  assert.is((await s.api('POST', `/api/files/${dir}`, form)).status, 200);
  const add = await s.api('POST', `/api/repos/${repo}/file/${dir}?forceReplace=1`);
  assert.is(add.status, 200, add.text);
}
const errorOf = (r: { json: unknown }): string => (r.json as { error: string }).error;
const fetchText = async (url: string): Promise<string> => (await fetch(url)).text();

async function expectError(s: TestRepoServer, method: string, path: string, body: unknown, status: number, message?: RegExp): Promise<void> {
  const r = await s.api(method, path, body);
  assert.is(r.status, status, `${method} ${path}: ${r.text}`);
  assert.type(errorOf(r), 'string', `${method} ${path} answers {"error": ...}`);
  if (message) assert.match(errorOf(r), message);
}

test('PUT /api/files/:dir/:file takes the raw body of any content type; bad names and oversize refused', async () => {
  await withServer(async (s, p) => {
    const deb = await readFile(await makeDeb(p, 'raw-pkg', '1.0'));
    for (const [file, type] of [
      ['raw-pkg_1.0_all.deb', 'application/octet-stream'],
      ['copy.deb', 'application/x-www-form-urlencoded'],
      ['untyped.deb', undefined],
    ] as const) {
      const headers: Record<string, string> = { authorization: 'Bearer test-admin-token' };
      if (type) headers['content-type'] = type;
      const r = await fetch(`${s.url}/api/files/raw/${file}`, { method: 'PUT', headers, body: deb });
      assert.is(r.status, 200, `${file}: ${await r.clone().text()}`);
      assert.equal(await r.json(), [`raw/${file}`]);
    }
    assert.equal((await s.api('GET', '/api/files/raw')).json, ['copy.deb', 'raw-pkg_1.0_all.deb', 'untyped.deb']);
    const anon = await fetch(`${s.url}/api/files/raw/x.deb`, { method: 'PUT', body: deb });
    assert.is(anon.status, 401);
    for (const bad of ['..%2Fevil.deb', '.hidden']) {
      const r = await fetch(`${s.url}/api/files/raw/${bad}`, { method: 'PUT', headers: { authorization: 'Bearer test-admin-token' }, body: deb });
      assert.ok(r.status === 400 || r.status === 404, `${bad}: ${r.status}`);
    }
    assert.equal((await s.api('GET', '/api/files')).json, ['raw'], 'nothing else landed');
    assert.equal((await s.api('GET', '/api/files/raw')).json, ['copy.deb', 'raw-pkg_1.0_all.deb', 'untyped.deb'], 'nothing else landed');
    // The uploaded files go into a repo the usual way.
    await s.api('POST', '/api/repos', { Name: 'r' });
    const add = await s.api('POST', '/api/repos/r/file/raw/raw-pkg_1.0_all.deb');
    assert.is(add.status, 200, add.text);
    assert.equal(nv(await keysOf(s, '/api/repos/r/packages')), ['raw-pkg 1.0']);
    const [key] = (await s.api('GET', '/api/repos/r/packages')).json as string[];
    const details = (await s.api('GET', `/api/packages/${encodeURIComponent(key!)}`)).json as Record<string, string>;
    assert.is(details.SHA256, createHash('sha256').update(deb).digest('hex'), 'stored byte for byte');
  });
  const p = await Project.create();
  const s = await TestRepoServer.start({ maxUploadBytes: 1 << 16 });
  try {
    const r = await fetch(`${s.url}/api/files/big/big.deb`, { method: 'PUT', headers: { authorization: 'Bearer test-admin-token' }, body: Buffer.alloc(1 << 17) });
    assert.is(r.status, 413);
    assert.is((await s.api('GET', '/api/files/big')).status, 404);
    assert.equal(await readdir(join(s.dataDir, 'packs')), [], 'no partial file');
    assert.equal(await readdir(join(s.dataDir, 'pool')), [], 'no partial file');
  } finally {
    await s.stop();
    await p.destroy();
  }
});

test('GET /api/packages and repo/snapshot listings: q, format=details, maximumVersion, withDeps', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r' });
    await s.addPackages('r', [
      await makeDeb(p, 'app', '1.0', { arch: 'amd64', depends: ['libthing (>= 1.0)', 'virtual-tool'] }),
      await makeDeb(p, 'libthing', '0.9', { arch: 'amd64' }),
      await makeDeb(p, 'libthing', '1.0', { arch: 'amd64' }),
      await makeDeb(p, 'libthing', '1.2', { arch: 'amd64' }),
      await makeDeb(p, 'tool-impl', '3.0', { provides: ['virtual-tool'] }),
      await makeDeb(p, 'unrelated', '1.0'),
    ]);
    assert.equal(nv(await keysOf(s, '/api/packages')).length, 6);
    assert.equal(nv(await keysOf(s, `/api/packages?q=${encodeURIComponent('libthing (>= 1.0)')}`)), ['libthing 1.0', 'libthing 1.2']);
    assert.equal(nv(await keysOf(s, '/api/packages?maximumVersion=1')), ['app 1.0', 'libthing 1.2', 'tool-impl 3.0', 'unrelated 1.0']);
    // withDeps: the newest libthing satisfying >= 1.0, and the provider of the virtual package.
    assert.equal(nv(await keysOf(s, '/api/packages?q=app&withDeps=1')), ['app 1.0', 'libthing 1.2', 'tool-impl 3.0']);
    assert.equal(nv(await keysOf(s, '/api/repos/r/packages?q=app&withDeps=1')), ['app 1.0', 'libthing 1.2', 'tool-impl 3.0']);
    const details = (await s.api('GET', '/api/packages?q=tool-impl&format=details')).json as Json[];
    assert.is(details.length, 1);
    assert.is(details[0]!.Package, 'tool-impl');
    assert.is(details[0]!.Provides, 'virtual-tool');
    assert.match(String(details[0]!.Key), /^Pall tool-impl 3\.0 [0-9a-f]+$/);
    assert.is(details[0]!.Filename, 'tool-impl_3.0_all.deb');
    assert.is((await s.api('POST', '/api/repos/r/snapshots', { Name: 'snap' })).status, 201);
    assert.equal(nv(await keysOf(s, '/api/snapshots/snap/packages?q=libthing&maximumVersion=1')), ['libthing 1.2']);
    await expectError(s, 'GET', `/api/packages?q=${encodeURIComponent('Name (')}`, undefined, 400, /unable to parse query/);
    const key = (await keysOf(s, '/api/packages?q=unrelated'))[0]!;
    assert.is(((await s.api('GET', `/api/packages/${encodeURIComponent(key)}`)).json as Json).Package, 'unrelated');
    await expectError(s, 'GET', `/api/packages/${encodeURIComponent('Pall nope 1 0')}`, undefined, 404);
  });
});

test('repos: create from a snapshot; copy packages (with-deps, dry-run) with aptly status codes', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'src' });
    await s.addPackages('src', [
      await makeDeb(p, 'app', '2.0', { arch: 'amd64', depends: ['libthing'] }),
      await makeDeb(p, 'libthing', '1.0', { arch: 'amd64' }),
      await makeDeb(p, 'other', '1.0'),
    ]);
    assert.is((await s.api('POST', '/api/repos/src/snapshots', { Name: 'src-snap' })).status, 201);
    const fromSnap = await s.api('POST', '/api/repos', { Name: 'copy-of-snap', FromSnapshot: 'src-snap', Comment: 'from a snapshot' });
    assert.is(fromSnap.status, 201, fromSnap.text);
    assert.equal(fromSnap.json, { Name: 'copy-of-snap', Comment: 'from a snapshot', DefaultDistribution: '', DefaultComponent: '' });
    assert.equal(nv(await keysOf(s, '/api/repos/copy-of-snap/packages')), ['app 2.0', 'libthing 1.0', 'other 1.0']);
    await expectError(s, 'POST', '/api/repos', { Name: 'ghost', FromSnapshot: 'no-such-snap' }, 404, /source snapshot not found/);
    assert.is((await s.api('GET', '/api/repos/ghost')).status, 404, 'nothing stored');

    await s.api('POST', '/api/repos', { Name: 'dst' });
    await s.addPackages('dst', [await makeDeb(p, 'base', '1.0', { arch: 'amd64' })]);
    const dry = await s.api('POST', '/api/repos/dst/copy/src/app', { 'with-deps': true, 'dry-run': true });
    assert.is(dry.status, 200, dry.text);
    assert.equal(dry.json, { Report: { Warnings: ['Changes not saved, as dry run has been requested'], Added: ['added app-2.0(amd64)', 'added libthing-1.0(amd64)'], Removed: [] } });
    assert.equal(nv(await keysOf(s, '/api/repos/dst/packages')), ['base 1.0'], 'dry run stores nothing');
    const copied = await s.api('POST', '/api/repos/dst/copy/src/app', { 'with-deps': true });
    assert.is(copied.status, 200, copied.text);
    assert.equal(nv(await keysOf(s, '/api/repos/dst/packages')), ['app 2.0', 'base 1.0', 'libthing 1.0']);
    assert.equal(nv(await keysOf(s, '/api/repos/src/packages')), ['app 2.0', 'libthing 1.0', 'other 1.0'], 'copy, not move');
    const byQuery = await s.api('POST', `/api/repos/dst/copy/src/${encodeURIComponent('Name (~ ^oth)')}`);
    assert.is(byQuery.status, 200, byQuery.text);
    assert.equal((byQuery.json as { Report: { Added: string[] } }).Report.Added, ['added other-1.0(all)']);
    const task = await s.api('POST', '/api/repos/dst/copy/src/other?_async=true');
    assert.is(task.status, 202);
    assert.is(((await s.api('GET', `/api/tasks/${(task.json as { ID: number }).ID}/wait`)).json as { State: number }).State, 2);

    const before = await keysOf(s, '/api/repos/dst/packages');
    await expectError(s, 'POST', '/api/repos/dst/copy/src/nothing-matches', {}, 422, /no package found for filter/);
    await expectError(s, 'POST', `/api/repos/dst/copy/src/${encodeURIComponent('Name (')}`, {}, 422, /unable to parse query/);
    await expectError(s, 'POST', '/api/repos/nope/copy/src/app', {}, 400, /dest repo error/);
    await expectError(s, 'POST', '/api/repos/dst/copy/nope/app', {}, 400, /src repo error/);
    await expectError(s, 'POST', '/api/repos/dst/copy/dst/app', {}, 400, /identical/);
    await expectError(s, 'POST', '/api/repos/dst/copy/src/app', { 'with-deps': 'yes' }, 400, /with-deps/);
    // A different build of a name/version/arch the destination has: 409.
    await s.api('POST', '/api/repos', { Name: 'rebuild' });
    await addRebuilds(s, 'rebuild', [await makeDeb(p, 'base', '1.0', { arch: 'amd64', content: 'another build\n' })]);
    await expectError(s, 'POST', '/api/repos/dst/copy/rebuild/base', {}, 409, /conflicts with/);
    // with-deps into a repo without architecture-specific packages: architectures unknown.
    await s.api('POST', '/api/repos', { Name: 'empty' });
    await expectError(s, 'POST', '/api/repos/empty/copy/src/app', { 'with-deps': true }, 422, /architectures/);
    assert.equal(await keysOf(s, '/api/repos/dst/packages'), before, 'failed copies stored nothing');
    assert.equal(await keysOf(s, '/api/repos/empty/packages'), []);
  });
});

test('snapshots: :name/merge (override, no-remove, latest) and the older merge form', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'a' });
    await s.api('POST', '/api/repos', { Name: 'b' });
    await s.addPackages('a', [await makeDeb(p, 'tool', '1.0'), await makeDeb(p, 'tool', '3.0'), await makeDeb(p, 'only-a', '1.0')]);
    await s.addPackages('b', [await makeDeb(p, 'tool', '2.0'), await makeDeb(p, 'only-b', '1.0')]);
    await s.api('POST', '/api/repos/a/snapshots', { Name: 'sa' });
    await s.api('POST', '/api/repos/b/snapshots', { Name: 'sb' });
    const merged = await s.api('POST', '/api/snapshots/m-default/merge', { Sources: ['sa', 'sb'] });
    assert.is(merged.status, 201, merged.text);
    assert.is((merged.json as Json).Name, 'm-default');
    assert.is((merged.json as Json).Description, "Merged from sources: 'sa', 'sb'");
    assert.is((merged.json as Json).SourceKind, 'snapshot');
    // The later source replaces every version the earlier had (even the newer 3.0).
    assert.equal(nv(await keysOf(s, '/api/snapshots/m-default/packages')), ['only-a 1.0', 'only-b 1.0', 'tool 2.0']);
    assert.is((await s.api('POST', '/api/snapshots/m-keep/merge?no-remove=1', { Sources: ['sa', 'sb'] })).status, 201);
    assert.equal(nv(await keysOf(s, '/api/snapshots/m-keep/packages')), ['only-a 1.0', 'only-b 1.0', 'tool 1.0', 'tool 2.0', 'tool 3.0']);
    assert.is((await s.api('POST', '/api/snapshots/m-latest/merge?latest=1', { Sources: ['sb', 'sa'] })).status, 201);
    assert.equal(nv(await keysOf(s, '/api/snapshots/m-latest/packages')), ['only-a 1.0', 'only-b 1.0', 'tool 3.0']);
    const t = await s.api('POST', '/api/snapshots/m-async/merge?_async=true', { Sources: ['sb'] });
    assert.is(t.status, 202);
    await s.api('GET', `/api/tasks/${(t.json as { ID: number }).ID}/wait`);
    assert.equal(nv(await keysOf(s, '/api/snapshots/m-async/packages')), ['only-b 1.0', 'tool 2.0']);

    await expectError(s, 'POST', '/api/snapshots/x/merge?latest=1&no-remove=1', { Sources: ['sa'] }, 400, /mutually exclusive/);
    await expectError(s, 'POST', '/api/snapshots/x/merge', { Sources: [] }, 400, /minimum one source snapshot is required/);
    await expectError(s, 'POST', '/api/snapshots/x/merge', { Sources: ['sa', 'nope'] }, 404, /snapshot with name nope not found/);
    await expectError(s, 'POST', '/api/snapshots/sa/merge', { Sources: ['sb'] }, 409, /already exists/);
    assert.is((await s.api('GET', '/api/snapshots/x')).status, 404, 'failed merges stored nothing');
    assert.equal(nv(await keysOf(s, '/api/snapshots/sa/packages')), ['only-a 1.0', 'tool 1.0', 'tool 3.0'], 'sources untouched');
    // The form the CLI used before (Destination in the body) keeps working.
    const legacy = await s.api('POST', '/api/snapshots/merge', { Destination: 'm-legacy', Sources: ['sa', 'sb'] });
    assert.is(legacy.status, 201, legacy.text);
    assert.equal(nv(await keysOf(s, '/api/snapshots/m-legacy/packages')), nv(await keysOf(s, '/api/snapshots/m-default/packages')));
  });
});

test('snapshots: :name/pull with dependencies, dry-run, no-deps, no-remove, all-matches', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'base' });
    await s.api('POST', '/api/repos', { Name: 'upstream' });
    await s.addPackages('base', [await makeDeb(p, 'libthing', '1.0', { arch: 'amd64' }), await makeDeb(p, 'keep-me', '1.0', { arch: 'amd64' })]);
    await s.addPackages('upstream', [
      await makeDeb(p, 'app', '2.0', { arch: 'amd64', depends: ['libthing (>= 2.0)'] }),
      await makeDeb(p, 'app', '1.5', { arch: 'amd64', depends: ['libthing (>= 2.0)'] }),
      await makeDeb(p, 'libthing', '2.0', { arch: 'amd64' }),
      await makeDeb(p, 'libthing', '2.1', { arch: 'amd64' }),
      await makeDeb(p, 'app', '9.0', { arch: 'arm64' }),
    ]);
    await s.api('POST', '/api/repos/base/snapshots', { Name: 'to' });
    await s.api('POST', '/api/repos/upstream/snapshots', { Name: 'from' });
    const req = { Source: 'from', Destination: 'pulled', Queries: ['app'] };

    const dry = await s.api('POST', '/api/snapshots/to/pull?dry-run=1', req);
    assert.is(dry.status, 200, dry.text);
    assert.equal(dry.json, { added_packages: ['app_2.0_amd64', 'libthing_2.1_amd64'], removed_packages: ['libthing_1.0_amd64'] });
    assert.is((await s.api('GET', '/api/snapshots/pulled')).status, 404, 'dry run stores nothing');

    const pulled = await s.api('POST', '/api/snapshots/to/pull', req);
    assert.is(pulled.status, 201, pulled.text);
    assert.equal(
      { Name: (pulled.json as Json).Name, SourceKind: (pulled.json as Json).SourceKind, Description: (pulled.json as Json).Description },
      { Name: 'pulled', SourceKind: 'snapshot', Description: "Pulled into 'to' with 'from' as source, pull request was: 'app'" },
    );
    // amd64 only (the architectures of "to"), newest app, its dependency upgraded.
    assert.equal(nv(await keysOf(s, '/api/snapshots/pulled/packages')), ['app 2.0', 'keep-me 1.0', 'libthing 2.1']);

    const noDeps = await s.api('POST', '/api/snapshots/to/pull?no-deps=1&no-remove=1&all-matches=1', { ...req, Destination: 'p2' });
    assert.is(noDeps.status, 201, noDeps.text);
    assert.equal(nv(await keysOf(s, '/api/snapshots/p2/packages')), ['app 1.5', 'app 2.0', 'keep-me 1.0', 'libthing 1.0']);
    const arm = await s.api('POST', '/api/snapshots/to/pull?dry-run=1', { ...req, Architectures: ['arm64'], Destination: 'p3' });
    assert.ok((arm.json as { added_packages: string[] }).added_packages.includes('app_9.0_arm64'), arm.text);

    await expectError(s, 'POST', '/api/snapshots/to/pull', { Source: 'from', Destination: 'p4' }, 400, /Queries/);
    await expectError(s, 'POST', '/api/snapshots/nope/pull', req, 404, /snapshot with name nope not found/);
    await expectError(s, 'POST', '/api/snapshots/to/pull', { ...req, Source: 'nope' }, 404, /snapshot with name nope not found/);
    await expectError(s, 'POST', '/api/snapshots/to/pull', { ...req, Destination: 'from' }, 409, /already exists/);
    await expectError(s, 'POST', '/api/snapshots/to/pull', { ...req, Queries: ['Name ('] }, 400, /unable to parse query/);
    await s.api('POST', '/api/snapshots', { Name: 'empty' });
    await expectError(s, 'POST', '/api/snapshots/empty/pull', { ...req, Destination: 'p5' }, 400, /architectures/);
    assert.equal(
      ((await s.api('GET', '/api/snapshots')).json as Json[]).map((x) => x.Name).sort(),
      ['empty', 'from', 'p2', 'pulled', 'to'],
      'failed pulls stored nothing',
    );
  });
});

const PUBLISH_KEYS = [
  'AcquireByHash', 'Architectures', 'ButAutomaticUpgrades', 'Codename', 'Distribution', 'Label', 'MultiDist', 'NotAutomatic',
  'Origin', 'Path', 'Prefix', 'SignedBy', 'SkipContents', 'SourceKind', 'Sources', 'Storage', 'Suite', 'Version',
];

test('publish: show, aptly JSON shape, SignedBy validated into Release and .sources, duplicate 400', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r', DefaultDistribution: 'wheezy' });
    await s.addPackages('r', [await makeDeb(p, 'shown', '1.0', { arch: 'amd64' })]);
    const fpr = s.server.context.signer.fingerprint;
    const created = await s.api('POST', '/api/publish/pre_fix', { SourceKind: 'local', Sources: [{ Name: 'r' }], SignedBy: fpr.toLowerCase() });
    assert.is(created.status, 201, created.text);
    const shown = await s.api('GET', '/api/publish/pre_fix/wheezy');
    assert.is(shown.status, 200);
    const json = shown.json as Json;
    // aptly's fields, and debpkg's own under a key no aptly field can have.
    assert.equal(Object.keys(json).filter((k) => k !== 'x-debpkg').sort(), PUBLISH_KEYS);
    const own = json['x-debpkg'] as { Generation: number; Date: string };
    assert.is(own.Generation, 1);
    // The generation's date is its Release file's Date (what apt sees), to the second.
    const releaseDate = /^Date: (.+)$/m.exec(await fetchText(`${s.url}/pre/fix/dists/wheezy/Release`))?.[1] ?? '';
    assert.is(own.Date, new Date(Date.parse(releaseDate)).toISOString().replace('.000Z', 'Z'), `Release Date: ${releaseDate}`);
    assert.ok(Math.abs(Date.parse(own.Date) - Date.now()) < 120_000, own.Date);
    assert.equal(
      { Prefix: json.Prefix, Distribution: json.Distribution, Path: json.Path, Sources: json.Sources, Architectures: json.Architectures, SignedBy: json.SignedBy, MultiDist: json.MultiDist },
      { Prefix: 'pre/fix', Distribution: 'wheezy', Path: 'pre/fix/wheezy', Sources: [{ Component: 'main', Name: 'r' }], Architectures: ['amd64'], SignedBy: fpr, MultiDist: false },
    );
    assert.equal((await s.api('GET', '/api/publish')).json, [json]);
    assert.match(await fetchText(`${s.url}/pre/fix/dists/wheezy/Release`), new RegExp(`^Signed-By: ${fpr}$`, 'm'));
    assert.match(await fetchText(`${s.url}/pre/fix/wheezy.sources`), new RegExp(`^Signed-By: /etc/apt/keyrings/debpkg\\.asc,${fpr}$`, 'm'));
    await expectError(s, 'GET', '/api/publish/pre_fix/nope', undefined, 404);

    // apt refuses a Release whose Signed-By is not fingerprints: so does the API, storing nothing.
    await expectError(s, 'PUT', '/api/publish/pre_fix/wheezy', { SignedBy: 'just,a,string' }, 400, /fingerprint/);
    await expectError(s, 'POST', '/api/publish/other', { Sources: [{ Name: 'r' }], SignedBy: 'ABCD' }, 400, /fingerprint/);
    await expectError(s, 'PUT', '/api/publish/pre_fix/wheezy', { AcquireByHash: 'yes' }, 400, /AcquireByHash/);
    await expectError(s, 'PUT', '/api/publish/pre_fix/wheezy', { Snapshots: [{ Component: 'main', Name: 'x' }] }, 400, /snapshots shouldn't be given/);
    assert.equal((await s.api('GET', '/api/publish/pre_fix/wheezy')).json, json, 'failed updates changed nothing');
    const updated = await s.api('PUT', '/api/publish/pre_fix/wheezy', {});
    assert.is(updated.status, 200, updated.text);
    const next = (updated.json as Json)['x-debpkg'] as { Generation: number; Date: string };
    assert.is(next.Generation, 2);
    assert.ok(Date.parse(next.Date) > Date.parse(own.Date), `${next.Date} after ${own.Date}`);
    assert.equal(((await s.api('GET', '/api/publish')).json as Json[])[0]!['x-debpkg'], next, 'the list shows the live generation');
    assert.is((await s.api('GET', '/api/publish/other/wheezy')).status, 404);
    // aptly answers 400 for a prefix/distribution already in use.
    await expectError(s, 'POST', '/api/publish/pre_fix', { Sources: [{ Name: 'r' }] }, 400, /already used/);

    // Distribution and Component default from the repos behind the sources, through snapshots.
    await s.api('POST', '/api/repos', { Name: 'contrib-repo', DefaultDistribution: 'bookworm/updates', DefaultComponent: 'contrib' });
    await s.api('POST', '/api/repos/contrib-repo/snapshots', { Name: 'c1' });
    await s.api('POST', '/api/snapshots/c2/merge', { Sources: ['c1'] });
    const guessed = await s.api('POST', '/api/publish/guess', { SourceKind: 'snapshot', Sources: [{ Name: 'c2' }] });
    assert.is(guessed.status, 201, guessed.text);
    assert.equal([(guessed.json as Json).Distribution, (guessed.json as Json).Sources], ['bookworm-updates', [{ Component: 'contrib', Name: 'c2' }]]);
    await s.api('POST', '/api/repos', { Name: 'plain' });
    await expectError(s, 'POST', '/api/publish/guess2', { Sources: [{ Name: 'plain' }] }, 400, /unable to guess distribution/);
    await expectError(s, 'POST', '/api/publish/guess2', { Sources: [{ Name: 'plain' }, { Name: 'r' }], Distribution: 'x' }, 400, /unable to figure out component name for plain/);
    assert.is(((await s.api('GET', '/api/publish')).json as Json[]).length, 2, 'failed publishes stored nothing');

    const cleared = await s.api('PUT', '/api/publish/pre_fix/wheezy', { SignedBy: '' });
    assert.is(cleared.status, 200, cleared.text);
    assert.not.match(await fetchText(`${s.url}/pre/fix/dists/wheezy/Release`), /^Signed-By:/m);
    assert.match(await fetchText(`${s.url}/pre/fix/wheezy.sources`), /^Signed-By: \/etc\/apt\/keyrings\/debpkg\.asc$/m);
  });
});

test('MultiDist: pool/<dist>/<component>/...; without it a different build under one name is refused (409)', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'stable-repo' });
    await s.api('POST', '/api/repos', { Name: 'testing-repo' });
    await s.addPackages('stable-repo', [await makeDeb(p, 'twin', '1.0', { content: 'stable build\n' })]);
    await addRebuilds(s, 'testing-repo', [await makeDeb(p, 'twin', '1.0', { content: 'testing build\n' })]);
    assert.is((await s.api('POST', '/api/publish/md', { Sources: [{ Name: 'stable-repo' }], Distribution: 'stable' })).status, 201);
    const clash = await s.api('POST', '/api/publish/md', { Sources: [{ Name: 'testing-repo' }], Distribution: 'testing' });
    assert.is(clash.status, 409, clash.text);
    assert.match(errorOf(clash), /pool\/main\/t\/twin\/twin_1\.0_all\.deb.*MultiDist/);
    assert.is((await s.api('GET', '/api/publish/md/testing')).status, 404, 'nothing stored');
    assert.is((await fetch(`${s.url}/md/dists/testing/Release`)).status, 404, 'nothing published');

    const multi = await s.api('POST', '/api/publish/md', { Sources: [{ Name: 'testing-repo' }], Distribution: 'testing', MultiDist: true });
    assert.is(multi.status, 201, multi.text);
    assert.is((multi.json as Json).MultiDist, true);
    const index = await fetchText(`${s.url}/md/dists/testing/main/binary-amd64/Packages`);
    assert.match(index, /^Filename: pool\/testing\/main\/t\/twin\/twin_1\.0_all\.deb$/m);
    const deb = Buffer.from(await (await fetch(`${s.url}/md/pool/testing/main/t/twin/twin_1.0_all.deb`)).arrayBuffer());
    assert.match(index, new RegExp(`^SHA256: ${(await import('node:crypto')).createHash('sha256').update(deb).digest('hex')}$`, 'm'));

    // Switching MultiDist on for the existing distribution moves its pool paths.
    const switched = await s.api('PUT', '/api/publish/md/stable', { MultiDist: true });
    assert.is(switched.status, 200, switched.text);
    assert.match(await fetchText(`${s.url}/md/dists/stable/main/binary-amd64/Packages`), /^Filename: pool\/stable\/main\/t\/twin\/twin_1\.0_all\.deb$/m);
    assert.is((await fetch(`${s.url}/md/pool/stable/main/t/twin/twin_1.0_all.deb`)).status, 200);
  });
});

test('publish sources: stage, list, replace, update one, remove, drop; POST .../update applies them', async () => {
  await withServer(async (s, p) => {
    for (const r of ['r1', 'r2', 'r3']) {
      await s.api('POST', '/api/repos', { Name: r, DefaultDistribution: 'wheezy' });
      await s.addPackages(r, [await makeDeb(p, `pkg-${r}`, '1.0')]);
    }
    assert.is((await s.api('POST', '/api/publish/pfx', { SourceKind: 'local', Sources: [{ Component: 'main', Name: 'r1' }, { Component: 'test', Name: 'r2' }] })).status, 201);
    const base = '/api/publish/pfx/wheezy';
    await expectError(s, 'GET', `${base}/sources`, undefined, 404, /No source changes exist/);
    assert.is((await s.api('DELETE', `${base}/sources/main`)).status, 200);
    assert.is((await s.api('PUT', `${base}/sources/test`, { Component: 'test', Name: 'r1' })).status, 200);
    const added = await s.api('POST', `${base}/sources`, { Component: 'other-test', Name: 'r3' });
    assert.is(added.status, 201, added.text);
    assert.equal((added.json as Json).Sources, [{ Component: 'main', Name: 'r1' }, { Component: 'test', Name: 'r2' }], 'the publish itself is unchanged');
    assert.equal((await s.api('GET', `${base}/sources`)).json, [{ Component: 'other-test', Name: 'r3' }, { Component: 'test', Name: 'r1' }]);

    const staged = (await s.api('GET', `${base}/sources`)).json;
    await expectError(s, 'POST', `${base}/sources`, { Component: 'test', Name: 'r2' }, 400, /already exists/);
    await expectError(s, 'POST', `${base}/sources`, { Component: 'new', Name: 'no-repo' }, 404, /not found/);
    await expectError(s, 'POST', `${base}/sources`, { Component: 'Bad Component!', Name: 'r2' }, 400, /component/);
    await expectError(s, 'PUT', `${base}/sources/missing`, { Name: 'r2' }, 404, /does not exist/);
    await expectError(s, 'DELETE', `${base}/sources/missing`, undefined, 404, /does not exist/);
    await expectError(s, 'PUT', `${base}/sources`, { Component: 'x' }, 400);
    await expectError(s, 'POST', '/api/publish/pfx/nope/sources', { Component: 'x', Name: 'r1' }, 404);
    assert.equal((await s.api('GET', `${base}/sources`)).json, staged, 'failed edits changed nothing');

    const updated = await s.api('POST', `${base}/update`, { AcquireByHash: true, MultiDist: false, SkipBz2: true, SkipContents: true });
    assert.is(updated.status, 200, updated.text);
    assert.equal((updated.json as Json).Sources, [{ Component: 'other-test', Name: 'r3' }, { Component: 'test', Name: 'r1' }]);
    assert.is((updated.json as Json).SkipContents, true);
    await expectError(s, 'GET', `${base}/sources`, undefined, 404, /No source changes exist/);
    const release = await fetchText(`${s.url}/pfx/dists/wheezy/Release`);
    assert.match(release, /^Components: other-test test$/m);
    assert.match(await fetchText(`${s.url}/pfx/dists/wheezy/test/binary-amd64/Packages`), /^Package: pkg-r1$/m);
    assert.match(await fetchText(`${s.url}/pfx/dists/wheezy/other-test/binary-amd64/Packages`), /^Package: pkg-r3$/m);

    // PUT replaces the whole staged list; DELETE drops it and the publish stays as it is.
    const replaced = await s.api('PUT', `${base}/sources`, [{ Component: 'test', Name: 'r1' }, { Component: 'other-test', Name: 'r2' }]);
    assert.is(replaced.status, 200, replaced.text);
    assert.equal(replaced.json, [{ Component: 'other-test', Name: 'r2' }, { Component: 'test', Name: 'r1' }]);
    assert.is((await s.api('DELETE', `${base}/sources`)).status, 200);
    await expectError(s, 'GET', `${base}/sources`, undefined, 404);
    const plain = await s.api('POST', `${base}/update`, {});
    assert.is(plain.status, 200, plain.text);
    assert.equal((plain.json as Json).Sources, [{ Component: 'other-test', Name: 'r3' }, { Component: 'test', Name: 'r1' }]);
    // Staged sources survive a restart (they are in the journal).
    assert.is((await s.api('DELETE', `${base}/sources/test`)).status, 200);
    await s.server.close();
    const again = await TestRepoServer.start({}, s.dataDir);
    try {
      assert.equal((await again.api('GET', `${base}/sources`)).json, [{ Component: 'other-test', Name: 'r3' }]);
    } finally {
      await again.stop();
    }
  }, { manualStop: true });
});

test('queued concurrent publish updates all succeed, fold into few publishes, the last one wins', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r', DefaultDistribution: 'busy' });
    await s.addPackages('r', [await makeDeb(p, 'busy-pkg', '1.0')]);
    await s.api('POST', '/api/repos/r/snapshots', { Name: 's1' });
    await s.api('POST', '/api/repos/r/snapshots', { Name: 's2' });
    assert.is((await s.api('POST', '/api/publish/q', { Sources: [{ Name: 'r' }] })).status, 201);
    const qs = await s.api('POST', '/api/publish/qs', { SourceKind: 'snapshot', Sources: [{ Component: 'main', Name: 's1' }, { Component: 'extra', Name: 's1' }], Distribution: 'snap' });
    assert.is(qs.status, 201, qs.text);
    const generation = async (dist: string): Promise<number> => Number((await readlink(join(s.dataDir, 'public', dist))).split('/').pop());
    const before = await generation('q/dists/busy');

    // aptly's test: ten concurrent PUTs, all must succeed.
    const fingerprints = Array.from({ length: 10 }, (_, i) => `${String(i).repeat(4)}${'A'.repeat(36)}`);
    const parallel = await Promise.all(fingerprints.map((f) => s.api('PUT', '/api/publish/q/busy', { AcquireByHash: true, SignedBy: f })));
    for (const r of parallel) assert.is(r.status, 200, r.text);
    assert.ok((await generation('q/dists/busy')) - before < 10, 'queued updates folded into fewer publishes');

    // In a known order (tasks are queued when the 202 is answered): the last one wins.
    const ids: number[] = [];
    for (const f of fingerprints) {
      const t = await s.api('PUT', '/api/publish/q/busy?_async=true', { SignedBy: f, AcquireByHash: f !== fingerprints[9] });
      assert.is(t.status, 202);
      ids.push((t.json as { ID: number }).ID);
    }
    for (const id of ids) assert.is(((await s.api('GET', `/api/tasks/${id}/wait`)).json as { State: number }).State, 2, `task ${id}`);
    const final = (await s.api('GET', '/api/publish/q/busy')).json as Json;
    assert.is(final.SignedBy, fingerprints[9]);
    assert.is(final.AcquireByHash, false);
    const release = await fetchText(`${s.url}/q/dists/busy/Release`);
    assert.match(release, new RegExp(`^Signed-By: ${fingerprints[9]}$`, 'm'));
    assert.not.match(release, /^Acquire-By-Hash:/m);

    // A request that an earlier queued one makes invalid fails alone; the others go through.
    assert.is((await s.api('DELETE', '/api/publish/qs/snap/sources/extra')).status, 200);
    const applyStaged = await s.api('POST', '/api/publish/qs/snap/update?_async=true', {});
    const orphan = await s.api('PUT', '/api/publish/qs/snap?_async=true', { Snapshots: [{ Component: 'extra', Name: 's2' }] });
    const last = await s.api('PUT', '/api/publish/qs/snap?_async=true', { Snapshots: [{ Component: 'main', Name: 's2' }], SignedBy: fingerprints[3] });
    const state = async (r: { json: unknown }): Promise<number> => ((await s.api('GET', `/api/tasks/${(r.json as { ID: number }).ID}/wait`)).json as { State: number }).State;
    assert.is(await state(applyStaged), 2);
    assert.is(await state(orphan), 3);
    assert.match((await s.api('GET', `/api/tasks/${(orphan.json as { ID: number }).ID}/output`)).json as string, /component extra is not in this publish/);
    assert.is(await state(last), 2);
    const snap = (await s.api('GET', '/api/publish/qs/snap')).json as Json;
    assert.equal([snap.Sources, snap.SignedBy], [[{ Component: 'main', Name: 's2' }], fingerprints[3]]);
    assert.match(await fetchText(`${s.url}/qs/dists/snap/Release`), /^Components: main$/m);
  });
});

test('tasks in aptly shapes: dummy task, output, detail, return_value, delete; ready and healthy', async () => {
  await withServer(async (s) => {
    assert.equal([(await s.api('GET', '/api/ready')).json, (await s.api('GET', '/api/healthy')).json], [{ Status: 'Aptly is ready' }, { Status: 'Aptly is healthy' }]);
    const sync = await s.api('POST', '/api/tasks-dummy');
    assert.equal([sync.status, sync.json], [418, [1, 2, 3]]);
    const started = await s.api('POST', '/api/tasks-dummy?_async=true');
    assert.is(started.status, 202);
    const id = (started.json as { ID: number }).ID;
    assert.equal((await s.api('GET', `/api/tasks/${id}/wait`)).json, { ID: id, Name: 'Dummy task', State: 2 });
    assert.is((await s.api('GET', `/api/tasks/${id}/output`)).json, 'Dummy task started\nDummy task finished\nTask succeeded');
    assert.equal((await s.api('GET', `/api/tasks/${id}/detail`)).json, [1, 2, 3]);
    assert.equal((await s.api('GET', `/api/tasks/${id}/return_value`)).json, { Code: 418, Value: [1, 2, 3] });
    assert.equal((await s.api('GET', '/api/tasks')).json, [{ ID: id, Name: 'Dummy task', State: 2 }]);

    const failing = await s.api('POST', '/api/snapshots/x/merge?_async=true', { Sources: ['nope'] });
    const fid = (failing.json as { ID: number }).ID;
    assert.is(((await s.api('GET', `/api/tasks/${fid}/wait`)).json as { State: number }).State, 3);
    assert.equal((await s.api('GET', `/api/tasks/${fid}/return_value`)).json, { Code: 404, Value: null });
    assert.match((await s.api('GET', `/api/tasks/${fid}/output`)).json as string, /snapshot with name nope not found/);

    assert.equal((await s.api('DELETE', `/api/tasks/${id}`)).json, { ID: id, Name: 'Dummy task', State: 2 });
    await expectError(s, 'GET', `/api/tasks/${id}`, undefined, 404);
    await expectError(s, 'GET', `/api/tasks/${id}/wait`, undefined, 400);
    await expectError(s, 'DELETE', `/api/tasks/${id}`, undefined, 400);
    assert.is((await s.api('POST', '/api/tasks-clear')).status, 200);
    assert.equal((await s.api('GET', '/api/tasks')).json, []);
  });
});

// ---- what apt makes of it, on bookworm (apt 2.6, gpgv) and trixie (apt 3.0, sqv)

/** A package whose program prints `message` (builds of one version may differ in it). */
async function demoDeb(p: Project, version: string, message: string): Promise<string> {
  const bin = `bin/demo-${Math.random().toString(36).slice(2, 8)}`;
  await p.write(bin, { content: `#!/bin/sh\necho "${message}"\n`, mode: 0o755 });
  const yaml = `name: repo-demo\nversion: "${version}"\nrelease: "1"\narch: all\nmaintainer: Apt Tester <apt@example.org>\ndescription: repo demo\ncontents:\n  - { src: ${bin}, dst: /usr/bin/repo-demo }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  return (await buildPackage(loaded, { outputDir: p.path(`out/${Math.random().toString(36).slice(2, 10)}`), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path;
}

async function useDistribution(node: FleetNode, s: TestRepoServer, path: string): Promise<void> {
  await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${s.url}/${path}.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
}
const aptGet = (node: FleetNode, args: string[]) => node.run(['apt-get', '-q', '-y', ...args], { allowFail: true });
const clean = (r: { code: number; stdout: string; stderr: string }, what: string): void => {
  assert.is(r.code, 0, `${what}: ${r.stdout}${r.stderr}`);
  assert.not.match(r.stdout + r.stderr, /^(W|E): /m, `${what}: ${r.stdout}${r.stderr}`);
};

function aptTest(suite: Suite): void {
  test(`${suite}: MultiDist builds side by side, staged source switch + update, SignedBy pins the key in .sources`, async () => {
    const p = await Project.create();
    const s = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    try {
      for (const r of ['stable-repo', 'testing-repo', 'next-repo']) await s.api('POST', '/api/repos', { Name: r });
      await s.addPackages('stable-repo', [await demoDeb(p, '1.0', 'stable build')]);
      await addRebuilds(s, 'testing-repo', [await demoDeb(p, '1.0', 'testing build')]);
      await s.addPackages('next-repo', [await demoDeb(p, '1.1', 'next version')]);
      const fpr = s.server.context.signer.fingerprint;
      for (const [dist, repo] of [['stable', 'stable-repo'], ['testing', 'testing-repo']] as const) {
        const r = await s.api('POST', '/api/publish/multi', { Sources: [{ Name: repo }], Distribution: dist, MultiDist: true, SignedBy: fpr });
        assert.is(r.status, 201, r.text);
      }

      await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${s.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
      await useDistribution(node, s, 'multi/stable');
      assert.match(await node.readFile('/etc/apt/sources.list.d/debpkg.sources'), new RegExp(`^Signed-By: /etc/apt/keyrings/debpkg\\.asc,${fpr}$`, 'm'));
      clean(await aptGet(node, ['update']), 'update (stable)');
      clean(await aptGet(node, ['install', 'repo-demo']), 'install (stable)');
      assert.is((await node.run(['repo-demo'])).stdout, 'stable build\n');

      // The same name/version/arch, another build: only MultiDist lets both be published.
      await useDistribution(node, s, 'multi/testing');
      clean(await aptGet(node, ['update']), 'update (testing)');
      clean(await aptGet(node, ['install', '--reinstall', 'repo-demo']), 'reinstall (testing)');
      assert.is((await node.run(['repo-demo'])).stdout, 'testing build\n');

      // Switch stable's main component to another repo in the staged list, then publish it.
      assert.is((await s.api('PUT', '/api/publish/multi/stable/sources/main', { Name: 'next-repo' })).status, 200);
      const upd = await s.api('POST', '/api/publish/multi/stable/update', {});
      assert.is(upd.status, 200, upd.text);
      await useDistribution(node, s, 'multi/stable');
      clean(await aptGet(node, ['update']), 'update after the source switch');
      clean(await aptGet(node, ['install', '--only-upgrade', 'repo-demo']), 'upgrade after the source switch');
      assert.is((await node.run(['repo-demo'])).stdout, 'next version\n');

      // SignedBy naming another key: the node that follows the .sources refuses our Release.
      assert.is((await s.api('PUT', '/api/publish/multi/stable', { SignedBy: 'AB'.repeat(20) })).status, 200);
      await useDistribution(node, s, 'multi/stable');
      const refused = await aptGet(node, ['update']);
      // With index files from before, apt keeps them, warns and exits 0; the new Release is refused.
      assert.match(refused.stdout + refused.stderr, /^Err:1 .* InRelease$/m, refused.stdout + refused.stderr);
      assert.match(refused.stdout + refused.stderr, /No good signature from required signer|signatures couldn't be verified/, refused.stdout + refused.stderr);
      assert.match(refused.stdout + refused.stderr, /The repository is not updated/, refused.stdout + refused.stderr);
      assert.is((await s.api('PUT', '/api/publish/multi/stable', { SignedBy: fpr })).status, 200);
      await useDistribution(node, s, 'multi/stable');
      clean(await aptGet(node, ['update']), 'update with our key pinned again');
    } finally {
      await node.destroy();
      await s.stop();
      await p.destroy();
    }
  });
}

for (const suite of SUITES) aptTest(suite);

test.run();
