// The rest of aptly's system/t12_api scenarios (repos, packages, files, snapshots incl.
// merge/diff/search, publish repo/update/delete), ported as behaviour specs against our server
// with packages we build ourselves (our own .deb builder, `dpkg-source -b`). Each test names
// the aptly test classes it ports; docs/repo-server.md's table maps every class to its test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSourcePackage, type SourceFixture } from '../support/source-fixture.js';
import { fails, keys, makeDeb, ok, upload, uploadPaths, withServer } from '../support/aptly-scenario.js';
import type { TestRepoServer } from '../support/repo-server.js';

let src: SourceFixture;
test.before(async () => {
  src = await buildSourcePackage('scenario', '0.6.1', 'hello from a ported aptly scenario');
});
test.after(async () => {
  await src?.cleanup();
});

async function uploadSource(s: TestRepoServer, dir: string, extra: [string, Buffer][] = []): Promise<void> {
  await upload(s, dir, [...(await Promise.all(src.files.map(async (f): Promise<[string, Buffer]> => [f, await readFile(join(src.dir, f))]))), ...extra]);
}

test('repos (ReposAPITestCreateShow, CreateEdit, CreateFromWrongSnapshot): shapes, names with spaces, rename, 404s', async () => {
  await withServer(async (s) => {
    const desc = { Name: 'fun', Comment: 'fun repo', DefaultDistribution: '', DefaultComponent: '' };
    const created = await s.api('POST', '/api/repos', { Name: 'fun', Comment: 'fun repo' });
    assert.is(created.status, 201);
    assert.equal(created.json, desc);
    assert.equal((await s.api('GET', '/api/repos/fun')).json, desc);
    assert.equal((await s.api('GET', '/api/repos/fun/packages')).json, []);
    assert.is((await s.api('GET', '/api/repos/other')).status, 404);
    const spaced = { Name: 'r with space', Comment: 'fun repo', DefaultComponent: 'contrib', DefaultDistribution: 'bookworm' };
    const c2 = await s.api('POST', '/api/repos', spaced);
    assert.is(c2.status, 201, c2.text);
    assert.equal(c2.json, spaced);
    const renamed = { Name: 'r with space@renamed', Comment: 'modified repo', DefaultComponent: 'main', DefaultDistribution: 'trixie' };
    const edit = await s.api('PUT', `/api/repos/${encodeURIComponent('r with space')}`, renamed);
    assert.is(edit.status, 200, edit.text);
    assert.equal(edit.json, renamed);
    assert.equal((await s.api('GET', `/api/repos/${encodeURIComponent(renamed.Name)}`)).json, renamed);
    assert.is((await s.api('GET', `/api/repos/${encodeURIComponent('r with space')}`)).status, 404);
    assert.is((await s.api('DELETE', `/api/repos/${encodeURIComponent(renamed.Name)}`)).status, 200);
    assert.is((await s.api('POST', '/api/repos', { Name: 'x', FromSnapshot: 'no-such-snapshot' })).status, 404);
  });
});

test('repos (ReposAPITestCreateIndexDelete): a published repo cannot be dropped, not even with force; one with snapshots needs force', async () => {
  await withServer(async (s) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'idx', Comment: 'fun repo' })).status, 201);
    assert.ok(((await s.api('GET', '/api/repos/')).json as { Name: string }[]).some((r) => r.Name === 'idx'));
    await ok(s, 'DELETE', '/api/repos/idx');
    assert.is((await s.api('DELETE', '/api/repos/idx')).status, 404);
    assert.is((await s.api('GET', '/api/repos/idx')).status, 404);
    assert.is((await s.api('POST', '/api/repos', { Name: 'idx', Comment: 'fun repo', DefaultDistribution: 'dist-idx' })).status, 201);
    await uploadSource(s, 'd1');
    await ok(s, 'POST', '/api/repos/idx/file/d1');
    await ok(s, 'POST', '/api/repos/idx/snapshots', { Name: 'idx' });
    await ok(s, 'POST', '/api/publish', { SourceKind: 'local', Sources: [{ Name: 'idx' }], Signing: { Skip: true } });
    await fails(s, 'DELETE', '/api/repos/idx');
    await fails(s, 'DELETE', '/api/repos/idx?force=1');
    await ok(s, 'DELETE', '/api/publish//dist-idx');
    await fails(s, 'DELETE', '/api/repos/idx'); // its snapshot still names it
    await ok(s, 'DELETE', '/api/repos/idx?force=1');
    assert.is((await s.api('GET', '/api/repos/idx')).status, 404);
  });
});

