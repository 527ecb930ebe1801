// The repo server judged by real apt on bookworm (gpgv) and trixie (apt 3.0, Sequoia sqv):
// a node sets itself up with two downloads, installs, upgrades, downgrades, and refuses
// tampered indexes and unsigned repositories.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

async function buildDemo(p: Project, version: string): Promise<string> {
  await p.write('bin/demo', { content: `#!/bin/sh\necho "demo ${version}"\n`, mode: 0o755 });
  await p.write(
    'debpkg.yaml',
    `name: repo-demo
version: "${version}"
release: "1"
arch: all
maintainer: Repo Tester <repo@example.org>
description: |
  Package served by the repo server tests
  It prints its version.
license: MIT
contents:
  - { src: bin/demo, dst: /usr/bin/repo-demo }
`,
  );
  return p.build(['--output', `out-${version}`], { SOURCE_DATE_EPOCH: '1700000000' });
}

/** The node's two set-up steps, with apt's own downloader (the apt variant has no curl). */
async function configureNode(node: FleetNode, server: TestRepoServer, distribution: string): Promise<void> {
  await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
  await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
  await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/${distribution}.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
}

const aptGet = (node: FleetNode, args: string[]) => node.run(['apt-get', '-q', '-y', '-o', 'APT::Get::Always-Include-Phased-Updates=true', ...args], { allowFail: true });

function suiteTests(suite: Suite): void {
  test(`${suite}: apt-get update/install from the published repo, upgrade, install an older version`, async () => {
    const p = await Project.create();
    const server = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    try {
      const v1 = await buildDemo(p, '1.0');
      const v2 = await buildDemo(p, '1.1');
      assert.is((await server.api('POST', '/api/repos', { Name: 'fleet', DefaultDistribution: 'stable' })).status, 201);
      await server.addPackages('fleet', [v1]);
      const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'fleet' }], Distribution: 'stable' });
      assert.is(pub.status, 201, pub.text);

      await configureNode(node, server, 'stable');
      assert.match(await node.readFile('/etc/apt/sources.list.d/debpkg.sources'), /Signed-By: \/etc\/apt\/keyrings\/debpkg\.asc/);
      let r = await aptGet(node, ['update']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.not.match(r.stdout + r.stderr, /^(W|E): /m, r.stdout + r.stderr);
      r = await aptGet(node, ['install', 'repo-demo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.is((await node.run(['repo-demo'])).stdout, 'demo 1.0\n');

      // publish a newer version → the node upgrades
      await server.addPackages('fleet', [v2]);
      const upd = await server.api('PUT', '/api/publish/:./stable', {});
      assert.is(upd.status, 200, upd.text);
      r = await aptGet(node, ['update']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      r = await aptGet(node, ['install', '--only-upgrade', 'repo-demo']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.is((await node.run(['repo-demo'])).stdout, 'demo 1.1\n');

      // both versions stay installable
      const policy = (await node.run(['apt-cache', 'policy', 'repo-demo'])).stdout;
      assert.match(policy, /1\.1-1/);
      assert.match(policy, /1\.0-1/);
      r = await aptGet(node, ['install', '--allow-downgrades', 'repo-demo=1.0-1']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.is((await node.run(['repo-demo'])).stdout, 'demo 1.0\n');
    } finally {
      await node.destroy();
      await server.stop();
      await p.destroy();
    }
  });

  test(`${suite}: a tampered Packages index and an unsigned repository are refused`, async () => {
    const p = await Project.create();
    const server = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    try {
      const v1 = await buildDemo(p, '1.0');
      await server.api('POST', '/api/repos', { Name: 'fleet' });
      await server.addPackages('fleet', [v1]);
      assert.is((await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'fleet' }], Distribution: 'tampered' })).status, 201);
      assert.is((await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'fleet' }], Distribution: 'unsigned', Signing: { Skip: true } })).status, 201);

      // Replace (not edit in place: the inode is shared by generations) every copy of the index.
      const dist = join(server.dataDir, 'public/dists/tampered/main/binary-amd64');
      const original = await readFile(join(dist, 'Packages'), 'utf8');
      const evil = original.replace(/^Version: 1\.0-1$/m, 'Version: 9.9-1');
      for (const name of ['Packages']) {
        await writeFile(join(dist, `${name}.evil`), evil);
        await rename(join(dist, `${name}.evil`), join(dist, name));
      }
      await writeFile(join(dist, 'Packages.gz.evil'), gzipSync(evil));
      await rename(join(dist, 'Packages.gz.evil'), join(dist, 'Packages.gz'));
      await writeFile(join(dist, 'Packages.xz.evil'), execFileSync('xz', ['-c'], { input: evil }));
      await rename(join(dist, 'Packages.xz.evil'), join(dist, 'Packages.xz'));
      for (const algo of ['SHA256', 'SHA512']) {
        for (const f of await readdir(join(dist, 'by-hash', algo))) {
          await writeFile(join(dist, 'by-hash', algo, `${f}.evil`), evil);
          await rename(join(dist, 'by-hash', algo, `${f}.evil`), join(dist, 'by-hash', algo, f));
        }
      }
      await configureNode(node, server, 'tampered');
      let r = await aptGet(node, ['update']);
      assert.is.not(r.code, 0, 'apt-get update must fail on a tampered index');
      assert.match(r.stdout + r.stderr, /Hash Sum mismatch|File has unexpected size|hashes? (do not|don't) match/i, r.stdout + r.stderr);
      const listed = await aptGet(node, ['install', '--dry-run', 'repo-demo']);
      assert.not.match(listed.stdout, /9\.9-1/, 'the tampered version never reaches apt');

      await node.run(['rm', '-rf', '/var/lib/apt/lists/', '/etc/apt/sources.list.d/debpkg.sources']);
      await node.run(['mkdir', '-p', '/var/lib/apt/lists/partial']);
      await configureNode(node, server, 'unsigned');
      r = await aptGet(node, ['update']);
      assert.is.not(r.code, 0, 'an unsigned repository must be refused');
      assert.match(r.stdout + r.stderr, /not signed|NO_PUBKEY|does not have a Release file/i, r.stdout + r.stderr);
      r = await aptGet(node, ['install', 'repo-demo']);
      assert.is.not(r.code, 0);
    } finally {
      await node.destroy();
      await server.stop();
      await p.destroy();
    }
  });
}

for (const suite of SUITES) suiteTests(suite);

test.run();
