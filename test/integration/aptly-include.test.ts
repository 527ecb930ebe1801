// aptly's include of .changes files (system/t12_api/repos.py ReposAPITestInclude and aptly's
// deb/changes.go rules) as behaviour specs against the real server, with real uploads:
// dpkg-source, dpkg-deb, dpkg-genbuildinfo and dpkg-genchanges make them, gpg signs them, and
// the server verifies with gpgv against keys/trusted-uploaders.gpg. Also the upload-directory
// add of .udeb (added, as aptly) and .buildinfo (leaves with the add) files.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildUpload, clearsign, makeSigningKey, type SigningKey, type Upload } from '../support/changes-fixture.js';
import { TestRepoServer } from '../support/repo-server.js';

type Report = { Report: { Added: string[]; Removed: string[]; Warnings: string[] }; FailedFiles: string[]; error?: string };

async function upload(s: TestRepoServer, dir: string, files: Record<string, Buffer>): Promise<void> {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(files)) form.append('file', new Blob([bytes]), name);
  const r = await s.api('POST', `/api/files/${dir}`, form);
  assert.is(r.status, 200, r.text);
}

async function uploadNames(s: TestRepoServer, dir: string): Promise<string[]> {
  const r = await s.api('GET', `/api/files/${dir}`);
  return r.status === 404 ? [] : (r.json as string[]).sort();
}

const packagesOf = async (s: TestRepoServer, repo: string): Promise<string[]> => ((await s.api('GET', `/api/repos/${repo}/packages`)).json as string[]).sort();

let key: SigningKey;
let stranger: SigningKey;
let hello: Upload;

async function withServer(fn: (s: TestRepoServer) => Promise<void>): Promise<void> {
  const s = await TestRepoServer.start();
  try {
    assert.is((await s.api('POST', '/api/repos', { Name: 'unstable', DefaultDistribution: 'unstable' })).status, 201);
    await fn(s);
  } finally {
    await s.stop().catch(() => undefined);
  }
}

const trust = (s: TestRepoServer, k: SigningKey): Promise<void> => writeFile(join(s.dataDir, 'keys', 'trusted-uploaders.gpg'), k.keyring);

test.before(async () => {
  [key, stranger, hello] = await Promise.all([makeSigningKey('Up Loader <up@example.org>'), makeSigningKey('Somebody Else <else@example.org>'), buildUpload('hello-inc', '1.0')]);
});
test.after(async () => {
  await Promise.all([key.cleanup(), stranger.cleanup()]);
});

const signedFiles = async (u: Upload, k: SigningKey): Promise<Record<string, Buffer>> => ({ ...u.files, [u.changes]: await clearsign(u.files[u.changes]!, k) });

test('include (ReposAPITestInclude): a signed upload with ignoreSignature adds source, binary and udeb; the upload directory is emptied', async () => {
  await withServer(async (s) => {
    await upload(s, 'up', await signedFiles(hello, key));
    const r = await s.api('POST', '/api/repos/unstable/include/up?ignoreSignature=1&_async=1');
    assert.is(r.status, 202, r.text);
    const id = (r.json as { ID: number }).ID;
    await s.api('GET', `/api/tasks/${id}/wait`);
    const out = (await s.api('GET', `/api/tasks/${id}/output`)).json as string;
    assert.match(out, /Added: .*hello-inc_1\.0_source added/);
    assert.match(out, /hello-inc_1\.0_all added/);
    const keys = await packagesOf(s, 'unstable');
    assert.is(keys.length, 3, keys.join(', '));
    assert.ok(keys.some((k) => k.startsWith('Psource hello-inc 1.0 ')));
    assert.ok(keys.some((k) => k.startsWith('Pall hello-inc 1.0 ')));
    assert.ok(keys.some((k) => k.startsWith('Pall hello-inc-udeb 1.0 ')));
    // The .changes, the .buildinfo and every package file left the upload area.
    assert.equal(await uploadNames(s, 'up'), []);
    const details = (await s.api('GET', '/api/repos/unstable/packages?format=details&q=hello-inc-udeb')).json as { Filename?: string }[];
    assert.is(details.length, 1);
  });
});