test('repos (ReposAPITestAdd, AddNotFullRemove, AddNoRemove, AddFile): task output, what leaves the upload area', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'add' })).status, 201);
    await uploadSource(s, 'd1', [['aptly.pub', Buffer.from('not a package\n')]]);
    const t = await ok(s, 'POST', '/api/repos/add/file/d1');
    assert.match(t.output, /Added: scenario_0\.6\.1-1_source added/);
    for (const absent of ['Removed: ', 'Failed files: ', 'Warnings: ']) assert.not.ok(t.output.includes(absent), `${absent} in ${t.output}`);
    const [srcKey] = await keys(s, '/api/repos/add/packages');
    assert.match(srcKey!, /^Psource scenario 0\.6\.1-1 [0-9a-f]{16}$/);
    // AddNotFullRemove: the file that is no package stays; the source's files leave.
    assert.equal((await s.api('GET', '/api/files/d1')).json, ['aptly.pub']);
    // AddNoRemove: everything stays.
    assert.is((await s.api('POST', '/api/repos', { Name: 'keep' })).status, 201);
    await uploadSource(s, 'd2');
    await ok(s, 'POST', '/api/repos/keep/file/d2?noRemove=1');
    assert.equal(await keys(s, '/api/repos/keep/packages'), [srcKey!]);
    assert.equal(await keys(s, '/api/files/d2'), [...src.files].sort());
    // AddFile: one named .deb; the emptied upload directory is gone.
    await uploadPaths(s, 'd3', [await makeDeb(p, 'libscenario-dev', '1.49.0.1', 'i386')]);
    const f = await ok(s, 'POST', '/api/repos/add/file/d3/libscenario-dev_1.49.0.1_i386.deb');
    assert.match(f.output, /Added: libscenario-dev_1\.49\.0\.1_i386 added/);
    assert.is((await s.api('GET', '/api/files/d3')).status, 404);
    assert.is((await keys(s, '/api/repos/add/packages')).length, 2);
  });
});

test('repos (ReposAPITestShowQuery, AddMultiple, ShowMaxVersion): queries, details, a bad query 400, maximumVersion', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'q' })).status, 201);
    await uploadPaths(s, 'd', [await makeDeb(p, 'boosty', '1.49.0.1', 'i386'), await makeDeb(p, 'boosty', '1.62.0.1', 'i386')]);
    await uploadSource(s, 'd');
    // AddMultiple: one named .dsc of the directory, with noRemove, then the rest.
    await ok(s, 'POST', `/api/repos/q/file/d/${src.dsc}?noRemove=1`);
    const [srcKey] = await keys(s, '/api/repos/q/packages');
    assert.match(srcKey!, /^Psource scenario /);
    const all = await ok(s, 'POST', '/api/repos/q/file/d');
    assert.match(all.output, /Added: boosty_1\.49\.0\.1_i386 added, boosty_1\.62\.0\.1_i386 added/);
    assert.is((await keys(s, '/api/repos/q/packages')).length, 3);
    assert.equal(await keys(s, '/api/repos/q/packages?q=scenario'), [srcKey!]);
    const newer = await keys(s, `/api/repos/q/packages?q=${encodeURIComponent('Version (> 1.0)')}`);
    assert.equal(newer.map((k) => k.split(' ').slice(0, 3).join(' ')), ['Pi386 boosty 1.49.0.1', 'Pi386 boosty 1.62.0.1']);
    const details = (await s.api('GET', '/api/repos/q/packages?q=scenario&format=details')).json as { Key: string }[];
    assert.equal(details.map((d) => d.Key), [srcKey!]);
    const bad = await s.api('GET', `/api/repos/q/packages?q=${encodeURIComponent('scenario)')}`);
    assert.is(bad.status, 400);
    assert.match((bad.json as { error: string }).error, /unable to parse query 'scenario\)'/);
    const max = await keys(s, '/api/repos/q/packages?maximumVersion=1&q=boosty');
    assert.is(max.length, 1);
    assert.match(max[0]!, /^Pi386 boosty 1\.62\.0\.1 /);
  });
});

