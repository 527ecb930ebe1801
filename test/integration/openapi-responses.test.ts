// The answers /api/openapi.json documents are the answers the server gives: a workflow over
// every route (repos, uploads, includes, snapshots, publishes, the tree, tasks, color groups,
// errors) against a real server, each answer checked against the document by
// support/openapi-answers.ts (status documented, JSON valid against its status's schema with
// every object closed, other bodies of a documented media type). At the end every documented
// success status of every operation must have been seen.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { buildUpload, type Upload } from '../support/changes-fixture.js';
import { makeDeb } from '../support/aptly-scenario.js';
import { Project } from '../support/project.js';
import { AnswerChecker, type CallOptions, type CheckedAnswer, type OpenApiDoc } from '../support/openapi-answers.js';
import { TEST_NODE_TOKEN, TestRepoServer } from '../support/repo-server.js';

let server: TestRepoServer;
let project: Project;
let checker: AnswerChecker;

const call = (method: string, path: string, body?: unknown, options?: CallOptions): Promise<CheckedAnswer> => checker.call(method, path, body, options);

/** Asserts the status (the document check runs either way). */
async function expect(status: number, method: string, path: string, body?: unknown, options?: CallOptions): Promise<CheckedAnswer> {
  const a = await call(method, path, body, options);
  assert.is(a.status, status, `${method} ${path}: ${a.text.slice(0, 500)}`);
  return a;
}

/** Runs a write with ?_async=1 and waits for its task (checking every task route's answer on the way). */
async function asTask(method: string, path: string, body?: unknown): Promise<number> {
  const started = await expect(202, method, `${path}${path.includes('?') ? '&' : '?'}_async=1`, body);
  const id = (started.json as { ID: number }).ID;
  const done = await expect(200, 'GET', `/api/tasks/${id}/wait`);
  assert.is((done.json as { State: number }).State, 2, (await call('GET', `/api/tasks/${id}/output`)).text);
  return id;
}

async function uploadFiles(dir: string, files: Record<string, Buffer>): Promise<void> {
  const form = new FormData();
  for (const [name, bytes] of Object.entries(files)) form.append('file', new Blob([bytes]), name);
  await expect(200, 'POST', `/api/files/${dir}`, form);
}

let debs: Record<string, Buffer>;
let changesUpload: Upload;

test.before(async () => {
  project = await Project.create();
  server = await TestRepoServer.start({ color: { probe: false } });
  const r = await server.api('GET', '/api/openapi.json');
  assert.is(r.status, 200, r.text);
  checker = new AnswerChecker(r.json as OpenApiDoc, server.url);
  const paths = await Promise.all([makeDeb(project, 'alpha', '1.0'), makeDeb(project, 'beta', '1.0'), makeDeb(project, 'gamma', '1.0')]);
  debs = Object.fromEntries(await Promise.all(paths.map(async (p): Promise<[string, Buffer]> => [p.split('/').pop()!, await readFile(p)])));
  changesUpload = await buildUpload('delta', '1.0');
});

test.after(async () => {
  await server?.stop();
  await project?.destroy();
});

test('the checker can fail: a wrong type, a missing field and an undocumented field are each caught', () => {
  const v = checker.validatorFor(`/components/schemas/Repo`);
  const repo = { Name: 'a', Comment: '', DefaultDistribution: '', DefaultComponent: '' };
  assert.ok(v(repo), checker.errorsText(v));
  assert.not.ok(v({ ...repo, Name: 1 }));
  assert.not.ok(v({ ...repo, Comment: undefined }));
  assert.not.ok(v({ ...repo, Surprise: true }));
  assert.not.ok(checker.validatorFor('/components/schemas/PublishedRepo')({}));
  assert.is(checker.templateFor('/api/snapshots/merge'), '/api/snapshots/merge');
  assert.is(checker.templateFor('/api/snapshots/s1/merge'), '/api/snapshots/{name}/merge');
  assert.is(checker.templateFor('/dists/x/Release'), '/{path}');
});

