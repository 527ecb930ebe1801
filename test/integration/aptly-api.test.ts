// aptly's own API scenarios (system/t12_api: files, repos, snapshots, publish, tasks) for the
// behaviour a migrating aptly client relies on, ported as specs against the real server:
// `_async` as aptly reads it on every task route, task output and publish detail, per-repo
// uniqueness with partial adds (FailedFiles, Warnings), and the plumbing clients hit first.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { Project } from '../support/project.js';
import { TestRepoServer, TEST_TOKEN } from '../support/repo-server.js';

async function makeDeb(p: Project, name: string, version: string, content = `${name} ${version}\n`): Promise<string> {
  const src = `src/${name}-${Math.random().toString(36).slice(2, 8)}`;
  await p.write(src, content);
  const yaml =
    `name: ${name}\nversion: "${version}"\narch: all\nmaintainer: Api Tester <api@example.org>\ndescription: aptly scenario package\n` +
    `contents:\n  - { src: ${src}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  const r = await buildPackage(loaded, { outputDir: p.path(`out/${Math.random().toString(36).slice(2, 10)}`), env: { SOURCE_DATE_EPOCH: '1700000000' } });
  return r.path;
}

async function upload(s: TestRepoServer, dir: string, files: [string, Buffer][]): Promise<void> {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('file', new Blob([bytes]), name);
  const r = await s.api('POST', `/api/files/${dir}`, form);
  assert.is(r.status, 200, r.text);
}

async function withServer(fn: (s: TestRepoServer, p: Project) => Promise<void>): Promise<void> {
  const p = await Project.create();
  const s = await TestRepoServer.start();
  try {
    await fn(s, p);
  } finally {
    await s.stop().catch(() => undefined);
    await p.destroy();
  }
}

type Task = { ID: number; State: number };
/** Waits for a 202 task and returns it with its output (aptly's check_task / check_task_fail). */
async function taskOf(s: TestRepoServer, r: { status: number; json: unknown; text: string }): Promise<{ state: number; output: string; id: number }> {
  assert.is(r.status, 202, r.text);
  const id = (r.json as Task).ID;
  const done = (await s.api('GET', `/api/tasks/${id}/wait`)).json as Task;
  return { state: done.State, output: (await s.api('GET', `/api/tasks/${id}/output`)).json as string, id };
}
const SUCCEEDED = 2;
const FAILED = 3;

test('_async: any value but n/no/f/false/0/off runs a task, on the repo and snapshot routes too', async () => {
  await withServer(async (s) => {
    // Python's requests sends params={'_async': True} as "True".
    const create = await taskOf(s, await s.api('POST', '/api/repos?_async=True', { Name: 'r1' }));
    assert.is(create.state, SUCCEEDED, create.output);
    assert.match(create.output, /Task succeeded$/);
    assert.is((await s.api('GET', '/api/repos/r1')).status, 200);
    const edit = await taskOf(s, await s.api('PUT', '/api/repos/r1?_async=yes', { Comment: 'fun repo' }));
    assert.is(edit.state, SUCCEEDED, edit.output);
    assert.is(((await s.api('GET', '/api/repos/r1')).json as { Comment: string }).Comment, 'fun repo');
    for (const off of ['0', 'off', 'No', 'FALSE', 'f', 'n']) {
      const r = await s.api('POST', `/api/snapshots?_async=${off}`, { Name: `sync-${off}` });
      assert.is(r.status, 201, `_async=${off}: ${r.text}`);
    }
    const snap = await taskOf(s, await s.api('POST', '/api/snapshots?_async=1', { Name: 'fun', Description: 'fun snapshot' }));
    assert.is(snap.state, SUCCEEDED, snap.output);
    const rename = await taskOf(s, await s.api('PUT', '/api/snapshots/fun?_async=on', { Name: 'fun2', Description: 'New description' }));
    assert.is(rename.state, SUCCEEDED, rename.output);
    assert.is(((await s.api('GET', '/api/snapshots/fun2')).json as { Description: string }).Description, 'New description');
    // Renaming a snapshot to its own name fails as aptly's does (the name is taken).
    const same = await taskOf(s, await s.api('PUT', '/api/snapshots/fun2?_async=True', { Name: 'fun2', Description: 'x' }));
    assert.is(same.state, FAILED);
    assert.match(same.output, /^Task failed with error: .*fun2 already exists/m);
    assert.is((await s.api('PUT', '/api/snapshots/fun2', { Name: 'fun2' })).status, 409);
    assert.is((await s.api('PUT', '/api/snapshots/missing', {})).status, 404);
    // A failed task's output, and the code its return value carries.
    const fail = await taskOf(s, await s.api('POST', '/api/repos?_async=True', { Name: 'r1' }));
    assert.is(fail.state, FAILED);
    assert.match(fail.output, /^Task failed with error: local repo with name r1 already exists$/m);
    assert.is(((await s.api('GET', `/api/tasks/${fail.id}/return_value`)).json as { Code: number }).Code, 409);
    // A task with nothing to report has an empty detail.
    assert.equal((await s.api('GET', `/api/tasks/${create.id}/detail`)).json, {});
  });
});

test('plumbing: DELETE of missing uploads, empty JSON bodies, /api/repos/, /api/version, snapshot sort and refs', async () => {
  await withServer(async (s, p) => {
    assert.equal((await s.api('GET', '/api/version')).json, { Version: '1.6.0' });
    assert.equal(Object.keys((await s.api('GET', '/api/version')).json as object), ['Version']);
    const del = await s.api('DELETE', '/api/files/nothing-here');
    assert.is(del.status, 200, del.text);
    assert.equal(del.json, {});
    assert.is((await s.api('DELETE', '/api/files/nothing-here/no-such-file')).status, 200);
    assert.is((await s.api('DELETE', '/api/files/..')).status >= 400, true, 'unsafe names are still refused');
    // python-aptly sends Content-Type: application/json with an empty body on every DELETE.
    await s.api('POST', '/api/repos', { Name: 'gone' });
    const empty = await fetch(`${s.url}/api/repos/gone`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' } });
    assert.is(empty.status, 200, await empty.text());
    const bad = await fetch(`${s.url}/api/repos`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' }, body: '{"Name": ' });
    assert.is(bad.status, 400, 'a broken JSON body is still a 400');

    await s.api('POST', '/api/repos', { Name: 'b-repo' });
    await s.api('POST', '/api/repos', { Name: 'a-repo' });
    const slash = await s.api('GET', '/api/repos/');
    assert.is(slash.status, 200, slash.text);
    assert.equal((slash.json as { Name: string }[]).map((r) => r.Name).sort(), ['a-repo', 'b-repo']);

    await s.addPackages('a-repo', [await makeDeb(p, 'refpkg', '1.0')]);
    const [key] = (await s.api('GET', '/api/repos/a-repo/packages')).json as string[];
    for (const n of ['zeta', 'alpha', 'mid']) assert.is((await s.api('POST', '/api/snapshots', { Name: n })).status, 201);
    const byName = (await s.api('GET', '/api/snapshots?sort=name')).json as { Name: string }[];
    assert.equal(byName.map((x) => x.Name), ['alpha', 'mid', 'zeta']);
    const byTime = (await s.api('GET', '/api/snapshots?sort=time')).json as { Name: string }[];
    assert.equal(byTime.map((x) => x.Name), ['zeta', 'alpha', 'mid']);
    assert.is(((await s.api('GET', '/api/snapshots/alpha')).json as { Description: string }).Description, 'Created as empty');
    // From refs (and a source snapshot): not "Created as empty"; the source's packages count.
    assert.is((await s.api('POST', '/api/repos/a-repo/snapshots', { Name: 'base' })).status, 201);
    assert.is((await s.api('POST', '/api/snapshots', { Name: 'from-refs', PackageRefs: [key] })).status, 201);
    assert.is(((await s.api('GET', '/api/snapshots/from-refs')).json as { Description: string }).Description, '');
    assert.is((await s.api('POST', '/api/snapshots', { Name: 'from-src', SourceSnapshots: ['base'] })).status, 201);
    assert.equal((await s.api('GET', '/api/snapshots/from-src/packages')).json, [key]);
    assert.is((await s.api('POST', '/api/snapshots', { Name: 'x', PackageRefs: ['Pamd64 no-such-package 1.2 91'] })).status, 404);
  });
});

test('publish: POST /api/publish/:prefix, Version shown and in the Release, task detail counters', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'pub' });
    await s.addPackages('pub', [await makeDeb(p, 'pubpkg', '1.0')]);
    await s.api('POST', '/api/repos/pub/snapshots', { Name: 'pub-snap' });
    const t = await taskOf(
      s,
      await s.api('POST', '/api/publish/fun_prefix?_async=True', {
        SourceKind: 'snapshot',
        Sources: [{ Name: 'pub-snap' }],
        Signing: { Skip: true },
        Distribution: 'squeeze',
        Origin: 'earth',
        Label: 'fun',
        Version: '13.3',
        Architectures: ['amd64'],
      }),
    );
    assert.is(t.state, SUCCEEDED, t.output);
    assert.equal((await s.api('GET', `/api/tasks/${t.id}/detail`)).json, { TotalNumberOfPackages: 1, RemainingNumberOfPackages: 0 });
    const shown = (await s.api('GET', '/api/publish/fun_prefix/squeeze')).json as Record<string, unknown>;
    assert.is(shown.Version, '13.3');
    assert.is(shown.Prefix, 'fun/prefix');
    const release = await fetch(`${s.url}/fun/prefix/dists/squeeze/Release`).then((r) => r.text());
    assert.match(release, /^Version: 13\.3$/m);
    assert.is((await s.api('POST', '/api/publish/other', { SourceKind: 'snapshot', Sources: [{ Name: 'pub-snap' }], Distribution: 'd', Version: 'two words' })).status, 400);
    const again = await s.api('PUT', '/api/publish/fun_prefix/squeeze?_async=True', { Signing: { Skip: true } });
    const u = await taskOf(s, again);
    assert.is(u.state, SUCCEEDED, u.output);
    assert.equal((await s.api('GET', `/api/tasks/${u.id}/detail`)).json, { TotalNumberOfPackages: 1, RemainingNumberOfPackages: 0 });
  });
});

test('uniqueness is per repo; an add keeps what it can and reports FailedFiles and Warnings', async () => {
  await withServer(async (s, p) => {
    const build1 = await readFile(await makeDeb(p, 'twice', '1.0', 'first build\n'));
    const build2 = await readFile(await makeDeb(p, 'twice', '1.0', 'second build\n'));
    const other = await readFile(await makeDeb(p, 'other', '2.0'));
    for (const r of ['one', 'two']) await s.api('POST', '/api/repos', { Name: r });
    await upload(s, 'u1', [['twice_1.0_all.deb', build1]]);
    assert.is((await s.api('POST', '/api/repos/one/file/u1')).status, 200);
    // Another repo may hold a different build of the same name/version/arch (aptly: per repo).
    await upload(s, 'u2', [['twice_1.0_all.deb', build2]]);
    const two = await s.api('POST', '/api/repos/two/file/u2');
    assert.is(two.status, 200, two.text);
    assert.is(((await s.api('GET', '/api/repos/two/packages')).json as string[]).length, 1);
    // Within one repo: the conflicting file fails, the others are added (200), a non-package
    // file of the directory is left alone, and what failed stays in the upload area.
    await upload(s, 'u3', [['twice_1.0_all.deb', build2], ['other_2.0_all.deb', other], ['aptly.pub', Buffer.from('key')]]);
    const add = await s.api('POST', '/api/repos/one/file/u3');
    assert.is(add.status, 200, add.text);
    const report = add.json as { FailedFiles: string[]; Report: { Warnings: string[]; Added: string[]; Removed: string[] } };
    assert.equal(report.FailedFiles, ['u3/twice_1.0_all.deb']);
    assert.equal(report.Report.Added, ['other_2.0_all added']);
    assert.match(report.Report.Warnings.join('\n'), /package already exists and is different: twice_1\.0_all/);
    assert.equal(((await s.api('GET', '/api/files/u3')).json as string[]).sort(), ['aptly.pub', 'twice_1.0_all.deb']);
    assert.is(((await s.api('GET', '/api/repos/one/packages')).json as string[]).length, 2);
    // Nothing addable at all: refused with the same report (see docs, Known differences).
    const alone = await s.api('POST', '/api/repos/one/file/u3/twice_1.0_all.deb');
    assert.is(alone.status, 409, alone.text);
    // forceReplace: the new build replaces the old one in this repo only.
    const forced = await s.api('POST', '/api/repos/one/file/u3?forceReplace=1');
    assert.is(forced.status, 200, forced.text);
    const fr = forced.json as { FailedFiles: string[]; Report: { Added: string[]; Removed: string[] } };
    assert.equal(fr.FailedFiles, []);
    assert.equal(fr.Report.Added, ['twice_1.0_all added']);
    assert.equal(fr.Report.Removed, ['twice_1.0_all removed due to conflict with package being added']);
    const [twoKey] = (await s.api('GET', '/api/repos/two/packages')).json as string[];
    const oneKeys = (await s.api('GET', '/api/repos/one/packages')).json as string[];
    assert.is(oneKeys.length, 2);
    assert.ok(oneKeys.includes(twoKey!), 'repo one now holds the second build');
    // A single named file that is not a package: a failed file, not a skipped one.
    const unknown = await s.api('POST', '/api/repos/one/file/u3/aptly.pub');
    assert.is(unknown.status, 400, unknown.text);
    assert.equal((unknown.json as { FailedFiles: string[] }).FailedFiles, ['u3/aptly.pub']);
  });
});

test.run();
