// A repository large enough that its Packages.gz is a splice (publish/spliced-files.ts): real
// apt updates from it, adds a package and updates again through by-hash, installs the new
// package; the spliced file answers ranges and conditional requests like any other file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { debFileName, makeDeb } from '../support/deb-fixture.js';
import { readSplice, SPLICE_SUFFIX } from '../../repo-server/publish/spliced-files.js';
import { FleetNode } from '../support/fleet-node.js';
import { TestRepoServer } from '../support/repo-server.js';

const COUNT = 9000;

async function upload(s: TestRepoServer, dir: string, debs: [string, Buffer][]): Promise<void> {
  for (let i = 0; i < debs.length; i += 900) {
    const form = new FormData();
    for (const [name, body] of debs.slice(i, i + 900)) form.append('file', new Blob([body]), name);
    const r = await s.api('POST', `/api/files/${dir}`, form);
    assert.is(r.status, 200, r.text);
  }
  const add = await s.api('POST', `/api/repos/big/file/${dir}`);
  assert.is(add.status, 200, add.text);
}

test('a spliced Packages.gz: apt update, append + update via by-hash, install; ranges and 304', async () => {
  const server = await TestRepoServer.start();
  const node = await FleetNode.create('trixie');
  try {
    assert.is((await server.api('POST', '/api/repos', { Name: 'big', DefaultDistribution: 'big', DefaultComponent: 'main' })).status, 201);
    const names = Array.from({ length: COUNT }, (_, i) => `large-${String(i).padStart(5, '0')}`);
    await upload(server, 'all', names.map((n) => [debFileName(n), makeDeb({ name: n })]));
    const pub = await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Component: 'main', Name: 'big' }], Distribution: 'big', Architectures: ['amd64'] });
    assert.is(pub.status, 201, pub.text);

    const dists = join(server.dataDir, 'public', 'dists', 'big', 'main', 'binary-amd64');
    const first = await readSplice(join(dists, `Packages.gz${SPLICE_SUFFIX}`));
    assert.ok(first.size > 1 << 20, `${first.size} bytes: large enough to be spliced`);
    assert.is(await stat(join(dists, 'Packages.gz')).then(() => 'exists', () => 'absent'), 'absent', 'no plain file');

    await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/big.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
    const apt = (args: string[]) => node.run(['apt-get', '-q', '-y', ...args], { allowFail: true });
    let r = await apt(['update']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.not.match(r.stdout + r.stderr, /^(W|E): /m, r.stdout + r.stderr);
    const policy = (await node.run(['apt-cache', 'policy', names[COUNT - 1]!])).stdout;
    assert.match(policy, /Candidate: 1\.0-1/, policy + r.stdout + (await (await fetch(`${server.url}/dists/big/Release`)).text()) + (await node.readFile('/etc/apt/sources.list.d/debpkg.sources')));

    // Append one package: the new Packages.gz is the old ranges plus a small tail segment.
    await new Promise((res) => setTimeout(res, 1100)); // Release dates have one-second resolution
    await upload(server, 'one', [[debFileName('large-appended'), makeDeb({ name: 'large-appended' })]]);
    assert.is((await server.api('PUT', '/api/publish/:./big', {})).status, 200);
    const second = await readSplice(join(dists, `Packages.gz${SPLICE_SUFFIX}`));
    assert.ok(second.parts.length >= 2 && second.parts[0]![0] === first.parts[0]![0], 'the first segment is shared');
    const segments = join(server.dataDir, 'generations', '_root', 'big', 'segments');
    const tail = second.parts[second.parts.length - 1]!;
    assert.ok((await stat(join(server.dataDir, 'generations', tail[0]))).size < 64 << 10, 'the append wrote a small tail segment');
    assert.is((await readdir(segments)).length, 2);

    r = await apt(['update']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.not.match(r.stdout + r.stderr, /^(W|E): /m, r.stdout + r.stderr);
    r = await apt(['install', 'large-appended']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is((await node.run(['dpkg-query', '-W', '-f', '${Status}', 'large-appended'])).stdout, 'install ok installed');

    // Over HTTP: whole, by-hash, a range, a conditional request; the descriptor is not published.
    const url = `${server.url}/dists/big/main/binary-amd64/Packages.gz`;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.is(whole.length, second.size);
    assert.is(hash('sha256', whole, 'hex'), second.sha256);
    assert.is(gunzipSync(whole).toString().split('\n\n').length - 1, COUNT + 1);
    const byHash = await fetch(`${server.url}/dists/big/main/binary-amd64/by-hash/SHA256/${second.sha256}`);
    assert.ok(Buffer.from(await byHash.arrayBuffer()).equals(whole));
    const oldByHash = await fetch(`${server.url}/dists/big/main/binary-amd64/by-hash/SHA256/${first.sha256}`);
    assert.is(oldByHash.status, 200, 'the previous generation stays reachable by hash');
    const a = tail[2] + 1000;
    const ranged = await fetch(url, { headers: { range: `bytes=${whole.length - a}-` } });
    assert.is(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(whole.subarray(whole.length - a)), 'a range across segments');
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag');
    assert.is(etag, `"${second.sha256.slice(0, 40)}"`);
    assert.is((await fetch(url, { headers: { 'if-none-match': etag! } })).status, 304);
    assert.is((await fetch(`${url}${SPLICE_SUFFIX}`)).status, 404);
  } finally {
    await node.destroy();
    await server.stop();
  }
});

test.run();
