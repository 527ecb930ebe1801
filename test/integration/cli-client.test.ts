// The client commands (upload, repo, snapshot, publish) against an in-process repo server:
// state changes land on the server, errors map to exit codes, and large uploads stream.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prefixToUrl } from '../../cli/commands/publish.js';
import { prefixFromUrl } from '../../repo-server/service/names.js';
import { CLI, Project, sh } from '../support/project.js';
import { TEST_TOKEN, TestRepoServer } from '../support/repo-server.js';

async function buildDemo(p: Project, version: string): Promise<string> {
  await p.write('bin/demo', { content: `#!/bin/sh\necho "demo ${version}"\n`, mode: 0o755 });
  await p.write(
    'debpkg.yaml',
    `name: cli-demo
version: "${version}"
release: "1"
arch: all
maintainer: Client Tester <client@example.org>
description: |
  Package uploaded by the client tests
  It prints its version.
license: MIT
contents:
  - { src: bin/demo, dst: /usr/bin/cli-demo }
`,
  );
  return p.build(['--output', `out-${version}`], { SOURCE_DATE_EPOCH: '1700000000' });
}

const envFor = (server: TestRepoServer): Record<string, string> => ({ DEBPKG_SERVER: server.url, DEBPKG_TOKEN: TEST_TOKEN });

test('publish prefixes map to aptly URL form and back', () => {
  for (const prefix of ['.', 'team', 'team_a', 'team/apt', 'a_b/c__d/e']) assert.is(prefixFromUrl(prefixToUrl(prefix)), prefix);
  assert.is(prefixToUrl('.'), ':.');
  assert.is(prefixToUrl('team_a/apt'), 'team__a_apt');
});

test('upload --repo, repo packages, snapshots, publish repo/list/update, through the real CLI', async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start();
  const env = envFor(server);
  try {
    const v1 = await buildDemo(p, '1.0');
    const v2 = await buildDemo(p, '1.1');
    let r = await p.cli(['repo', 'create', 'fleet', '--distribution', 'stable', '--component', 'main', '--comment', 'the fleet'], env);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'fleet\n');
    const repo = await server.api('GET', '/api/repos/fleet');
    assert.equal(repo.json, { Name: 'fleet', Comment: 'the fleet', DefaultDistribution: 'stable', DefaultComponent: 'main' });

    r = await p.cli(['upload', v1, '--repo', 'fleet'], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /cli-demo_1\.0-1_all added/);
    const keys = (await server.api('GET', '/api/repos/fleet/packages')).json as string[];
    assert.is(keys.length, 1);
    assert.match(keys[0]!, /^Pall cli-demo 1\.0-1 [0-9a-f]+$/);

    r = await p.cli(['repo', 'packages', 'fleet'], env);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${keys[0]}\n`);
    r = await p.cli(['repo', 'packages', 'fleet', '--details', '--json'], env);
    assert.is(r.code, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as { Version: string }[])[0]?.Version, '1.0-1');

    r = await p.cli(['snapshot', 'create', 'snap-1', '--from-repo', 'fleet', '--description', 'first'], env);
    assert.is(r.code, 0, r.stderr);
    assert.equal(((await server.api('GET', '/api/snapshots/snap-1')).json as { Description: string }).Description, 'first');

    r = await p.cli(['publish', 'repo', 'fleet', '--prefix', 'team_a/apt', '--architectures', 'amd64', '--origin', 'Team A'], env);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'team_a/apt/stable\n');
    const pubs = (await server.api('GET', '/api/publish')).json as { Prefix: string; Distribution: string; Origin: string; Architectures: string[] }[];
    assert.equal(
      pubs.map((x) => [x.Prefix, x.Distribution, x.Origin, x.Architectures]),
      [['team_a/apt', 'stable', 'Team A', ['amd64']]],
    );
    const packagesIndex = async (): Promise<string> => (await fetch(`${server.url}/team_a/apt/dists/stable/main/binary-amd64/Packages`)).text();
    assert.match(await packagesIndex(), /^Version: 1\.0-1$/m);
    r = await p.cli(['publish', 'list'], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^team_a\/apt\/stable {2}local: main=fleet {2}\[amd64\] {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    // publish show: the fields one a line, the date as the dashboard shows it (the API's x-debpkg.Date and generation).
    r = await p.cli(['publish', 'show', 'stable', '--prefix', 'team_a/apt'], env);
    assert.is(r.code, 0, r.stderr);
    const own = ((await server.api('GET', '/api/publish/team__a_apt/stable')).json as { 'x-debpkg': { Generation: number; Date: string } })['x-debpkg'];
    assert.match(own.Date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.find((l) => l.startsWith('Date:')), `Date:            ${own.Date.replace('T', ' ').replace('Z', '')} UTC (generation ${own.Generation})`);
    for (const row of ['Path:            team_a/apt/stable', 'Sources:         main=fleet', 'Architectures:   amd64', 'Origin:          Team A']) assert.ok(lines.includes(row), `${row} in\n${r.stdout}`);
    r = await p.cli(['publish', 'show', 'nosuch', '--prefix', 'team_a/apt'], env);
    assert.is(r.code, 2, r.stderr);

    // v1.1 replaces v1.0 (upload and add in two steps), snapshotted to diff against the first.
    r = await p.cli(['upload', v2, '--dir', 'second'], env);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'second\n');
    assert.equal((await server.api('GET', '/api/files/second')).json, ['cli-demo_1.1-1_all.deb']);
    r = await p.cli(['repo', 'add', 'fleet', '--dir', 'second'], env);
    assert.is(r.code, 0, r.stderr);
    r = await p.cli(['repo', 'remove', 'fleet', '--ref', keys[0]!], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(((await server.api('GET', '/api/repos/fleet/packages')).json as string[]).join('\n'), /^Pall cli-demo 1\.1-1 \S+$/);
    r = await p.cli(['snapshot', 'create', 'snap-2', '--from-repo', 'fleet'], env);
    assert.is(r.code, 0, r.stderr);

    r = await p.cli(['snapshot', 'list'], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^snap-1 .*first$/m);
    assert.match(r.stdout, /^snap-2 /m);
    r = await p.cli(['snapshot', 'diff', 'snap-1', 'snap-2'], env);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^! Pall cli-demo 1\.0-1 \S+ => Pall cli-demo 1\.1-1 \S+$/m);
    r = await p.cli(['snapshot', 'diff', 'snap-1', 'snap-2', '--json'], env);
    assert.equal(JSON.parse(r.stdout), (await server.api('GET', '/api/snapshots/snap-1/diff/snap-2')).json);

    // The publish still serves 1.0 until it is updated.
    assert.match(await packagesIndex(), /^Version: 1\.0-1$/m);
    r = await p.cli(['publish', 'update', 'stable', '--prefix', 'team_a/apt'], env);
    assert.is(r.code, 0, r.stderr);
    const index = await packagesIndex();
    assert.match(index, /^Version: 1\.1-1$/m);
    assert.not.match(index, /^Version: 1\.0-1$/m);

    r = await p.cli(['publish', 'drop', 'stable', '--prefix', 'team_a/apt'], env);
    assert.is(r.code, 0, r.stderr);
    assert.equal((await server.api('GET', '/api/publish')).json, []);
  } finally {
    await server.stop();
    await p.destroy();
  }
});

test('errors: no token → exit 2 with the DEBPKG_TOKEN hint; server errors → exit 2; no server → exit 1', async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start();
  try {
    let r = await p.cli(['repo', 'list'], { DEBPKG_SERVER: server.url, DEBPKG_TOKEN: '' });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /DEBPKG_TOKEN/);
    assert.is(r.stdout, '');

    r = await p.cli(['repo', 'packages', 'nosuch'], envFor(server));
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /local repo with name nosuch not found/);
    r = await p.cli(['snapshot', 'create', 's', '--from-repo', 'nosuch'], envFor(server));
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /local repo with name nosuch not found/);

    // --token-file instead of the environment
    await writeFile(p.path('token'), `${TEST_TOKEN}\n`, { mode: 0o600 });
    r = await p.cli(['repo', 'list', '--json', '--token-file', 'token'], { DEBPKG_SERVER: server.url, DEBPKG_TOKEN: '' });
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), []);

    // no such flag as --token: a token must not land in shell history or ps
    r = await p.cli(['repo', 'list', '--token', TEST_TOKEN], { DEBPKG_SERVER: server.url });
    assert.is(r.code, 2, r.stderr);
  } finally {
    await server.stop();
  }
  try {
    const r = await p.cli(['repo', 'list'], envFor(server));
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach the repo server at ${server.url.replace(/[.]/g, '\\.')}`));
  } finally {
    await p.destroy();
  }
});