test('repos (ReposAPITestPackagesAddDelete, CopyPackage): refs are idempotent, a missing ref fails the whole request; copy errors', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'pad' })).status, 201);
    await uploadPaths(s, 'd', [await makeDeb(p, 'boosty', '1.49.0.1', 'i386'), await makeDeb(p, 'other', '0.6.1-1.4')]);
    await ok(s, 'POST', '/api/repos/pad/file/d');
    const both = await keys(s, '/api/repos/pad/packages');
    const otherKey = both.find((k) => k.includes(' other '))!;
    const boostKey = both.find((k) => k.includes(' boosty '))!;
    await ok(s, 'POST', '/api/repos/pad/packages/', { PackageRefs: [otherKey] });
    assert.equal(await keys(s, '/api/repos/pad/packages'), both);
    const missing = await fails(s, 'POST', '/api/repos/pad/packages/', { PackageRefs: [otherKey, 'Psource no-such-package 0.6.1-1.4 f8f1daa806004e89'] });
    assert.match(missing.output, /^Task failed with error: .*no-such-package/m);
    await ok(s, 'DELETE', '/api/repos/pad/packages/', { PackageRefs: [otherKey] });
    assert.equal(await keys(s, '/api/repos/pad/packages'), [boostKey]);
    await ok(s, 'POST', '/api/repos/pad/packages/', { PackageRefs: [otherKey] });
    assert.equal(await keys(s, '/api/repos/pad/packages'), both);
    assert.is((await s.api('POST', '/api/repos', { Name: 'pad2' })).status, 201);
    await ok(s, 'POST', '/api/repos/pad2/packages/', { PackageRefs: [otherKey, boostKey] });
    assert.equal(await keys(s, '/api/repos/pad2/packages'), both);
    // CopyPackage
    assert.is((await s.api('POST', '/api/repos', { Name: 'target' })).status, 201);
    await ok(s, 'POST', '/api/repos/target/copy/pad/boosty_1.49.0.1_i386');
    const badQuery = await fails(s, 'POST', `/api/repos/target/copy/pad/${encodeURIComponent('lalala >>')}`);
    assert.match(badQuery.output, /^Task failed with error: unable to parse query 'lalala >>'/m);
    const none = await fails(s, 'POST', '/api/repos/target/copy/pad/lalala');
    assert.match(none.output, /^Task failed with error: no package found for filter: 'lalala'$/m);
    assert.equal(await keys(s, '/api/repos/target/packages'), [boostKey]);
  });
});

test('packages (PackagesAPITestShow): a source package by key and by query, in aptly details shape; unknown key 404', async () => {
  await withServer(async (s) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'pk' })).status, 201);
    await uploadSource(s, 'd');
    await ok(s, 'POST', '/api/repos/pk/file/d');
    const [key] = await keys(s, '/api/repos/pk/packages');
    const shown = await s.api('GET', `/api/packages/${encodeURIComponent(key!)}`);
    assert.is(shown.status, 200, shown.text);
    const d = shown.json as Record<string, string>;
    const hash = key!.split(' ')[3]!;
    assert.is(d.Key, key);
    assert.is(d.ShortKey, 'Psource scenario 0.6.1-1');
    assert.is(d.FilesHash, hash);
    assert.is(d.Package, 'scenario');
    assert.is(d.Version, '0.6.1-1');
    assert.is(d.Format, '3.0 (quilt)');
    assert.is(d.Binary, 'scenario');
    assert.is(d.Architecture, 'all');
    assert.is(d.Maintainer, 'Repo Tester <repo@example.org>');
    assert.is(d.Source, undefined, 'the .dsc Source field is shown as Package');
    // Files and Checksums-* name every file, the .dsc included, as aptly lists them.
    for (const field of ['Files', 'Checksums-Sha1', 'Checksums-Sha256', 'Checksums-Sha512']) {
      const names = d[field]!.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/)[2]);
      assert.equal(names.sort(), [...src.files].sort(), field);
    }
    assert.equal((await s.api('GET', '/api/packages?q=scenario')).json, [key]);
    assert.equal((await s.api('GET', '/api/packages?q=scenario&format=details')).json, [d]);
    assert.is((await s.api('GET', `/api/packages/${encodeURIComponent(`Pamd64 no-such-package 1.0 ${hash}`)}`)).status, 404);
    assert.equal((await s.api('GET', '/api/packages?q=no-such-package')).json, []);
  });
});

