// aptly's remaining endpoints (issue 14 item 6), ported from system/t12_api (gpg.py, graph.py,
// db.py, storage.py, metrics.py) as specs against the real server: POST /api/gpg/key with an
// armored key (and gpgv verifying a publish against the keyring it wrote), graph.dot/.svg/.png
// with escaped free text and aptly's layouts (rendered by the real Graphviz), db cleanup
// (records nothing names go, published pool files stay served), storage, s3, /api/metrics.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { exec, HOST_ENV } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

const METRICS_TOKEN = 'endpoints-metrics-token';
let server: TestRepoServer;
let p: Project;
let tmp: string;

test.before(async () => {
  p = await Project.create();
  server = await TestRepoServer.start({ metricsToken: METRICS_TOKEN });
  tmp = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-endpoints-'));
});
test.after(async () => {
  await server.stop();
  await p.destroy();
  await rm(tmp, { recursive: true, force: true });
});

async function makeDeb(name: string, version: string): Promise<string> {
  await p.write(`src/${name}-${version}`, `${name} ${version}\n`);
  const yaml =
    `name: ${name}\nversion: "${version}"\narch: all\nmaintainer: Api Tester <api@example.org>\ndescription: endpoint scenario package\n` +
    `contents:\n  - { src: src/${name}-${version}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  return (await buildPackage(loaded, { outputDir: p.path(`out/${name}-${version}`), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path;
}

const errorOf = (r: { json: unknown }): string => (r.json as { error: string }).error;

test('POST /api/gpg/key: an armored key goes into a named trusted keyring gpgv reads; Keyserver, paths and secret keys are 400', async () => {
  const armor = server.server.context.signer.publicKeyArmored;
  let r = await server.api('POST', '/api/gpg/key', { GpgKeyArmor: armor });
  assert.is(r.status, 200, r.text);
  const fpr = server.server.context.signer.fingerprint;
  assert.match(r.json as string, new RegExp(`key ${fpr.slice(-16)}: public key "debpkg archive signing key" imported`));
  r = await server.api('POST', '/api/gpg/key', { GpgKeyArmor: armor, Keyring: 'trustedkeys.gpg', GpgKeyID: fpr.slice(-8) });
  assert.is(r.status, 200, r.text);
  assert.match(r.json as string, /not changed/);

  // The keyring verifies what the server signs.
  assert.is((await server.api('POST', '/api/repos', { Name: 'gpgrepo' })).status, 201);
  await server.addPackages('gpgrepo', [await makeDeb('gpgdemo', '1.0')]);
  assert.is((await server.api('POST', '/api/publish/gpgp', { SourceKind: 'local', Sources: [{ Name: 'gpgrepo' }], Distribution: 'gpg' })).status, 201);
  await writeFile(join(tmp, 'InRelease'), Buffer.from(await (await fetch(`${server.url}/gpgp/dists/gpg/InRelease`)).arrayBuffer()));
  const v = await exec(['gpgv', '--status-fd', '1', '--keyring', join(server.dataDir, 'keys/trusted/trustedkeys.gpg'), join(tmp, 'InRelease')], HOST_ENV);
  assert.is(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`VALIDSIG ${fpr}`));

  const { privateKey } = await openpgp.generateKey({ userIDs: [{ name: 'x' }], type: 'ecc', curve: 'ed25519Legacy', format: 'object' });
  for (const [body, pattern] of [
    [{ Keyserver: 'hkp://keyserver.ubuntu.com:80', GpgKeyID: '9E3E53F19C7DE460' }, /^Keyserver: this server fetches no keys from keyservers/],
    [{ GpgKeyID: '9E3E53F19C7DE460' }, /^GpgKeyID needs a keyserver/],
    [{ GpgKeyArmor: armor, Keyring: '/tmp/x.pub' }, /^Keyring: names one of the server's trusted keyrings .*never a file path/],
    [{ GpgKeyArmor: armor, Keyring: '../keys/signing-key.asc' }, /^Keyring: names one/],
    [{ GpgKeyArmor: privateKey.armor() }, /^GpgKeyArmor holds a secret key/],
    [{ GpgKeyArmor: 'not a key' }, /^GpgKeyArmor: not an armored OpenPGP public key/],
    [{ GpgKeyArmor: armor, GpgKeyID: 'DEADBEEF' }, /^GpgKeyID: key DEADBEEF is not in GpgKeyArmor/],
    [{}, /^GpgKeyArmor: give the armored public key/],
  ] as const) {
    r = await server.api('POST', '/api/gpg/key', body);
    assert.is(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    assert.match(errorOf(r), pattern);
  }
  assert.is((await server.api('POST', '/api/gpg/key', { GpgKeyArmor: armor }, null)).status, 401);
});

test('GET /api/graph.dot: repos, snapshots and publishes as aptly draws them, free text escaped; svg/png through dot, layouts as aptly', async () => {
  const comment = 'fun "repo" {with} <record> | specials \\ and\nnewline';
  assert.is((await server.api('POST', '/api/repos', { Name: 'xyz', Comment: comment })).status, 201);
  assert.is((await server.api('POST', '/api/repos/gpgrepo/snapshots', { Name: 'gsnap', Description: 'snap | "desc"' })).status, 201);
  const get = (path: string): Promise<Response> => fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer test-admin-token' } });
  const dotAnswer = await get('/api/graph.dot');
  assert.is(dotAnswer.status, 200);
  assert.is(dotAnswer.headers.get('content-type'), 'text/plain; charset=utf-8');
  const dot = await dotAnswer.text();
  assert.ok(dot.startsWith('digraph aptly {'), dot);
  assert.match(dot, /"repo-\d+" \[ fillcolor=mediumseagreen, label="\{Repo xyz\|comment: fun \\"repo\\" \\\{with\\\} \\<record\\> \\\| specials \\\\ and newline\|pkgs: 0\}", shape=Mrecord, style=filled \];/);
  assert.match(dot, /label="\{Snapshot gsnap\|snap \\\| \\"desc\\"\|pkgs: 1\}"/);
  assert.match(dot, /label="\{Published gpgp\/gpg\|comp: main\|arch: amd64, arm64\}"/);
  // Edges in the form python-aptly's cleanup parses: repo → snapshot, repo → publish.
  const id = (label: string): string => new RegExp(`"([a-z]+-\\d+)" \\[[^\\n]*label="\\{${label}[|\\\\]`).exec(dot)![1]!;
  assert.ok(dot.includes(`\t"${id('Repo gpgrepo')}"->"${id('Snapshot gsnap')}";`), dot);
  assert.ok(dot.includes(`\t"${id('Repo gpgrepo')}"->"${id('Published gpgp/gpg')}";`), dot);
  // Graphviz reads it and draws the text back unescaped.
  await writeFile(join(tmp, 'g.dot'), dot);
  const svgOfDot = await exec(['dot', '-Tsvg', join(tmp, 'g.dot')], HOST_ENV);
  assert.is(svgOfDot.code, 0, svgOfDot.stderr);
  assert.match(svgOfDot.stdout, /comment: fun &quot;repo&quot; \{with\} &lt;record&gt; \| specials \\ and newline/);

  const svg = await get('/api/graph.svg');
  assert.is(svg.status, 200);
  assert.is(svg.headers.get('content-type'), 'image/svg+xml');
  assert.ok((await svg.text()).startsWith('<?xm'));
  const png = await get('/api/graph.png');
  assert.is(png.headers.get('content-type'), 'image/png');
  assert.equal([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);

  for (const n of ['t1', 't2', 't3']) assert.is((await server.api('POST', '/api/repos', { Name: n, Comment: 'graph test repo' })).status, 201);
  const size = async (layout: string): Promise<{ w: number; h: number; text: string }> => {
    const t = (await server.api('GET', `/api/graph.svg${layout}`)).text;
    return { w: Number(/<svg width="(\d+)pt"/.exec(t)![1]), h: Number(/height="(\d+)pt"/.exec(t)![1]), text: t };
  };
  const horizontal = await size('?layout=horizontal');
  const vertical = await size('?layout=vertical');
  assert.ok(horizontal.w > vertical.w, `${horizontal.w} > ${vertical.w}`);
  assert.ok(vertical.h > horizontal.h, `${vertical.h} > ${horizontal.h}`);
  assert.is((await size('')).text, horizontal.text, 'horizontal is the default');

  const r = await server.api('GET', '/api/graph.ps;rm');
  assert.is(r.status, 400);
  assert.match(errorOf(r), /^graph format must be one of dot, gv, svg, png/);
  assert.is((await server.api('GET', '/api/graph.dot?layout=diagonal')).status, 400);
  assert.is((await server.api('GET', '/api/graph.dot', undefined, null)).status, 401);
  for (const n of ['t1', 't2', 't3']) assert.is((await server.api('DELETE', `/api/repos/${n}?force=1`)).status, 200);
});

test('POST /api/db/cleanup: records no repo or snapshot names go with their files; a published pool file stays served', async () => {
  assert.is((await server.api('POST', '/api/repos', { Name: 'clean' })).status, 201);
  const deb = await makeDeb('cleandemo', '1.0');
  await server.addPackages('clean', [deb, await makeDeb('cleankeep', '1.0')]);
  assert.is((await server.api('POST', '/api/publish/cleanp', { SourceKind: 'local', Sources: [{ Name: 'clean' }], Distribution: 'c' })).status, 201);
  const poolUrl = `${server.url}/cleanp/pool/main/c/cleandemo/cleandemo_1.0_all.deb`;
  const before = Buffer.from(await (await fetch(poolUrl)).arrayBuffer());
  const { store } = server.server.context;
  const key = [...store.packages.values()].find((r) => r.name === 'cleandemo')!.key;
  const sha = store.packages.get(key)!.file.sha256;
  assert.is((await server.api('DELETE', '/api/repos/clean/packages', { PackageRefs: [key] })).status, 200);
  // Republished without it; the old generation's indexes still name its pool file.
  assert.is((await server.api('PUT', '/api/publish/cleanp/c', {})).status, 200);

  const r = await server.api('POST', '/api/db/cleanup?_async=True');
  assert.is(r.status, 202, r.text);
  const id = (r.json as { ID: number }).ID;
  assert.is(((await server.api('GET', `/api/tasks/${id}/wait`)).json as { State: number }).State, 2);
  assert.match((await server.api('GET', `/api/tasks/${id}/output`)).json as string, /Deleting unreferenced packages \(1\)/);
  assert.equal((await server.api('GET', `/api/tasks/${id}/detail`)).json, { TotalNumberOfPackagesToDelete: 1, RemainingNumberOfPackagesToDelete: 0 });
  assert.is(store.packages.has(key), false, 'the record nothing names is gone');
  assert.is((await server.api('GET', `/api/packages/${encodeURIComponent(key)}`)).status, 404);
  assert.ok(store.blobs.has(sha), 'the published pool still names its file');
  const after = await fetch(poolUrl);
  assert.is(after.status, 200);
  assert.ok(Buffer.from(await after.arrayBuffer()).equals(before));
  assert.ok([...store.packages.values()].some((rec) => rec.name === 'cleankeep'), 'a record a repo names stays');

  // Once the prefix is dropped nothing names the file: the next cleanup collects it.
  assert.is((await server.api('DELETE', '/api/publish/cleanp/c')).status, 200);
  const sync = await server.api('POST', '/api/db/cleanup', undefined);
  assert.is(sync.status, 200, sync.text);
  assert.is(store.blobs.has(sha), false);
  assert.is((await server.api('POST', '/api/db/cleanup', undefined, null)).status, 401);
});

test('GET /api/storage as aptly (MiB of the data directory file system), GET /api/s3 an empty list', async () => {
  const r = await server.api('GET', '/api/storage');
  assert.is(r.status, 200);
  const s = r.json as { Total: number; Free: number; PercentFull: number };
  const st = await exec(['stat', '-f', '-c', '%b %S %a', server.dataDir], HOST_ENV);
  const [blocks, bsize, avail] = st.stdout.trim().split(' ').map(Number) as [number, number, number];
  assert.is(s.Total, Math.floor((blocks * bsize) / 1048576));
  assert.ok(Math.abs(s.Free - Math.floor((avail * bsize) / 1048576)) < 64, `${s.Free}`);
  assert.ok(s.PercentFull > 0 && s.PercentFull < 100, `${s.PercentFull}`);
  assert.equal((await server.api('GET', '/api/s3')).json, []);
  assert.is((await server.api('GET', '/api/storage', undefined, null)).status, 401);
});

test("GET /api/metrics: aptly's families (ported metrics.py) beside the server's own, for the admin or the metrics token", async () => {
  const dir = 'libboost-program-options-dev_1.62.0.1';
  assert.is((await server.api('POST', '/api/repos', { Name: 'foo', DefaultDistribution: 'foo', DefaultComponent: 'main' })).status, 201);
  await server.addPackages('foo', [await makeDeb('metricsdemo', '1.0')], dir);
  assert.is((await server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Component: 'main', Name: 'foo' }], Distribution: 'foo', Signing: { Skip: true } })).status, 201);
  const r = await server.api('GET', '/api/metrics', undefined, METRICS_TOKEN);
  assert.is(r.status, 200);
  for (const line of [
    '# TYPE aptly_api_http_requests_in_flight gauge',
    '# TYPE aptly_api_http_requests_total counter',
    '# TYPE aptly_api_http_request_size_bytes summary',
    '# TYPE aptly_api_http_response_size_bytes summary',
    '# TYPE aptly_api_http_request_duration_seconds summary',
    '# TYPE aptly_build_info gauge',
    '# TYPE aptly_api_files_uploaded_total counter',
    `aptly_api_files_uploaded_total{directory="${dir}"} 1`,
    '# TYPE aptly_repos_package_count gauge',
    'aptly_repos_package_count{source="[foo:main]",distribution="foo",component="main"} 1',
    'aptly_api_http_requests_total{code="201",method="POST",path="/api/publish"}',
    '# TYPE debpkg_http_request_duration_seconds histogram',
  ]) {
    assert.ok(r.text.includes(line), line);
  }
  // Request labels come from routes, so made-up URLs mint no series.
  await server.api('GET', '/api/no/such/thing-1');
  assert.not.match((await server.api('GET', '/api/metrics')).text, /thing-1/);
  assert.is((await server.api('GET', '/api/metrics', undefined, null)).status, 401);
  // The text parses; the one lint complaint is aptly's own name, kept so aptly dashboards work.
  const promtool = await exec(['promtool', 'check', 'metrics'], HOST_ENV, (await server.api('GET', '/api/metrics')).text);
  const complaints = (promtool.stdout + promtool.stderr).trim().split('\n').filter(Boolean);
  assert.equal(complaints, ['aptly_repos_package_count non-histogram and non-summary metrics should not have "_count" suffix'], promtool.stdout + promtool.stderr);
});

test.run();