test('a ~300 MiB upload is streamed: peak RSS < 150 MB', async () => {
  const size = 300 * 1024 * 1024 + 12345;
  const server = await TestRepoServer.start({ maxUploadBytes: 1 << 30 });
  // Disk-backed on purpose (not a tmpfs): this measures the client's memory, not the page cache.
  const dir = await mkdtemp(join('/var/tmp', 'debpkg-upload-'));
  try {
    const big = join(dir, 'big.deb');
    const fh = await open(big, 'w');
    await fh.write(Buffer.from('not really a package\n'), 0);
    await fh.truncate(size); // sparse: no disk, but every byte is still read and sent
    await fh.close();
    const r = await sh(
      `cd ${dir} && DEBPKG_SERVER=${server.url} DEBPKG_TOKEN=${TEST_TOKEN} /usr/bin/time -o time.txt -f '%M' ${process.execPath} ${CLI} upload big.deb --dir big --json; echo "exit=$?"`,
    );
    assert.match(r.stdout, /exit=0/, r.stdout + r.stderr);
    assert.equal(JSON.parse(r.stdout.replace(/exit=\d+\s*$/, '')), ['big/big.deb']);
    const rssKb = Number((await readFile(join(dir, 'time.txt'), 'utf8')).trim().split('\n').pop());
    process.stderr.write(`    upload of ${size} bytes: peak RSS ${rssKb} KB\n`);
    assert.ok(rssKb > 0 && rssKb < 150 * 1024, `peak RSS ${rssKb} KB`);
    // Over 1 MiB, so stored as one loose blob in the pool (not inside a pack).
    const loose: number[] = [];
    for (const ab of await readdir(join(server.dataDir, 'pool'))) {
      for (const f of await readdir(join(server.dataDir, 'pool', ab))) loose.push((await stat(join(server.dataDir, 'pool', ab, f))).size);
    }
    assert.equal(loose, [size]);
    assert.equal((await server.api('GET', '/api/files/big')).json, ['big.deb']);

    // Not a package: adding it is refused by the server (exit 2, its message).
    await server.api('POST', '/api/repos', { Name: 'big' });
    const add = await sh(`cd ${dir} && DEBPKG_SERVER=${server.url} DEBPKG_TOKEN=${TEST_TOKEN} ${process.execPath} ${CLI} repo add big --dir big; echo "exit=$?"`, {
      allowFail: true,
    });
    assert.match(add.stdout, /exit=2/, add.stdout + add.stderr);
    assert.match(add.stderr, /unable to import: big\/big\.deb/);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
});

test.run();