test('files (FilesAPITestUpload, UploadMulti, List, Delete, Security): answers, listings, deletes, unsafe names', async () => {
  await withServer(async (s) => {
    assert.equal((await s.api('GET', '/api/files')).json, []);
    assert.is((await s.api('GET', '/api/files/d1')).status, 404);
    const one = await upload(s, 'd1', [['a_1.dsc', Buffer.from('x')]]);
    assert.equal(one, ['d1/a_1.dsc']);
    const multi = (await upload(s, 'd2', [['b.dsc', Buffer.from('1')], ['b.diff.gz', Buffer.from('2')], ['b.orig.tar.gz', Buffer.from('3')]])) as string[];
    assert.equal(multi.sort(), ['d2/b.diff.gz', 'd2/b.dsc', 'd2/b.orig.tar.gz']);
    assert.equal(await keys(s, '/api/files/d2'), ['b.diff.gz', 'b.dsc', 'b.orig.tar.gz']);
    await upload(s, 'd3', [['c.dsc', Buffer.from('c')]]);
    assert.equal(await keys(s, '/api/files'), ['d1', 'd2', 'd3']);
    assert.is((await s.api('DELETE', '/api/files/d1')).status, 200);
    assert.equal(await keys(s, '/api/files'), ['d2', 'd3']);
    assert.is((await s.api('DELETE', '/api/files/d3/no-such-file')).status, 200);
    assert.equal(await keys(s, '/api/files/d3'), ['c.dsc']);
    assert.is((await s.api('DELETE', '/api/files/d3/c.dsc')).status, 200);
    // aptly keeps the emptied directory (listed, []); here a directory exists while it holds a
    // file (docs/repo-server.md, Known differences).
    assert.is((await s.api('GET', '/api/files/d3')).status, 404);
    assert.equal(await keys(s, '/api/files'), ['d2']);
    // Security: no spelling of the upload root or a parent deletes anything (aptly: 404).
    for (const path of ['/api/files/.', '/api/files', '/api/files/', '/api/files/../.', '/api/files/./..', '/api/files/dir/..']) {
      const r = await s.api('DELETE', path);
      assert.is(r.status, 404, `DELETE ${path}: ${r.status} ${r.text}`);
    }
    assert.equal(await keys(s, '/api/files'), ['d2']);
  });
});

test('snapshots (SnapshotsAPITestCreateShowEmpty, CreateFromRefs, CreateFromRepo, Search, CreateDelete)', async () => {
  await withServer(async (s, p) => {
    await ok(s, 'POST', '/api/snapshots', { Name: 'empty', Description: 'fun snapshot' });
    const shown = (await s.api('GET', '/api/snapshots/empty')).json as Record<string, unknown>;
    assert.is(shown.Name, 'empty');
    assert.is(shown.Description, 'fun snapshot');
    assert.equal((await s.api('GET', '/api/snapshots/empty/packages')).json, []);
    assert.is((await s.api('GET', '/api/snapshots/nope')).status, 404);
    await fails(s, 'POST', '/api/snapshots', { Name: 'empty', Description: 'fun snapshot' });
    assert.is((await s.api('POST', '/api/snapshots', { Name: 'x', SourceSnapshots: ['nope'] })).status, 404);
    // From a repo: empty, then with a package, by query, in details.
    assert.is((await s.api('POST', '/api/repos', { Name: 'sr' })).status, 201);
    await ok(s, 'POST', '/api/repos/sr/snapshots', { Name: 'sr-empty' });
    assert.equal((await s.api('GET', '/api/snapshots/sr-empty/packages?format=details')).json, []);
    await uploadPaths(s, 'd', [await makeDeb(p, 'libsnap-dev', '1.49.0.1', 'i386')]);
    await ok(s, 'POST', '/api/repos/sr/file/d');
    await ok(s, 'POST', '/api/repos/sr/snapshots', { Name: 'sr1' });
    const [key] = await keys(s, '/api/snapshots/sr1/packages');
    const det = (await s.api('GET', `/api/snapshots/sr1/packages?format=details&q=${encodeURIComponent('Version (> 0.6.1-1.4)')}`)).json as Record<string, string>[];
    assert.is(det.length, 1);
    assert.is(det[0]!.Package, 'libsnap-dev');
    assert.is(det[0]!.Architecture, 'i386');
    assert.is(det[0]!.FilesHash, key!.split(' ')[3]);
    assert.is(((await s.api('GET', '/api/snapshots/sr1/packages?q=libsnap-dev&format=details')).json as unknown[]).length, 1);
    await fails(s, 'POST', '/api/repos/sr/snapshots', { Name: 'sr1' });
    // From refs with a source snapshot; a ref to no package fails and creates nothing.
    await ok(s, 'POST', '/api/snapshots', { Name: 'refs', Description: 'fun snapshot', SourceSnapshots: ['empty'], PackageRefs: [key] });
    assert.is(((await s.api('GET', '/api/snapshots/refs')).json as { Description: string }).Description, 'fun snapshot');
    assert.equal((await s.api('GET', '/api/snapshots/refs/packages')).json, [key]);
    await fails(s, 'POST', '/api/snapshots', { Name: 'bad-refs', PackageRefs: [key, 'Pamd64 no-such-package 1.2 91'] });
    assert.is((await s.api('GET', '/api/snapshots/bad-refs')).status, 404);
    const byTime = ((await s.api('GET', '/api/snapshots?sort=time')).json as { Name: string }[]).map((x) => x.Name).filter((n) => n === 'empty' || n === 'refs');
    assert.equal(byTime, ['empty', 'refs']);
    // CreateDelete: a snapshot another one was made from needs force; a published one cannot go.
    await ok(s, 'POST', '/api/snapshots', { Name: 'child', SourceSnapshots: ['sr1'] });
    await fails(s, 'DELETE', '/api/snapshots/sr1');
    assert.is((await s.api('GET', '/api/snapshots/sr1')).status, 200);
    await ok(s, 'DELETE', '/api/snapshots/sr1?force=1');
    assert.is((await s.api('GET', '/api/snapshots/sr1')).status, 404);
    await ok(s, 'POST', '/api/publish', { SourceKind: 'snapshot', Distribution: 'trusty', Architectures: ['i386'], Sources: [{ Name: 'child' }], Signing: { Skip: true } });
    await fails(s, 'DELETE', '/api/snapshots/child');
    await fails(s, 'DELETE', '/api/snapshots/child?force=1');
    assert.is((await s.api('GET', '/api/snapshots/child')).status, 200);
  });
});