test('include verifies the signature with the trusted uploaders keyring: good key adds, unknown key and unsigned are refused and nothing moves', async () => {
  await withServer(async (s) => {
    await trust(s, key);
    // An unknown signer.
    await upload(s, 'x', await signedFiles(hello, stranger));
    let r = await s.api('POST', '/api/repos/unstable/include/x');
    assert.is(r.status, 400, r.text);
    let body = r.json as Report;
    assert.match(body.error!, /signature verification failed: .*NO_PUBKEY/);
    assert.equal(body.FailedFiles, [`x/${hello.changes}`]);
    assert.equal(await packagesOf(s, 'unstable'), []);
    assert.is((await uploadNames(s, 'x')).length, Object.keys(hello.files).length);
    // Signed by the trusted key, then edited: the signature no longer matches.
    const edited = (await clearsign(hello.files[hello.changes]!, key)).toString().replace('Urgency: medium', 'Urgency: high');
    await upload(s, 'edited', { ...hello.files, [hello.changes]: Buffer.from(edited) });
    r = await s.api('POST', '/api/repos/unstable/include/edited');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).error!, /signature verification failed: BADSIG/);
    assert.equal(await packagesOf(s, 'unstable'), []);
    // Unsigned: refused in aptly's words unless acceptUnsigned.
    await upload(s, 'plain', hello.files);
    r = await s.api('POST', '/api/repos/unstable/include/plain');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).error!, /\.changes file is not signed and unsigned processing hasn't been enabled/);
    // The trusted signer.
    await upload(s, 'good', await signedFiles(hello, key));
    r = await s.api('POST', `/api/repos/unstable/include/good/${hello.changes}`);
    assert.is(r.status, 200, r.text);
    body = r.json as Report;
    assert.is(body.Report.Added.length, 3, r.text);
    assert.equal(body.FailedFiles, []);
    // acceptUnsigned takes the unsigned one (all already in the repo: nothing new is added).
    r = await s.api('POST', '/api/repos/unstable/include/plain?acceptUnsigned=1');
    assert.is(r.status, 200, r.text);
    assert.equal(await uploadNames(s, 'plain'), []);
  });
});

test('include checks every listed file: a different file under a listed name, a missing one, a path as a name are refused whole', async () => {
  await withServer(async (s) => {
    const deb = Object.keys(hello.files).find((n) => n.endsWith('_all.deb'))!;
    const other = await buildUpload('hello-inc', '1.0', 'two');
    await upload(s, 'swapped', { ...hello.files, [deb]: other.files[deb]! });
    let r = await s.api('POST', '/api/repos/unstable/include/swapped?acceptUnsigned=1');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).error!, new RegExp(`${deb}: (size|checksum) mismatch`));
    assert.equal(await packagesOf(s, 'unstable'), []);
    assert.is((await uploadNames(s, 'swapped')).length, Object.keys(hello.files).length);

    const missing = { ...hello.files };
    delete missing[deb];
    await upload(s, 'missing', missing);
    r = await s.api('POST', '/api/repos/unstable/include/missing?acceptUnsigned=1');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).error!, new RegExp(`${deb}: listed in the .changes but not uploaded`));

    const text = hello.files[hello.changes]!.toString().replace(new RegExp(` ${deb.replace(/[.+]/g, '\\$&')}$`, 'gm'), ` ../${deb}`);
    await upload(s, 'path', { ...hello.files, [hello.changes]: Buffer.from(text) });
    r = await s.api('POST', '/api/repos/unstable/include/path?acceptUnsigned=1');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).error!, /'\.\.\/hello-inc_1\.0_all\.deb' is not a plain file name/);
    assert.equal(await packagesOf(s, 'unstable'), []);
  });
});