test('aptly resources: uploads, repos, include, packages, snapshots', async () => {
  for (const p of ['/api/version', '/api/ready', '/api/healthy', '/api/storage', '/api/s3', '/api/openapi.json']) await expect(200, 'GET', p);
  await expect(200, 'HEAD', '/api/version');
  await uploadFiles('up1', { 'alpha_1.0_all.deb': debs['alpha_1.0_all.deb']!, 'beta_1.0_all.deb': debs['beta_1.0_all.deb']! });
  await expect(200, 'PUT', '/api/files/up2/gamma_1.0_all.deb', debs['gamma_1.0_all.deb']);
  await expect(200, 'GET', '/api/files');
  await expect(200, 'GET', '/api/files/up1');

  await expect(201, 'POST', '/api/repos', { Name: 'main', DefaultDistribution: 'bookworm', DefaultComponent: 'main' });
  const created = await asTask('POST', '/api/repos', { Name: 'other' });
  for (const sub of ['', '/output', '/detail', '/return_value']) await expect(200, 'GET', `/api/tasks/${created}${sub}`);
  await expect(200, 'GET', '/api/tasks');
  await expect(200, 'PUT', '/api/repos/main', { Comment: 'ours' });
  await expect(200, 'POST', '/api/repos/main/file/up1');
  await expect(200, 'POST', '/api/repos/main/file/up2/gamma_1.0_all.deb');
  // An include of a real upload (source package, .deb, .udeb, .buildinfo); unsigned is refused with its report first.
  await uploadFiles('inc', changesUpload.files);
  const refused = await expect(400, 'POST', '/api/repos/main/include/inc');
  assert.ok((refused.json as { FailedFiles?: string[] }).FailedFiles?.length, refused.text);
  await expect(200, 'POST', '/api/repos/main/include/inc?acceptUnsigned=1');
  await uploadFiles('inc2', changesUpload.files);
  await expect(200, 'POST', `/api/repos/main/include/inc2/${changesUpload.changes}?acceptUnsigned=1&forceReplace=1`);
  await expect(200, 'GET', '/api/repos');
  await expect(200, 'GET', '/api/repos/main');
  const keys = (await expect(200, 'GET', '/api/repos/main/packages')).json as string[];
  assert.ok(keys.length >= 6, keys.join(', '));
  await expect(200, 'GET', '/api/repos/main/packages/?format=details');
  await expect(200, 'GET', '/api/packages?q=alpha');
  const details = (await expect(200, 'GET', '/api/packages?format=details')).json as Array<Record<string, string>>;
  assert.ok(details.some((d) => d.Files !== undefined), 'a source package\'s details are listed too');
  for (const k of keys) await expect(200, 'GET', `/api/packages/${encodeURIComponent(k)}`);
  const gamma = keys.find((k) => k.includes(' gamma '))!;
  await expect(200, 'DELETE', '/api/repos/main/packages', { PackageRefs: [gamma] });
  await expect(200, 'POST', '/api/repos/main/packages', { PackageRefs: [gamma] });
  await expect(200, 'DELETE', '/api/repos/main/packages/', { PackageRefs: [gamma] });
  await expect(200, 'POST', '/api/repos/main/packages/', { PackageRefs: [gamma] });
  await expect(200, 'POST', '/api/repos/other/copy/main/alpha', { 'dry-run': true });
  await expect(200, 'POST', '/api/repos/other/copy/main/alpha');

  await expect(201, 'POST', '/api/repos/main/snapshots', { Name: 's1', Description: 'all of main' });
  await expect(201, 'POST', '/api/snapshots', { Name: 's2', PackageRefs: [gamma] });
  await expect(200, 'GET', '/api/snapshots');
  await expect(200, 'GET', '/api/snapshots/s1');
  await expect(200, 'PUT', '/api/snapshots/s2', { Description: 'gamma alone' });
  await expect(200, 'GET', '/api/snapshots/s1/packages?format=details');
  await expect(200, 'GET', '/api/snapshots/s1/diff/s2');
  await expect(201, 'POST', '/api/snapshots/merged/merge', { Sources: ['s1', 's2'] });
  await expect(201, 'POST', '/api/snapshots/merge', { Destination: 'merged2', Sources: ['s2', 's1'] });
  await expect(200, 'POST', '/api/snapshots/s2/pull?dry-run=1', { Source: 's1', Destination: 'pulled', Queries: ['alpha'], Architectures: ['all'] });
  await expect(201, 'POST', '/api/snapshots/s2/pull', { Source: 's1', Destination: 'pulled', Queries: ['alpha'], Architectures: ['all'] });
  await expect(200, 'DELETE', '/api/snapshots/pulled');
  await asTask('DELETE', '/api/snapshots/merged2');
  await expect(201, 'POST', '/api/repos', { Name: 'scratch' });
  await expect(200, 'DELETE', '/api/repos/scratch');
  // Files: one removed by name, then its directory.
  await expect(200, 'PUT', '/api/files/junk/a.txt', Buffer.from('a'));
  await expect(200, 'PUT', '/api/files/junk/b.txt', Buffer.from('b'));
  await expect(200, 'DELETE', '/api/files/junk/a.txt');
  await expect(200, 'DELETE', '/api/files/junk');
});

