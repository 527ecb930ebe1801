// The repo server's API contract: authentication, clean 4xx on bad input with nothing
// stored, conflicts, idempotency, snapshots, tasks, and no lost writes under concurrency.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { Project, sh } from '../support/project.js';
import { TestRepoServer, TEST_TOKEN } from '../support/repo-server.js';

/** Builds packages in-process (fast) into the project's out dir. */
async function makeDeb(p: Project, name: string, version: string, content = `${name} ${version}\n`): Promise<string> {
  await p.write(`src/${name}-${version}`, content);
  const yaml = `name: ${name}\nversion: "${version}"\nmaintainer: Api Tester <api@example.org>\ndescription: api test package\ncontents:\n  - { src: src/${name}-${version}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  const r = await buildPackage(loaded, { outputDir: p.path(`out/${name}-${version}-${Math.random().toString(36).slice(2, 6)}`), env: { SOURCE_DATE_EPOCH: '1700000000' } });
  return r.path;
}

async function withServer(fn: (s: TestRepoServer, p: Project) => Promise<void>, config = {}): Promise<void> {
  const p = await Project.create();
  const s = await TestRepoServer.start(config);
  try {
    await fn(s, p);
  } finally {
    await s.stop();
    await p.destroy();
  }
}

/** Files holding stored bytes: packs and loose blobs (temp files included). */
const storedFiles = async (s: TestRepoServer): Promise<string[]> => {
  const out = (await readdir(join(s.dataDir, 'packs'))).map((f) => `packs/${f}`);
  for (const e of await readdir(join(s.dataDir, 'pool'), { withFileTypes: true })) {
    if (e.isDirectory()) for (const f of await readdir(join(s.dataDir, 'pool', e.name))) out.push(`pool/${e.name}/${f}`);
    else out.push(`pool/${e.name}`);
  }
  return out.sort();
};

test('every write needs the admin token; reads too unless opened', async () => {
  await withServer(async (s) => {
    assert.is((await s.api('GET', '/api/version', undefined, null)).status, 200);
    for (const [method, path] of [
      ['POST', '/api/repos'],
      ['PUT', '/api/repos/x'],
      ['DELETE', '/api/repos/x'],
      ['POST', '/api/files/up'],
      ['POST', '/api/publish/:.'],
      ['PUT', '/api/publish/:./stable'],
      ['DELETE', '/api/publish/:./stable'],
      ['POST', '/api/snapshots'],
      ['POST', '/api/repos/x/file/up'],
    ] as const) {
      const anon = await s.api(method, path, {}, null);
      assert.is(anon.status, 401, `${method} ${path} without token`);
      assert.match(anon.text, /"error"/);
      assert.is((await s.api(method, path, {}, 'wrong-token')).status, 401, `${method} ${path} with a wrong token`);
    }
    assert.is((await s.api('GET', '/api/repos', undefined, null)).status, 401);
    assert.is((await s.api('GET', '/api/repos')).status, 200);
    assert.is((await s.api('POST', '/api/repos', { Name: 'ok' })).status, 201);
  });
  await withServer(
    async (s) => {
      assert.is((await s.api('GET', '/api/repos', undefined, null)).status, 200, 'open reads');
      assert.is((await s.api('POST', '/api/repos', { Name: 'x' }, null)).status, 401, 'writes stay closed');
    },
    { openReads: true },
  );
});

test('malformed, truncated and not-a-deb uploads: clean 400, nothing stored', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r' });
    const good = await readFile(await makeDeb(p, 'good-pkg', '1.0'));
    const cases: [string, Buffer][] = [
      ['not-a-deb.deb', Buffer.from('hello, I am not a package')],
      ['truncated.deb', good.subarray(0, Math.floor(good.length * 0.7))],
      ['corrupt.deb', Buffer.concat([good.subarray(0, good.length - 200), Buffer.alloc(200, 0x41)])],
      ['empty.deb', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of cases) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), name);
      assert.is((await s.api('POST', '/api/files/bad', form)).status, 200);
      const add = await s.api('POST', '/api/repos/r/file/bad');
      assert.is(add.status, 400, `${name}: ${add.text}`);
      const body = add.json as { error: string; FailedFiles: string[] };
      assert.equal(body.FailedFiles, [`bad/${name}`]);
      assert.ok(body.error.length > 0);
      await s.api('DELETE', '/api/files/bad');
    }
    assert.equal((await s.api('GET', '/api/repos/r/packages')).json, []);
    assert.equal(await storedFiles(s), [], 'nothing stored: deleted uploads are collected');
    assert.equal((await s.api('GET', '/api/files')).json, []);
  });
});

test('path traversal names, unknown repos and oversized bodies are refused cleanly', async () => {
  await withServer(
    async (s) => {
      for (const dir of ['..', '.hidden', '..%2F..%2Fetc', 'a%2Fb', '%2e%2e']) {
        const form = new FormData();
        form.append('file', new Blob([Buffer.from('x')]), 'x.deb');
        const r = await s.api('POST', `/api/files/${dir}`, form);
        assert.ok(r.status === 400 || r.status === 404, `dir ${dir}: ${r.status}`);
      }
      // The multipart parser keeps only the last path segment; what is left must be a safe name.
      for (const name of ['../../evil.deb', '..', '.profile', 'a/..', '/etc/passwd']) {
        const form = new FormData();
        form.append('file', new Blob([Buffer.from('x')]), name);
        const r = await s.api('POST', '/api/files/up', form);
        if (r.status === 200) assert.ok((r.json as string[]).every((f) => /^up\/[A-Za-z0-9][A-Za-z0-9._+~-]*$/.test(f)), `${name}: ${r.text}`);
        else assert.is(r.status, 400, `file name ${name}: ${r.text}`);
      }
      assert.equal((await s.api('GET', '/api/files')).json, ['up'], 'nothing outside the upload directory');
      assert.equal((await s.api('GET', '/api/files/up')).json, ['evil.deb', 'passwd'], 'only plain names inside it');
      assert.not.ok(await readFile(join(s.dataDir, 'evil.deb')).catch(() => undefined));
      assert.not.ok(await readFile(join(s.dataDir, '..', 'evil.deb')).catch(() => undefined));

      const before = await storedFiles(s);
      const big = new FormData();
      big.append('file', new Blob([Buffer.alloc(256)]), 'small-first.deb');
      big.append('file', new Blob([Buffer.alloc(3 << 20)]), 'big.deb');
      const r = await s.api('POST', '/api/files/big', big);
      assert.is(r.status, 413, r.text);
      assert.is((await s.api('GET', '/api/files/big')).status, 404, 'no directory appeared');
      assert.equal(await storedFiles(s), before, 'no partial file left (not even the small part before it)');

      const unknown = await s.api('POST', '/api/repos/nope/file/up');
      assert.is(unknown.status, 404);
      assert.match(unknown.text, /"error":"local repo with name nope not found"/);
      assert.is((await s.api('GET', '/api/repos/nope/packages')).status, 404);
      assert.is((await s.api('POST', '/api/repos', { Name: 5 })).status, 400);
      assert.is((await s.api('POST', '/api/repos', [1, 2])).status, 400);
      assert.is((await s.api('GET', '/api/repos/x/packages?q=Name%20(%3E%3D')).status, 404);
    },
    { maxUploadBytes: 1 << 20 },
  );
});

test('same name/version/arch with different bytes → 409; identical bytes → idempotent', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r' });
    const a = await makeDeb(p, 'dup-pkg', '1.0', 'first build\n');
    const b = await makeDeb(p, 'dup-pkg', '1.0', 'second, different build\n');
    await s.addPackages('r', [a]);
    const before = (await s.api('GET', '/api/repos/r/packages')).json as string[];
    await s.addPackages('r', [a]); // identical: fine
    assert.equal((await s.api('GET', '/api/repos/r/packages')).json, before);
    const form = new FormData();
    form.append('file', new Blob([await readFile(b)]), 'dup-pkg_1.0_all.deb');
    await s.api('POST', '/api/files/d2', form);
    const r = await s.api('POST', '/api/repos/r/file/d2');
    assert.is(r.status, 409, r.text);
    assert.match(r.text, /package already exists and is different: dup-pkg_1\.0_all/);
    assert.equal((await s.api('GET', '/api/repos/r/packages')).json, before, 'repo unchanged');
    assert.is(((await s.api('GET', '/api/packages?q=dup-pkg')).json as string[]).length, 1, 'the conflicting package was not stored');
    assert.equal((await s.api('GET', '/api/files/d2')).json, ['dup-pkg_1.0_all.deb'], 'the upload stays for the caller to decide');
    const bad = await s.api('GET', '/api/repos/r/packages?q=Name%20(%3E%3D');
    assert.is(bad.status, 400, 'malformed query');
  });
});

test('snapshots, publish from snapshots and switch; tasks with _async=true', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r', DefaultDistribution: 'stable' });
    await s.addPackages('r', [await makeDeb(p, 'snap-pkg', '1.0')]);
    assert.is((await s.api('POST', '/api/repos/r/snapshots', { Name: 's1' })).status, 201);
    await s.addPackages('r', [await makeDeb(p, 'snap-pkg', '2.0'), await makeDeb(p, 'other-pkg', '1.0')]);
    const t = await s.api('POST', '/api/repos/r/snapshots?_async=true', { Name: 's2' });
    assert.is(t.status, 202);
    const id = (t.json as { ID: number }).ID;
    const waited = await s.api('GET', `/api/tasks/${id}/wait`);
    assert.is((waited.json as { State: number }).State, 2);
    assert.equal(((await s.api('GET', '/api/snapshots')).json as { Name: string }[]).map((x) => x.Name).sort(), ['s1', 's2']);
    assert.is(((await s.api('GET', '/api/snapshots/s1/packages')).json as string[]).length, 1);
    const diff = (await s.api('GET', '/api/snapshots/s1/diff/s2')).json as { Left: string | null; Right: string | null }[];
    assert.is(diff.length, 2);
    const q = (await s.api('GET', `/api/snapshots/s2/packages?q=${encodeURIComponent('Name (snap-pkg), $Version (>= 2.0)')}`)).json as string[];
    assert.is(q.length, 1);
    assert.match(q[0]!, /snap-pkg 2\.0/);

    assert.is((await s.api('POST', '/api/publish/snap', { SourceKind: 'snapshot', Sources: [{ Name: 's1', Component: 'main' }], Distribution: 'stable' })).status, 201);
    const packages = async (): Promise<string> => (await fetch(`${s.url}/snap/dists/stable/main/binary-amd64/Packages`)).text();
    assert.match(await packages(), /Version: 1\.0/);
    const sw = await s.api('PUT', '/api/publish/snap/stable', { Snapshots: [{ Component: 'main', Name: 's2' }] });
    assert.is(sw.status, 200, sw.text);
    assert.match(await packages(), /Version: 2\.0/);
    assert.is((await s.api('DELETE', '/api/snapshots/s2')).status, 409, 'a published snapshot cannot be dropped');
    const list = (await s.api('GET', '/api/publish')).json as { Prefix: string; Sources: { Name: string }[] }[];
    assert.equal(list.map((x) => [x.Prefix, x.Sources[0]!.Name]), [['snap', 's2']]);
    assert.is((await s.api('DELETE', '/api/publish/snap/stable')).status, 200);
    assert.is((await fetch(`${s.url}/snap/dists/stable/InRelease`)).status, 404);
  });
});

test('concurrent uploads and publishes lose nothing', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'busy' });
    assert.is((await s.api('POST', '/api/publish/:.', { Sources: [{ Name: 'busy' }], Distribution: 'busy' })).status, 201);
    const debs = await Promise.all(Array.from({ length: 24 }, (_, i) => makeDeb(p, `conc-pkg-${i}`, '1.0')));
    const work: Promise<unknown>[] = [];
    debs.forEach((d, i) => {
      work.push(s.addPackages('busy', [d], `dir-${i}`));
      if (i % 4 === 0) work.push(s.api('PUT', '/api/publish/:./busy', {}).then((r) => assert.is(r.status, 200, r.text)));
    });
    await Promise.all(work);
    assert.is(((await s.api('GET', '/api/repos/busy/packages')).json as string[]).length, 24);
    assert.is((await s.api('PUT', '/api/publish/:./busy', {})).status, 200);
    const index = await (await fetch(`${s.url}/dists/busy/main/binary-amd64/Packages`)).text();
    assert.is((index.match(/^Package: /gm) ?? []).length, 24);
  });
});

test('published tree over HTTP: HEAD, Range, ETag, keys and the .sources snippet', async () => {
  await withServer(async (s, p) => {
    await s.api('POST', '/api/repos', { Name: 'r' });
    await s.addPackages('r', [await makeDeb(p, 'http-pkg', '1.0')]);
    await s.api('POST', '/api/publish/:.', { Sources: [{ Name: 'r' }], Distribution: 'web' });
    const url = `${s.url}/dists/web/Release`;
    const full = await fetch(url);
    const text = await full.text();
    assert.ok(full.headers.get('etag'));
    assert.ok(full.headers.get('last-modified'));
    const head = await fetch(url, { method: 'HEAD' });
    assert.is(head.status, 200);
    assert.is(Number(head.headers.get('content-length')), Buffer.byteLength(text));
    const range = await fetch(url, { headers: { range: 'bytes=0-9' } });
    assert.is(range.status, 206);
    assert.is(await range.text(), text.slice(0, 10));
    // curl, not fetch: undici's fetch revalidates on its own and hides the 304
    const again = await sh(`curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: ${full.headers.get('etag')!}' ${url}`);
    assert.is(again.stdout, '304');
    assert.match(await (await fetch(`${s.url}/keys/archive.asc`)).text(), /BEGIN PGP PUBLIC KEY BLOCK/);
    const sources = await (await fetch(`${s.url}/web.sources`)).text();
    assert.match(sources, new RegExp(`URIs: ${s.url}\\nSuites: web\\nComponents: main\\nSigned-By: /etc/apt/keyrings/debpkg.asc`));
    assert.is((await fetch(`${s.url}/nope.sources`)).status, 404);
    assert.is((await fetch(`${s.url}/../db/state.json`)).status, 404);
    await writeFile(join(s.dataDir, 'public', '.secret'), 'x');
    assert.is.not((await fetch(`${s.url}/.secret`)).status, 200, 'dotfiles are not served');
    assert.ok(TEST_TOKEN);
  });
});

test.run();