test('snapshots (SnapshotsAPITestDiff, SnapshotsAPITestMerge): Left/Right with null, merge description and errors', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'dr' })).status, 201);
    await uploadPaths(s, 'd', [await makeDeb(p, 'libdiff-dev', '1.49.0.1', 'i386')]);
    await ok(s, 'POST', '/api/repos/dr/file/d');
    await ok(s, 'POST', '/api/repos/dr/snapshots', { Name: 'full' });
    await ok(s, 'POST', '/api/snapshots', { Name: 'none' });
    const [key] = await keys(s, '/api/snapshots/full/packages');
    assert.equal((await s.api('GET', '/api/snapshots/full/diff/none')).json, [{ Left: key, Right: null }]);
    assert.equal((await s.api('GET', '/api/snapshots/none/diff/full')).json, [{ Left: null, Right: key }]);
    assert.equal((await s.api('GET', '/api/snapshots/full/diff/full')).json, []);
    assert.equal((await s.api('GET', '/api/snapshots/none/diff/none')).json, []);
    // Merge
    await ok(s, 'POST', '/api/snapshots', { Name: 'm1', Description: 'fun snapshot' });
    await ok(s, 'POST', '/api/snapshots', { Name: 'm2', Description: 'fun snapshot' });
    await ok(s, 'POST', '/api/snapshots/merged/merge', { Sources: ['m1', 'm2'] });
    const merged = (await s.api('GET', '/api/snapshots/merged')).json as { Name: string; Description: string };
    assert.is(merged.Description, "Merged from sources: 'm1', 'm2'");
    await ok(s, 'DELETE', '/api/snapshots/merged');
    const noSources = await s.api('POST', '/api/snapshots/x1/merge', { Sources: [] });
    assert.is(noSources.status, 400);
    assert.is((noSources.json as { error: string }).error, 'minimum one source snapshot is required');
    assert.is((await s.api('GET', '/api/snapshots/x1')).status, 404);
    const missing = await s.api('POST', '/api/snapshots/x2/merge', { Sources: ['gone'] });
    assert.is(missing.status, 404);
    assert.is((missing.json as { error: string }).error, 'snapshot with name gone not found');
    const used = await s.api('POST', '/api/snapshots/m1/merge', { Sources: ['m1', 'm2'] });
    assert.is(used.status, 409, 'aptly answers 500; a name conflict is 409 here');
    assert.is((used.json as { error: string }).error, 'unable to create snapshot: snapshot with name m1 already exists');
    const both = await s.api('POST', '/api/snapshots/x3/merge?latest=1&no-remove=1', { Sources: ['m1', 'm2'] });
    assert.is(both.status, 400);
    assert.is((both.json as { error: string }).error, 'no-remove and latest are mutually exclusive');
  });
});