test("include applies aptly's restriction: a package the .changes does not name is refused, and the upload with it", async () => {
  await withServer(async (s) => {
    const text = hello.files[hello.changes]!.toString().replace(/^Binary: .*$/m, 'Binary: hello-inc');
    await upload(s, 'r', { ...hello.files, [hello.changes]: Buffer.from(text) });
    const r = await s.api('POST', '/api/repos/unstable/include/r?acceptUnsigned=1');
    assert.is(r.status, 400, r.text);
    const body = r.json as Report;
    assert.match(body.error!, /hello-inc-udeb_1\.0_all has been ignored as it doesn't match restriction/);
    assert.ok(body.FailedFiles.includes('r/hello-inc-udeb_1.0_all.udeb'), r.text);
    assert.ok(body.FailedFiles.includes(`r/${hello.changes}`), r.text);
    assert.equal(await packagesOf(s, 'unstable'), []);
  });
});

test('include of a rebuild: 409 without forceReplace, replaced with it; noRemoveFiles keeps the upload; a {{.Distribution}} template picks the repo', async () => {
  await withServer(async (s) => {
    await upload(s, 'a', hello.files);
    let r = await s.api('POST', `/api/repos/${encodeURIComponent('{{.Distribution}}')}/include/a?acceptUnsigned=1&noRemoveFiles=1`);
    assert.is(r.status, 200, r.text);
    assert.is((r.json as Report).Report.Added.length, 3);
    assert.is((await uploadNames(s, 'a')).length, Object.keys(hello.files).length);
    const before = await packagesOf(s, 'unstable');

    const rebuild = await buildUpload('hello-inc', '1.0', 'rebuilt');
    await upload(s, 'b', rebuild.files);
    r = await s.api('POST', '/api/repos/unstable/include/b?acceptUnsigned=1');
    assert.is(r.status, 409, r.text);
    assert.match((r.json as Report).error!, /package already exists and is different: hello-inc_1\.0_all/);
    assert.equal(await packagesOf(s, 'unstable'), before);

    r = await s.api('POST', '/api/repos/unstable/include/b?acceptUnsigned=1&forceReplace=1');
    assert.is(r.status, 200, r.text);
    const body = r.json as Report;
    assert.ok(body.Report.Removed.includes('hello-inc_1.0_all removed due to conflict with package being added'), r.text);
    const after = await packagesOf(s, 'unstable');
    assert.is(after.length, 3);
    assert.not.equal(after, before);
    assert.equal(await uploadNames(s, 'b'), []);
  });
});

test('add from a directory: .udeb files are added and published in the debian-installer index only, a .buildinfo leaves with the add', async () => {
  await withServer(async (s) => {
    const files = Object.fromEntries(Object.entries(hello.files).filter(([n]) => !n.endsWith('.changes')));
    await upload(s, 'd', files);
    const r = await s.api('POST', '/api/repos/unstable/file/d');
    assert.is(r.status, 200, r.text);
    const body = r.json as Report;
    assert.equal(body.FailedFiles, []);
    assert.equal(body.Report.Added.sort(), ['hello-inc-udeb_1.0_all added', 'hello-inc_1.0_all added', 'hello-inc_1.0_source added']);
    assert.equal(await uploadNames(s, 'd'), []);

    // Published as aptly does: the .udeb only in debian-installer/binary-<arch>/Packages.
    const pub = await s.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'unstable' }], Distribution: 'unstable', Architectures: ['amd64', 'source'] });
    assert.is(pub.status, 201, pub.text);
    const get = async (path: string): Promise<string> => {
      const res = await fetch(`${s.url}/dists/unstable/${path}`);
      assert.is(res.status, 200, path);
      return res.text();
    };
    const plain = await get('main/binary-amd64/Packages');
    assert.match(plain, /^Package: hello-inc$/m);
    assert.not.match(plain, /hello-inc-udeb/);
    const installer = await get('main/debian-installer/binary-amd64/Packages');
    assert.match(installer, /^Package: hello-inc-udeb$/m);
    assert.match(installer, /^Filename: pool\/main\/h\/hello-inc\/hello-inc-udeb_1\.0_all\.udeb$/m);
    assert.not.match(installer, /^Package: hello-inc$/m);
    assert.match(await get('Release'), / main\/debian-installer\/binary-amd64\/Packages$/m);
    const udeb = await fetch(`${s.url}/pool/main/h/hello-inc/hello-inc-udeb_1.0_all.udeb`);
    assert.is(udeb.status, 200);
    assert.ok(Buffer.from(await udeb.arrayBuffer()).equals(files['hello-inc-udeb_1.0_all.udeb']!));
  });
});