test('publishes, staged sources, the published tree, graph, keys, tasks, cleanup', async () => {
  await expect(201, 'POST', '/api/publish/:.', { SourceKind: 'snapshot', Sources: [{ Component: 'main', Name: 's1' }], Distribution: 'bookworm' });
  await expect(201, 'POST', '/api/publish', { SourceKind: 'local', Sources: [{ Component: 'main', Name: 'other' }], Distribution: 'trixie' });
  await asTask('POST', '/api/publish/ppa', { Sources: [{ Component: 'main', Name: 'main' }], Distribution: 'sid' });
  await expect(200, 'GET', '/api/publish');
  await expect(200, 'GET', '/api/publish/:./bookworm');
  await expect(200, 'PUT', '/api/publish/:./bookworm', { Snapshots: [{ Component: 'main', Name: 'merged' }] });
  await expect(201, 'POST', '/api/publish/:./bookworm/sources', { Component: 'extra', Name: 's2' });
  await expect(200, 'GET', '/api/publish/:./bookworm/sources');
  await expect(200, 'PUT', '/api/publish/:./bookworm/sources/extra', { Name: 's1' });
  await expect(200, 'DELETE', '/api/publish/:./bookworm/sources/extra');
  await expect(200, 'PUT', '/api/publish/:./bookworm/sources', [{ Component: 'main', Name: 's1' }]);
  await expect(200, 'POST', '/api/publish/:./bookworm/update');
  await expect(201, 'POST', '/api/publish/:./bookworm/sources', { Component: 'extra', Name: 's2' });
  await expect(200, 'DELETE', '/api/publish/:./bookworm/sources');
  await expect(200, 'DELETE', '/api/publish/ppa/sid');
  await asTask('DELETE', '/api/publish/:./trixie');

  // The tree: a file, a range of it, a conditional request, an unsatisfiable range, a miss.
  const release = await expect(200, 'GET', '/dists/bookworm/Release');
  await expect(206, 'GET', '/dists/bookworm/Release', undefined, { headers: { range: 'bytes=0-9' } });
  await expect(304, 'GET', '/dists/bookworm/Release', undefined, { headers: { 'if-none-match': release.headers.get('etag')! } });
  await expect(416, 'GET', '/dists/bookworm/Release', undefined, { headers: { range: 'bytes=99999999-' } });
  await expect(404, 'GET', '/dists/nowhere/Release');
  const packages = / (main\/binary-[a-z0-9]+\/Packages)$/m.exec(release.text)?.[1];
  assert.ok(packages, release.text);
  const index = await expect(200, 'GET', `/dists/bookworm/${packages}`);
  const pool = /^Filename: (\S+)$/m.exec(index.text)![1]!;
  await expect(200, 'GET', `/${pool}`);
  await expect(200, 'HEAD', `/${pool}`);
  const asc = await expect(200, 'GET', '/keys/archive.asc');
  await expect(200, 'GET', '/keys/archive.gpg');
  await expect(200, 'POST', '/api/gpg/key', { GpgKeyArmor: asc.text });
  await expect(200, 'GET', '/api/graph.dot');
  await expect(200, 'GET', '/api/graph.svg?layout=vertical');

  await expect(418, 'POST', '/api/tasks-dummy');
  const dummy = await expect(202, 'POST', '/api/tasks-dummy?_async=1');
  const id = (dummy.json as { ID: number }).ID;
  await expect(200, 'GET', '/api/tasks-wait');
  await expect(200, 'GET', `/api/tasks/${id}/return_value`);
  await expect(200, 'DELETE', `/api/tasks/${id}`);
  await expect(200, 'POST', '/api/tasks-clear');
  await expect(200, 'POST', '/api/db/cleanup');
  await asTask('POST', '/api/db/cleanup');
  await expect(200, 'GET', '/metrics');
  await expect(200, 'GET', '/api/metrics');
});