test('publish (PublishAPITestRepo, PublishUpdateAPITestRepo, PublishShowAPITestRepo): default distribution, derived architectures, update, drop', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'pr', DefaultDistribution: 'wheezy' })).status, 201);
    await uploadSource(s, 'd1');
    await uploadPaths(s, 'd1', [await makeDeb(p, 'libpub-dev', '1.49.0.1', 'i386')]);
    await ok(s, 'POST', '/api/repos/pr/file/d1');
    await ok(s, 'POST', '/api/publish/pfx', { SourceKind: 'local', Sources: [{ Name: 'pr' }], Signing: { Skip: true } });
    const all = (await s.api('GET', '/api/publish')).json as Record<string, unknown>[];
    const pub = all.find((x) => x.Prefix === 'pfx')!;
    assert.ok(pub, JSON.stringify(all));
    for (const [k, v] of Object.entries({ Architectures: ['i386', 'source'], Distribution: 'wheezy', Path: 'pfx/wheezy', SourceKind: 'local', Sources: [{ Component: 'main', Name: 'pr' }], Storage: '', SkipContents: false, MultiDist: false, SignedBy: '', Version: '', NotAutomatic: '', ButAutomaticUpgrades: '' })) {
      assert.equal(pub[k], v, k);
    }
    assert.equal((await s.api('GET', '/api/publish/pfx/wheezy')).json, pub);
    const get = (path: string) => fetch(`${s.url}/${path}`).then((r) => r.status);
    assert.is(await get('pfx/dists/wheezy/Release'), 200);
    assert.is(await get('pfx/dists/wheezy/main/binary-i386/Packages'), 200);
    assert.is(await get('pfx/dists/wheezy/main/source/Sources'), 200);
    assert.is(await get('pfx/pool/main/libp/libpub-dev/libpub-dev_1.49.0.1_i386.deb'), 200);
    assert.is(await get(`pfx/pool/main/s/scenario/${src.dsc}`), 200);
    // Under the root (":."), own distribution and architectures: Path "./<dist>".
    await ok(s, 'POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'pr' }], Signing: { Skip: true }, Distribution: 'rootdist', Architectures: ['i386', 'amd64'] });
    const root = (await s.api('GET', '/api/publish/:./rootdist')).json as Record<string, unknown>;
    assert.is(root.Path, './rootdist');
    assert.is(root.Prefix, '.');
    assert.equal(root.Architectures, ['amd64', 'i386']);
    assert.is(await get('dists/rootdist/main/binary-amd64/Packages'), 200);
    // Update: the removed source package leaves the indexes, Version is set.
    const [srcKey] = await keys(s, '/api/repos/pr/packages?q=scenario');
    await ok(s, 'DELETE', '/api/repos/pr/packages/', { PackageRefs: [srcKey] });
    await ok(s, 'PUT', '/api/publish/pfx/wheezy', { AcquireByHash: true, Signing: { Skip: true }, Version: '13.3' });
    const updated = (await s.api('GET', '/api/publish/pfx/wheezy')).json as Record<string, unknown>;
    assert.is(updated.Version, '13.3');
    assert.is(updated.AcquireByHash, true);
    const sources = await fetch(`${s.url}/pfx/dists/wheezy/main/source/Sources`).then((r) => r.text());
    assert.not.match(sources, /^Package: scenario$/m);
    assert.match(await fetch(`${s.url}/pfx/dists/wheezy/main/binary-i386/Packages`).then((r) => r.text()), /^Package: libpub-dev$/m);
    assert.is(await get('pfx/dists/wheezy/main/binary-i386/by-hash/SHA256/' + 'x'.repeat(64)), 404);
    // Drop (SkipCleanup accepted as aptly's): the distribution is gone.
    await ok(s, 'DELETE', '/api/publish/pfx/wheezy?SkipCleanup=1');
    assert.is(await get('pfx/dists/wheezy/Release'), 404);
    assert.is((await s.api('GET', '/api/publish/pfx/wheezy')).status, 404);
  });
});

