// Source packages in the repo server, judged by real tools: a source package made by
// `dpkg-source -b` is uploaded with its binary, published (Sources beside Packages), and a
// bookworm and a trixie node with deb-src lines run `apt-get update`, `apt-get install` of the
// binary and `apt-get source` (apt checks every file against the Sources index; the host's
// dpkg-source then checks them against the .dsc and unpacks). Bad uploads are refused with a
// 400 naming the file, and nothing is added.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, FleetNode, HOST_ENV, SUITES, type Suite } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';
import { buildSourcePackage, type SourceFixture } from '../support/source-fixture.js';

async function buildBinary(p: Project, name: string, greeting: string): Promise<string> {
  await p.write(`bin/${name}`, { content: `#!/bin/sh\necho "${greeting}"\n`, mode: 0o755 });
  await p.write(
    'debpkg.yaml',
    `name: ${name}
version: "1.0"
release: "1"
arch: all
maintainer: Repo Tester <repo@example.org>
description: |
  Binary of the source package served by the tests
  It prints a greeting.
license: MIT
contents:
  - { src: bin/${name}, dst: /usr/bin/${name} }
`,
  );
  return p.build(['--output', 'out'], { SOURCE_DATE_EPOCH: '1700000000' });
}

/** Uploads files (name → bytes) into one upload directory; returns the answer of the add. */
async function uploadAndAdd(server: TestRepoServer, repo: string, dir: string, files: Record<string, Buffer>, file?: string) {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(files)) form.append('file', new Blob([bytes]), name);
  const up = await server.api('POST', `/api/files/${dir}`, form);
  assert.is(up.status, 200, up.text);
  return server.api('POST', `/api/repos/${repo}/file/${dir}${file ? `/${file}` : ''}`);
}

async function filesOf(fx: SourceFixture): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const f of fx.files) out[f] = await readFile(join(fx.dir, f));
  return out;
}

const aptGet = (node: FleetNode, args: string[]) => node.run(['apt-get', '-q', '-y', ...args], { allowFail: true });