test('color groups: units, services, swaps (a refused one with its evidence), rollback, history, events, LB config', async () => {
  const unit = (node: string, color: string, health: string): Promise<CheckedAnswer> =>
    expect(200, 'PUT', `/api/units/web/${node}`, { Address: '127.0.0.1', Port: 9, Color: color, Version: '1.0-1', Health: health }, { token: TEST_NODE_TOKEN });
  await unit('b1', 'blue', 'healthy');
  await unit('g1', 'green', 'unhealthy');
  await expect(200, 'GET', '/api/services');
  await expect(200, 'PUT', '/api/services/web', { MinHealthy: 1, PreviewAllow: ['10.0.0.0/8'] });
  await expect(200, 'GET', '/api/services/web');
  await expect(200, 'POST', '/api/services/web/swap/preview', { To: 'green', Strategy: 'canary', Weight: 20 });
  const refused = await expect(409, 'POST', '/api/services/web/swap', { To: 'green' });
  assert.is((refused.json as { Code?: string }).Code, 'gate_refused');
  await unit('g1', 'green', 'healthy');
  await expect(200, 'POST', '/api/services/web/swap', { To: 'green', Strategy: 'rolling', Steps: [50, 100] });
  await expect(200, 'POST', '/api/services/web/rollback/preview', {});
  await expect(200, 'POST', '/api/services/web/rollback', {});
  await expect(200, 'GET', '/api/services/web/history');
  await expect(200, 'GET', '/api/lb/config?adapter=haproxy');
  await expect(200, 'GET', '/api/events?service=web', undefined, { headOnly: true });
  await expect(200, 'DELETE', '/api/units/web/g1', undefined, { token: TEST_NODE_TOKEN });
  await expect(200, 'DELETE', '/api/services/web');
});

test('errors answer the documented error shape; the dashboard its media types', async () => {
  await expect(404, 'GET', '/api/repos/nope');
  await expect(400, 'POST', '/api/repos', { Name: 5 });
  await expect(401, 'GET', '/api/repos', undefined, { token: null });
  await expect(403, 'PUT', '/api/services/web', {}, { token: TEST_NODE_TOKEN });
  await expect(409, 'POST', '/api/repos', { Name: 'main' });
  await expect(302, 'GET', '/ui');
  await expect(200, 'GET', '/ui/');
  for (const f of ['app.js', 'app.css']) await expect(200, 'GET', `/ui/${f}`);
});

test('every answer matched the document, and every documented success status was seen', () => {
  assert.equal(checker.problems, []);
  // HEAD answers a GET's without the body (a few are checked above); 202 (a task) is one shape for every write.
  assert.equal(checker.unseen((method, code) => method === 'HEAD' || code === '202'), []);
  // 202 (a task) is one shape for every write: checked on several, not all.
  const seen = [...checker.seen];
  assert.ok(seen.filter((s) => s.endsWith(' 202')).length >= 5, seen.filter((s) => s.endsWith(' 202')).join(', '));
  for (const code of ['400', '401', '403', '404', '409', '416']) assert.ok(seen.some((s) => s.endsWith(` ${code}`)), `an error ${code} was checked`);
});

test.run();
