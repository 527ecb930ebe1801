// apt-get update never breaks in flight: a client holding any of the last 3 InRelease
// generations still finishes, and ≥ 200 updates during continuous publishing all succeed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { FleetNode, SUITES } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

async function makeDebs(p: Project, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    await p.write(`src/f${i}`, `file ${i}\n`);
    const yaml = `name: gen-pkg-${i}\nversion: "1.0"\nmaintainer: Gen Tester <gen@example.org>\ndescription: generation test package ${i}\ncontents:\n  - { src: src/f${i}, dst: /usr/share/gen-pkg-${i}/f }\n`;
    const loaded = parseSpec(yaml, 'debpkg.yaml', {}, { baseDir: p.dir, mtime: 1700000000 });
    out.push((await buildPackage(loaded, { outputDir: p.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path);
  }
  return out;
}

/** A proxy that serves a fixed (stale) InRelease and forwards everything else to the server. */
async function staleProxy(target: string, distribution: string, inRelease: Buffer): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === `/dists/${distribution}/InRelease`) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': inRelease.length });
      res.end(inRelease);
      return;
    }
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function setSources(node: FleetNode, url: string, key: string, distribution: string): Promise<void> {
  await node.writeFile('/etc/apt/keyrings/debpkg.asc', key);
  await node.writeFile('/etc/apt/sources.list.d/debpkg.sources', `Types: deb\nURIs: ${url}\nSuites: ${distribution}\nComponents: main\nSigned-By: /etc/apt/keyrings/debpkg.asc\n`);
  await node.run('rm -rf /var/lib/apt/lists && mkdir -p /var/lib/apt/lists/partial');
}

for (const suite of SUITES) {
  test(`${suite}: a client holding any of the last 3 InRelease generations finishes apt-get update`, async () => {
    const p = await Project.create();
    const server = await TestRepoServer.start();
    const node = await FleetNode.create(suite);
    try {
      const debs = await makeDebs(p, 3);
      await server.api('POST', '/api/repos', { Name: 'r' });
      const key = await (await fetch(`${server.url}/keys/archive.asc`)).text();
      const generations: Buffer[] = [];
      for (let g = 0; g < 3; g++) {
        await server.addPackages('r', [debs[g]!]);
        const r = g === 0
          ? await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'r' }], Distribution: 'live', Architectures: ['amd64'] })
          : await server.api('PUT', '/api/publish/:./live', {});
        assert.ok(r.status === 200 || r.status === 201, r.text);
        generations.push(Buffer.from(await (await fetch(`${server.url}/dists/live/InRelease`)).arrayBuffer()));
      }
      // The live tree is now at generation 3; each client below holds an older InRelease.
      for (let g = 0; g < 3; g++) {
        const proxy = await staleProxy(server.url, 'live', generations[g]!);
        try {
          await setSources(node, proxy.url, key, 'live');
          const r = await node.run(['apt-get', '-q', 'update'], { allowFail: true });
          assert.is(r.code, 0, `generation ${g + 1}: ${r.stdout}${r.stderr}`);
          assert.not.match(r.stdout + r.stderr, /^(W|E): /m, r.stdout + r.stderr);
          // ...and sees exactly that generation's packages.
          const avail = (await node.run("apt-cache dumpavail | grep '^Package: ' | sort")).stdout.trim().split('\n');
          assert.equal(avail, Array.from({ length: g + 1 }, (_, i) => `Package: gen-pkg-${i}`));
        } finally {
          await proxy.close();
        }
      }
    } finally {
      await node.destroy();
      await server.stop();
      await p.destroy();
    }
  });
}

test('trixie: 200 apt-get update runs during continuous publishing, 0 failures', async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start({ compressXz: false });
  const node = await FleetNode.create('trixie');
  try {
    const debs = await makeDebs(p, 4);
    await server.api('POST', '/api/repos', { Name: 'r' });
    await server.addPackages('r', debs);
    const keys = (await server.api('GET', '/api/repos/r/packages')).json as string[];
    await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'r' }], Distribution: 'churn', Architectures: ['amd64'] });
    await setSources(node, server.url, await (await fetch(`${server.url}/keys/archive.asc`)).text(), 'churn');

    let stop = false;
    let publishes = 0;
    const publisher = (async () => {
      // Flip one package in and out so every publish changes the indexes and the Release.
      while (!stop) {
        const method = publishes % 2 === 0 ? 'DELETE' : 'POST';
        await server.api(method, '/api/repos/r/packages', { PackageRefs: [keys[publishes % keys.length]!] });
        const r = await server.api('PUT', '/api/publish/:./churn', {});
        assert.is(r.status, 200, r.text);
        publishes++;
      }
    })();
    const loop = await node.aptUpdateRounds(200);
    stop = true;
    await publisher;
    assert.match(loop.stdout, /FAILS=0\s*$/, loop.stdout.slice(-3000));
    assert.ok(publishes >= 10, `only ${publishes} publishes happened during the loop`);
    process.stderr.write(`  [consistency] 200 apt-get update runs, ${publishes} publishes meanwhile, 0 failures\n`);
  } finally {
    await node.destroy();
    await server.stop();
    await p.destroy();
  }
});

test.run();
