// A rebuilt package (same name, version and architecture, other bytes) replaced in a published
// distribution, judged by real apt on bookworm and trixie: without ForceOverwrite the update is
// refused in aptly's words and nothing changes; with it, a node that read the indexes before
// the publish still downloads exactly the bytes its index names (no hash sum mismatch), one
// running apt-get update + install while the publish lands succeeds, and after an update apt
// installs the rebuild.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

async function build(p: Project, greeting: string): Promise<Buffer> {
  await p.write('bin/forcedemo', { content: `#!/bin/sh\necho "${greeting}"\n`, mode: 0o755 });
  await p.write(
    'debpkg.yaml',
    `name: forcedemo\nversion: "1.0"\nrelease: "1"\narch: all\nmaintainer: Repo Tester <repo@example.org>\n` +
      `description: |\n  Rebuilt package of the ForceOverwrite test\n  It prints which build it is.\nlicense: MIT\n` +
      `contents:\n  - { src: bin/forcedemo, dst: /usr/bin/forcedemo }\n`,
  );
  return readFile(await p.build([], { SOURCE_DATE_EPOCH: '1700000000' }));
}

async function add(server: TestRepoServer, dir: string, deb: Buffer, query = ''): Promise<{ status: number; text: string }> {
  const form = new FormData();
  form.append('file', new Blob([deb]), 'forcedemo_1.0-1_all.deb');
  const up = await server.api('POST', `/api/files/${dir}`, form);
  assert.is(up.status, 200, up.text);
  return server.api('POST', `/api/repos/fleet/file/${dir}${query}`);
}

const aptGet = (node: FleetNode, args: string[]) => node.run(['apt-get', '-q', '-y', ...args], { allowFail: true });

function suiteTest(suite: Suite): void {
  test(`${suite}: ForceOverwrite publishes a rebuild without breaking a client still reading the old indexes`, async () => {
    const p = await Project.create();
    const server = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    try {
      const one = await build(p, 'build one');
      const two = await build(p, 'build two');
      assert.not.ok(one.equals(two));
      assert.is((await server.api('POST', '/api/repos', { Name: 'fleet', DefaultDistribution: 'stable' })).status, 201);
      assert.is((await add(server, 'one', one)).status, 200);
      const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable', Architectures: ['amd64'] });
      assert.is(pub.status, 201, pub.text);

      await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/stable.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
      let r = await aptGet(node, ['update']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      r = await aptGet(node, ['install', 'forcedemo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.is((await node.run(['forcedemo'])).stdout, 'build one\n');

      // The rebuild replaces the first build in the repo (forceReplace), then the distribution.
      const replaced = await add(server, 'two', two, '?forceReplace=1');
      assert.is(replaced.status, 200, replaced.text);
      let upd = await server.api('PUT', '/api/publish/:./stable', {});
      assert.is(upd.status, 409, upd.text);
      assert.match(upd.text, /unable to publish: error linking file to pool\/main\/f\/forcedemo\/forcedemo_1\.0-1_all\.deb: file already exists and is different/);
      assert.ok((await node.run(['apt-get', 'download', '--print-uris', 'forcedemo'])).stdout.includes('/pool/main/f/forcedemo/forcedemo_1.0-1_all.deb'));

      // A client in flight: indexes read before the publish, packages fetched after it. The
      // node's lists are kept aside for that; another run does update + install while the
      // publish lands (either generation may answer it).
      await node.run('cp -a /var/lib/apt/lists /tmp/oldlists && mkdir -p /tmp/stale/partial /tmp/during/partial');
      const noCache = ['-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache='];
      const during = aptGet(node, ['update']).then((u) =>
        u.code !== 0 ? u : aptGet(node, [...noCache, '-o', 'Dir::Cache::archives=/tmp/during', 'install', '--reinstall', '--download-only', 'forcedemo']),
      );
      // Both awaited before any assertion: a failing test must not leave apt running against a stopping server.
      const [forced, concurrent] = await Promise.all([server.api('PUT', '/api/publish/:./stable', { ForceOverwrite: true }), during]);
      assert.is(forced.status, 200, forced.text);
      assert.is(concurrent.code, 0, concurrent.stdout + concurrent.stderr);
      assert.not.match(concurrent.stdout + concurrent.stderr, /Hash Sum mismatch|hashes do not match/i);

      r = await aptGet(node, [...noCache, '-o', 'Dir::State::Lists=/tmp/oldlists', '-o', 'Dir::Cache::archives=/tmp/stale', 'install', '--reinstall', '--download-only', 'forcedemo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.not.match(r.stdout + r.stderr, /Hash Sum mismatch|hashes do not match/i);
      assert.ok((await readFile(await node.hostPath('/tmp/stale/forcedemo_1.0-1_all.deb'))).equals(one), 'the old index gets the first build');

      // After an update, apt installs the rebuild; the first build's path still serves its bytes.
      // apt reuses a cached archive of the same file name and size without checking its hash
      // (pkgAcqArchive), and both builds are 1928 bytes: the cache goes first (docs/repo-server.md).
      r = await aptGet(node, ['clean']);
      assert.is(r.code, 0, r.stderr);
      r = await aptGet(node, ['update']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      r = await aptGet(node, ['install', '--reinstall', 'forcedemo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.not.match(r.stdout + r.stderr, /Hash Sum mismatch|hashes do not match/i);
      assert.is((await node.run(['forcedemo'])).stdout, 'build two\n', r.stdout + r.stderr);
      const old = await fetch(`${server.url}/pool/main/f/forcedemo/forcedemo_1.0-1_all.deb`);
      assert.ok(Buffer.from(await old.arrayBuffer()).equals(one), 'the first build keeps its path and bytes');
      const packages = await (await fetch(`${server.url}/dists/stable/main/binary-amd64/Packages`)).text();
      assert.match(packages, /^Filename: pool\/main\/f\/forcedemo\/\+[0-9a-f]+\/forcedemo_1\.0-1_all\.deb$/m);

      // A later update needs no ForceOverwrite: the rebuild is already served.
      upd = await server.api('PUT', '/api/publish/:./stable', {});
      assert.is(upd.status, 200, upd.text);
    } finally {
      await node.destroy();
      await server.stop();
      await p.destroy();
    }
  });
}

for (const suite of SUITES) suiteTest(suite);

test.run();
