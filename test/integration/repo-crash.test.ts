// kill -9 at random points during ingest and publish, repeatedly: after each restart no
// acknowledged upload or add is lost, the store loads, and the published tree is one whole,
// correctly signed generation.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SERVE_ENV, SERVE_NODE_FLAGS } from '../../repo-server/runtime.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { CLI, Project, sh } from '../support/project.js';
import { freePort } from '../support/ports.js';

const TOKEN = 'crash-test-token';
const ROUNDS = 8;

async function makeDebs(p: Project, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    await p.write(`src/f${i}`, `crash payload ${i}\n`.repeat(200));
    const yaml = `name: crash-pkg-${i}\nversion: "1.0"\nmaintainer: Crash Tester <crash@example.org>\ndescription: crash test package ${i}\ncontents:\n  - { src: src/f${i}, dst: /usr/share/crash-pkg-${i}/f }\n`;
    const loaded = parseSpec(yaml, 'debpkg.yaml', {}, { baseDir: p.dir, mtime: 1700000000 });
    out.push((await buildPackage(loaded, { outputDir: p.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path);
  }
  return out;
}

async function startServer(data: string, port: number): Promise<ChildProcess> {
  // Started with the runtime settings, so the pid killed below is the server itself (a bare
  // `serve` would relaunch itself as a child).
  const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, CLI, 'serve', '--data', data, '--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, ...SERVE_ENV, DEBPKG_ADMIN_TOKEN: TOKEN, DEBPKG_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/api/version`).then((r) => r.ok, () => false);
    if (ok) return child;
    if (child.exitCode !== null) throw new Error('server exited during start-up');
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

async function call(port: number, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  let payload: string | FormData | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  return fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
}

/** The live tree must be one whole generation: InRelease verifies, every listed file matches. */
async function assertWholeGeneration(data: string, distribution: string, port: number): Promise<number> {
  const dist = join(data, 'public/dists', distribution);
  const v = await sh(`gpgv --keyring ${join(data, 'keys/archive.gpg')} ${join(dist, 'InRelease')} 2>&1`, { allowFail: true });
  assert.is(v.code, 0, `InRelease does not verify: ${v.stdout}`);
  const release = await readFile(join(dist, 'Release'), 'utf8');
  const section = release.split('SHA256:\n')[1]!.split(/\n(?! )/)[0]!;
  let files = 0;
  for (const line of section.split('\n')) {
    const m = /^ ([0-9a-f]{64})\s+(\d+) (\S+)$/.exec(line);
    if (!m) continue;
    const bytes = await readFile(join(dist, m[3]!));
    assert.is(bytes.length, Number(m[2]), `${m[3]} size`);
    assert.is(createHash('sha256').update(bytes).digest('hex'), m[1], `${m[3]} hash`);
    const byHash = await readFile(join(dist, m[3]!.replace(/[^/]+$/, `by-hash/SHA256/${m[1]}`))).catch(() => undefined);
    if (!m[3]!.endsWith('/Release')) assert.ok(byHash, `${m[3]} by-hash copy`);
    files++;
  }
  // Every package the index names is served from the published pool, with the bytes it names.
  const packages = await readFile(join(dist, 'main/binary-amd64/Packages'), 'utf8');
  for (const stanza of packages.split('\n\n').filter((t) => t.trim() !== '')) {
    const filename = /^Filename: (.+)$/m.exec(stanza)![1]!;
    const res = await fetch(`http://127.0.0.1:${port}/${filename}`);
    assert.is(res.status, 200, `pool file ${filename}`);
    const got = createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
    assert.is(got, /^SHA256: (.+)$/m.exec(stanza)![1], `pool file ${filename} bytes`);
  }
  return files;
}

test(`kill -9 during ingest and publish (${ROUNDS} rounds): nothing acknowledged is lost, the tree is whole`, async () => {
  const p = await Project.create();
  const data = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-crash-'));
  const port = await freePort();
  try {
    const debs = await makeDebs(p, 40);
    const acknowledgedAdds = new Set<string>();
    const acknowledgedUploads = new Map<string, string>(); // dir → file, uploaded but not added
    let next = 0;
    let published = false;
    for (let round = 0; round < ROUNDS; round++) {
      const server = await startServer(data, port);
      if (round === 0) assert.is((await call(port, 'POST', '/api/repos', { Name: 'crash' })).status, 201);
      let stop = false;
      const ingest = (async () => {
        while (!stop && next < debs.length) {
          const i = next++;
          const dir = `round${round}-${i}`;
          const form = new FormData();
          form.append('file', new Blob([await readFile(debs[i]!)]), `crash-pkg-${i}_1.0_all.deb`);
          const up = await call(port, 'POST', `/api/files/${dir}`, form).catch(() => undefined);
          if (up?.status !== 200) break;
          acknowledgedUploads.set(dir, `crash-pkg-${i}_1.0_all.deb`);
          const add = await call(port, 'POST', `/api/repos/crash/file/${dir}`).catch(() => undefined);
          if (add?.status !== 200) break;
          acknowledgedUploads.delete(dir);
          acknowledgedAdds.add(`crash-pkg-${i}`);
        }
      })();
      const publishing = (async () => {
        while (!stop) {
          const r = published
            ? await call(port, 'PUT', '/api/publish/:./crash', {}).catch(() => undefined)
            : await call(port, 'POST', '/api/publish/:.', { Sources: [{ Name: 'crash' }], Distribution: 'crash', Architectures: ['amd64'] }).catch(() => undefined);
          if (!r) break;
          if (r.status === 201) published = true;
        }
      })();
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      stop = true;
      await Promise.all([ingest, publishing]);

      // Restart and check.
      const again = await startServer(data, port);
      try {
        const repo = (await (await call(port, 'GET', '/api/repos/crash/packages')).json()) as string[];
        const names = new Set(repo.map((k) => k.split(' ')[1]));
        for (const n of acknowledgedAdds) assert.ok(names.has(n), `round ${round}: acknowledged ${n} lost`);
        for (const [dir, file] of acknowledgedUploads) {
          // 404 (a JSON error, not a list) once an add consumed the directory.
          const listed: unknown = await (await call(port, 'GET', `/api/files/${dir}`)).json().catch(() => []);
          const files = Array.isArray(listed) ? (listed as string[]) : [];
          // Either still in the upload area or added by a request whose answer the kill cut off.
          assert.ok(files.includes(file) || names.has(file.split('_')[0]!), `round ${round}: acknowledged upload ${dir}/${file} lost`);
        }
        for (const k of repo) assert.is((await call(port, 'GET', `/api/packages/${encodeURIComponent(k)}`)).status, 200);
        if (published) {
          const files = await assertWholeGeneration(data, 'crash', port);
          assert.ok(files > 0);
        }
      } finally {
        again.kill('SIGTERM');
        await new Promise((r) => again.once('exit', r));
      }
    }
    assert.ok(acknowledgedAdds.size >= 5, `only ${acknowledgedAdds.size} packages were added across the rounds`);
    assert.ok((await readdir(join(data, 'packs'))).length > 0);
    process.stderr.write(`  [crash] ${ROUNDS} kill -9 rounds, ${acknowledgedAdds.size} acknowledged adds, all present\n`);
  } finally {
    await rm(data, { recursive: true, force: true });
    await p.destroy();
  }
});

test.run();