test("Uploaders (aptly's uploaders.json): a repo's rules by group, key id and fingerprint; deny before allow; the global file for repos without rules", async () => {
  await withServer(async (s) => {
    await writeFile(join(s.dataDir, 'keys', 'trusted-uploaders.gpg'), Buffer.concat([key.keyring, stranger.keyring]));
    const other = await buildUpload('other-inc', '2.0');
    // Bad rules are refused naming the field, nothing is changed.
    for (const [bad, field] of [
      [{ rules: [{ condition: 'Source (= x', allow: ['*'] }] }, /Uploaders\.rules\[0\]\.condition: unable to parse query/],
      [{ rules: [{ condition: 'Source', allow: ['nobody-group'] }] }, /Uploaders\.rules\[0\]\.allow\[0\]: 'nobody-group' is neither/],
      [{ groups: { g: 'x' }, rules: [] }, /Uploaders\.groups\.g must be a list/],
      [{ rules: [{ condition: 'Source', allow: ['*'], when: 'always' }] }, /Uploaders\.rules\[0\]: unknown field 'when'/],
    ] as const) {
      const r = await s.api('PUT', '/api/repos/unstable', { Uploaders: bad });
      assert.is(r.status, 400, r.text);
      assert.match((r.json as { error: string }).error, field);
    }
    assert.is(((await s.api('GET', '/api/repos/unstable')).json as Record<string, unknown>).Uploaders, undefined);
    // hello-inc: the developers' group (fingerprint of one, nested group) may upload, the
    // stranger is denied by long key id even though "*" is allowed after the deny.
    const rules = {
      groups: { devs: [key.fingerprint], team: ['devs'] },
      rules: [
        { condition: 'Source (= hello-inc)', deny: [stranger.fingerprint.slice(-16)], allow: ['team'] },
        { condition: 'Source (= hello-inc)', allow: ['*'], deny: [] },
      ],
    };
    const set = await s.api('PUT', '/api/repos/unstable', { Uploaders: rules });
    assert.is(set.status, 200, set.text);
    assert.equal((set.json as { Uploaders: unknown }).Uploaders, rules);

    await upload(s, 'st', await signedFiles(hello, stranger));
    let r = await s.api('POST', '/api/repos/unstable/include/st');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).Report.Warnings.join('\n'), /changes file skipped due to uploaders config: hello-inc_1\.0_[a-z0-9]+\.changes, keys \[[0-9A-F, ]+\]: denied according to rule: .*"deny":\["[0-9A-F]{16}"\]/);
    assert.equal(await packagesOf(s, 'unstable'), []);
    assert.is((await uploadNames(s, 'st')).length, Object.keys(hello.files).length, 'nothing left the upload area');
    // Without a verified signer no rule allows: ignoreSignature and acceptUnsigned are refused.
    r = await s.api('POST', '/api/repos/unstable/include/st?ignoreSignature=1');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).Report.Warnings.join('\n'), /keys \[\]: denied as no rule matches/);
    // A source no rule covers: denied, even for the developer.
    await upload(s, 'other', await signedFiles(other, key));
    r = await s.api('POST', '/api/repos/unstable/include/other');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).Report.Warnings.join('\n'), /denied as no rule matches/);
    // The developer, through the nested group.
    await upload(s, 'dev', await signedFiles(hello, key));
    r = await s.api('POST', '/api/repos/unstable/include/dev');
    assert.is(r.status, 200, r.text);
    assert.is((r.json as Report).Report.Added.length, 3, r.text);

    // The global rules (keys/uploaders.json) apply to a repo without its own: here only the
    // stranger, by short key id, may upload anything.
    await writeFile(join(s.dataDir, 'keys', 'uploaders.json'), JSON.stringify({ rules: [{ condition: 'Source', allow: [stranger.fingerprint.slice(-8)] }] }));
    assert.is((await s.api('POST', '/api/repos', { Name: 'open' })).status, 201);
    await upload(s, 'g1', await signedFiles(other, key));
    r = await s.api('POST', '/api/repos/open/include/g1');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).Report.Warnings.join('\n'), /denied as no rule matches/);
    await upload(s, 'g2', await signedFiles(other, stranger));
    r = await s.api('POST', '/api/repos/open/include/g2');
    assert.is(r.status, 200, r.text);
    // The repo's own rules replace the global ones; removing them (null) brings the global back.
    await upload(s, 'g3', await signedFiles(hello, key));
    assert.is((await s.api('POST', '/api/repos/unstable/include/g3?noRemoveFiles=1')).status, 200);
    assert.is((await s.api('PUT', '/api/repos/unstable', { Uploaders: null })).status, 200);
    assert.is(((await s.api('GET', '/api/repos/unstable')).json as Record<string, unknown>).Uploaders, undefined);
    r = await s.api('POST', '/api/repos/unstable/include/g3');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as Report).Report.Warnings.join('\n'), /denied as no rule matches/);
    // A broken global file fails the include naming it.
    await writeFile(join(s.dataDir, 'keys', 'uploaders.json'), '{"rules": [{"condition": "Source (", "allow": ["*"]}]}');
    r = await s.api('POST', '/api/repos/open/include/g3');
    assert.is(r.status, 400, r.text);
    assert.match((r.json as { error: string }).error, /keys\/uploaders\.json\.rules\[0\]\.condition/);
  });
});

test.run();