function suiteTest(suite: Suite): void {
  test(`${suite}: apt-get source and apt-get install from a repo holding a source package and its binary`, async () => {
    const fx = await buildSourcePackage('srcdemo', '1.0', `srcdemo on ${suite}`);
    const p = await Project.create();
    const server = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    const unpackDir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-srcx-'));
    try {
      const deb = await buildBinary(p, 'srcdemo', `srcdemo on ${suite}`);
      assert.is((await server.api('POST', '/api/repos', { Name: 'fleet', DefaultDistribution: 'stable' })).status, 201);
      const add = await uploadAndAdd(server, 'fleet', 'up', { ...(await filesOf(fx)), [deb.split('/').pop()!]: await readFile(deb) });
      assert.is(add.status, 200, add.text);
      assert.equal((add.json as { Report: { Added: string[] } }).Report.Added.sort(), ['srcdemo_1.0-1_all added', 'srcdemo_1.0-1_source added']);
      const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable' });
      assert.is(pub.status, 201, pub.text);
      assert.ok((pub.json as { Architectures: string[] }).Architectures.includes('source'), pub.text);

      await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/stable.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
      const list = await node.readFile('/etc/apt/sources.list.d/debpkg.sources');
      // The snippet of a distribution that publishes Sources asks apt for them too.
      assert.match(list, /^Types: deb deb-src$/m);

      let r = await aptGet(node, ['update']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.not.match(r.stdout + r.stderr, /^(W|E): /m, r.stdout + r.stderr);
      r = await aptGet(node, ['install', 'srcdemo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.is((await node.run(['srcdemo'])).stdout, `srcdemo on ${suite}\n`);

      // apt fetches the .dsc and the files it names and checks each against the Sources index.
      // The apt variant has no dpkg-dev to unpack with: the host's dpkg-source does that.
      await node.run(['mkdir', '-p', '/root/src']);
      r = await node.run('cd /root/src && apt-get -q -y source --download-only srcdemo', { allowFail: true });
      assert.is(r.code, 0, r.stdout + r.stderr);
      const fetched = (await readdir(await node.hostPath('/root/src'))).sort();
      assert.equal(fetched, fx.files);
      for (const f of fx.files) assert.ok((await readFile(join(await node.hostPath('/root/src'), f))).equals(await readFile(join(fx.dir, f))), f);
      const x = await exec(['dpkg-source', '-x', join(await node.hostPath('/root/src'), fx.dsc), join(unpackDir, 'tree')], HOST_ENV);
      assert.is(x.code, 0, x.stdout + x.stderr);
      assert.is(await readFile(join(unpackDir, 'tree', 'srcdemo'), 'utf8'), `#!/bin/sh\necho "srcdemo on ${suite}"\n`);
      assert.match(await readFile(join(unpackDir, 'tree', 'debian', 'changelog'), 'utf8'), /^srcdemo \(1\.0-1\)/);

    } finally {
      await node.destroy();
      await server.stop();
      await p.destroy();
      await fx.cleanup();
      await rm(unpackDir, { recursive: true, force: true });
    }
  });
}

for (const suite of SUITES) suiteTest(suite);

// A later Debian revision is uploaded without its .orig.tar.gz (dpkg-genchanges -sd): the
// server takes it from the pool, where the earlier revision brought it, by name, size and
// checksums (as aptly does), and apt-get source fetches all three files of the new revision.
test('bookworm: a .dsc whose .orig.tar.gz is already in the pool (1.0-2 after 1.0-1) is added; apt-get source of 1.0-2 works', async () => {
  const fx1 = await buildSourcePackage('srcrev', '1.0', 'srcrev upstream');
  const fx2 = await buildSourcePackage('srcrev', '1.0', 'srcrev upstream', { revision: 2, orig: join(fx1.dir, 'srcrev_1.0.orig.tar.gz') });
  const server = await TestRepoServer.start();
  const node = await FleetNode.create('bookworm');
  const unpackDir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-srcx-'));
  try {
    const orig = 'srcrev_1.0.orig.tar.gz';
    const { [orig]: origBytes, ...rev2 } = await filesOf(fx2);
    assert.ok(origBytes?.equals(await readFile(join(fx1.dir, orig))), 'both revisions name the same upstream tarball');
    assert.equal(Object.keys(rev2).sort(), ['srcrev_1.0-2.debian.tar.xz', 'srcrev_1.0-2.dsc']);
    for (const r of ['old', 'fleet']) assert.is((await server.api('POST', '/api/repos', { Name: r })).status, 201);
    // Nothing in the pool yet: refused, naming the missing file.
    let r = await uploadAndAdd(server, 'fleet', 'early', rev2);
    assert.is(r.status, 400, r.text);
    assert.match(r.text, /srcrev_1\.0\.orig\.tar\.gz: named by the \.dsc but not uploaded with it/);
    // 1.0-1 with its tarball, into another repo (the pool is the server's, as aptly's).
    r = await uploadAndAdd(server, 'old', 'rev1', await filesOf(fx1));
    assert.is(r.status, 200, r.text);
    r = await server.api('POST', '/api/repos/fleet/file/early');
    assert.is(r.status, 200, r.text);
    assert.equal((r.json as { Report: { Added: string[] } }).Report.Added, ['srcrev_1.0-2_source added']);
    const [key] = (await server.api('GET', '/api/repos/fleet/packages')).json as string[];
    const details = (await server.api('GET', `/api/packages/${encodeURIComponent(key!)}`)).json as { Files: string };
    assert.match(details.Files, / srcrev_1\.0\.orig\.tar\.gz$/m);
    // The earlier revision goes; its tarball stays with the package that still names it.
    assert.is((await server.api('DELETE', '/api/repos/old?force=1')).status, 200);
    assert.is((await server.api('POST', '/api/db/cleanup')).status, 200);
    const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable', Architectures: ['source', 'all'] });
    assert.is(pub.status, 201, pub.text);

    await node.run(['mkdir', '-p', '/etc/apt/keyrings', '/root/src']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/stable.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
    const up = await aptGet(node, ['update']);
    assert.is(up.code, 0, up.stdout + up.stderr);
    assert.not.match(up.stdout + up.stderr, /^(W|E): /m, up.stdout + up.stderr);
    const got = await node.run('cd /root/src && apt-get -q -y source --download-only srcrev=1.0-2', { allowFail: true });
    assert.is(got.code, 0, got.stdout + got.stderr);
    const fetched = (await readdir(await node.hostPath('/root/src'))).sort();
    assert.equal(fetched, fx2.files);
    for (const f of fx2.files) assert.ok((await readFile(join(await node.hostPath('/root/src'), f))).equals(await readFile(join(fx2.dir, f))), f);
    const x = await exec(['dpkg-source', '-x', join(await node.hostPath('/root/src'), fx2.dsc), join(unpackDir, 'tree')], HOST_ENV);
    assert.is(x.code, 0, x.stdout + x.stderr);
    assert.match(await readFile(join(unpackDir, 'tree', 'debian', 'changelog'), 'utf8'), /^srcrev \(1\.0-2\)/);
  } finally {
    await node.destroy();
    await server.stop();
    await fx1.cleanup();
    await fx2.cleanup();
    await rm(unpackDir, { recursive: true, force: true });
  }
});

test('a .dsc whose files are missing or differ is refused with a 400 naming the file; nothing is added', async () => {
  const fx = await buildSourcePackage('srcbad', '2.0', 'bad');
  const server = await TestRepoServer.start();
  let stopped = false;
  try {
    assert.is((await server.api('POST', '/api/repos', { Name: 'r' })).status, 201);
    const files = await filesOf(fx);
    const orig = 'srcbad_2.0.orig.tar.gz';

    const { [orig]: _dropped, ...withoutOrig } = files;
    let r = await uploadAndAdd(server, 'r', 'missing', withoutOrig);
    assert.is(r.status, 400, r.text);
    assert.match(r.text, /missing\/srcbad_2\.0-1\.dsc: srcbad_2\.0\.orig\.tar\.gz: named by the \.dsc but not uploaded with it/);

    const tampered = Buffer.from(files[orig]!);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    r = await uploadAndAdd(server, 'r', 'tampered', { ...files, [orig]: tampered });
    assert.is(r.status, 400, r.text);
    assert.match(r.text, /srcbad_2\.0\.orig\.tar\.gz: md5 [0-9a-f]{32} does not match the \.dsc's Files/);

    const dsc = files[fx.dsc]!.toString('utf8').replace(/ (\d+) srcbad_2\.0\.orig\.tar\.gz/g, ' $1 ../srcbad_2.0.orig.tar.gz');
    r = await uploadAndAdd(server, 'r', 'pathlike', { ...files, [fx.dsc]: Buffer.from(dsc) });
    assert.is(r.status, 400, r.text);
    assert.match(r.text, /'\.\.\/srcbad_2\.0\.orig\.tar\.gz' is not a plain file name/);

    assert.equal((await server.api('GET', '/api/repos/r/packages')).json, []);
    // The refused uploads stay in the upload area (as after any failed add).
    assert.equal(((await server.api('GET', '/api/files/missing')).json as string[]).length, 2);

    // The good upload, added by its .dsc alone: the files it names go with it.
    r = await uploadAndAdd(server, 'r', 'good', files, fx.dsc);
    assert.is(r.status, 200, r.text);
    assert.is((await server.api('GET', '/api/files/good')).status, 404);
    const keys = (await server.api('GET', `/api/repos/r/packages?q=${encodeURIComponent('$Architecture (source)')}`)).json as string[];
    assert.is(keys.length, 1);
    assert.match(keys[0]!, /^Psource srcbad 2\.0-1 [0-9a-f]{8,16}$/);
    // The same package again: nothing changes.
    r = await uploadAndAdd(server, 'r', 'again', files);
    assert.is(r.status, 200, r.text);
    assert.match(r.text, /already in the repo/);

    // Snapshots carry it, and a reopened data directory still has its files.
    assert.is((await server.api('POST', '/api/repos/r/snapshots', { Name: 's1' })).status, 201);
    await server.stop(true);
    stopped = true;
    const again = await TestRepoServer.start({}, server.dataDir);
    try {
      const details = (await again.api('GET', '/api/snapshots/s1/packages?format=details')).json as Record<string, string>[];
      assert.is(details.length, 1);
      assert.is(details[0]!.Package, 'srcbad');
      assert.is(details[0]!.Key, keys[0]);
      assert.match(details[0]!['Checksums-Sha256']!, new RegExp(` [0-9a-f]{64} ${files[orig]!.length} srcbad_2\\.0\\.orig\\.tar\\.gz\\n`));
      const pub = await again.api('POST', '/api/publish/:.', { SourceKind: 'snapshot', Sources: [{ Name: 's1' }], Distribution: 'src', Architectures: ['amd64', 'source'] });
      assert.is(pub.status, 201, pub.text);
      const sources = await (await fetch(`${again.url}/dists/src/main/source/Sources`)).text();
      assert.match(sources, /^Package: srcbad$/m);
      assert.match(sources, /^Directory: pool\/main\/s\/srcbad$/m);
      const pool = await fetch(`${again.url}/pool/main/s/srcbad/${orig}`);
      assert.is(pool.status, 200);
      assert.ok(Buffer.from(await pool.arrayBuffer()).equals(files[orig]!));
      const release = await (await fetch(`${again.url}/dists/src/Release`)).text();
      assert.match(release, /^Architectures: amd64$/m);
      assert.match(release, / main\/source\/Sources\.gz$/m);
    } finally {
      await again.stop();
    }
  } finally {
    if (!stopped) await server.stop();
    await fx.cleanup();
  }
});

test.run();