test('tasks (TaskAPITestParallelTasks without mirrors): async add, snapshot, publish; delete a finished task; tasks-wait', async () => {
  await withServer(async (s) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'tr', Comment: 'fun repo', DefaultDistribution: 'tdist' })).status, 201);
    await uploadSource(s, 'd');
    const add = await s.api('POST', '/api/repos/tr/file/d?_async=True');
    assert.is(add.status, 202);
    const id = (add.json as { ID: number }).ID;
    assert.is(((await s.api('GET', `/api/tasks/${id}/wait`)).json as { State: number }).State, 2);
    assert.is((await s.api('DELETE', `/api/tasks/${id}`)).status, 200);
    assert.is((await s.api('GET', `/api/tasks/${id}`)).status, 404);
    const snap = await ok(s, 'POST', '/api/repos/tr/snapshots', { Name: 'tr' });
    assert.ok(snap.id > 0);
    const pubs = await Promise.all(['a', 'b'].map((d) => s.api('POST', '/api/publish?_async=True', { SourceKind: 'snapshot', Sources: [{ Name: 'tr' }], Distribution: `t-${d}`, Signing: { Skip: true } })));
    for (const r of pubs) assert.is(r.status, 202, r.text);
    assert.is((await s.api('GET', '/api/tasks-wait')).status, 200);
    for (const r of pubs) assert.is(((await s.api('GET', `/api/tasks/${(r.json as { ID: number }).ID}`)).json as { State: number }).State, 2);
  });
});

test('publish (PublishSwitchAPITestRepo, PublishSwitchAPITestSnapshot): a switch also sets Label, Origin, Version and SkipContents', async () => {
  await withServer(async (s, p) => {
    assert.is((await s.api('POST', '/api/repos', { Name: 'sw', DefaultDistribution: 'wheezy' })).status, 201);
    await uploadPaths(s, 'd1', [await makeDeb(p, 'swpkg', '1.0', 'i386')]);
    await ok(s, 'POST', '/api/repos/sw/file/d1');
    await ok(s, 'POST', '/api/repos/sw/snapshots', { Name: 'sw1' });
    await ok(s, 'POST', '/api/publish/swp', { SourceKind: 'snapshot', Sources: [{ Name: 'sw1' }], Signing: { Skip: true } });
    await uploadPaths(s, 'd2', [await makeDeb(p, 'swpkg', '2.0', 'i386')]);
    await ok(s, 'POST', '/api/repos/sw/file/d2');
    await ok(s, 'POST', '/api/repos/sw/snapshots', { Name: 'sw2' });
    await ok(s, 'PUT', '/api/publish/swp/wheezy', { Snapshots: [{ Component: 'main', Name: 'sw2' }], Signing: { Skip: true }, SkipContents: true, Label: 'fun', Origin: 'earth', Version: '13.3' });
    const shown = (await s.api('GET', '/api/publish/swp/wheezy')).json as Record<string, unknown>;
    for (const [k, v] of Object.entries({ Label: 'fun', Origin: 'earth', Version: '13.3', SkipContents: true, SourceKind: 'snapshot', Sources: [{ Component: 'main', Name: 'sw2' }], Architectures: ['i386'] })) assert.equal(shown[k], v, k);
    const release = await fetch(`${s.url}/swp/dists/wheezy/Release`).then((r) => r.text());
    for (const line of [/^Origin: earth$/m, /^Label: fun$/m, /^Version: 13\.3$/m]) assert.match(release, line);
    assert.match(await fetch(`${s.url}/swp/dists/wheezy/main/binary-i386/Packages`).then((r) => r.text()), /^Version: 2\.0$/m);
    // Origin/Label given empty keep the stable defaults (apt pins by them); a bad Version is 400.
    await ok(s, 'PUT', '/api/publish/swp/wheezy', { Signing: { Skip: true }, Origin: '', Version: '' });
    const again = (await s.api('GET', '/api/publish/swp/wheezy')).json as Record<string, unknown>;
    assert.is(again.Origin, 'swp');
    assert.is(again.Version, '');
    assert.not.match(await fetch(`${s.url}/swp/dists/wheezy/Release`).then((r) => r.text()), /^Version:/m);
    assert.is((await s.api('PUT', '/api/publish/swp/wheezy', { Version: 'two words' })).status, 400);
  });
});

test.run();
