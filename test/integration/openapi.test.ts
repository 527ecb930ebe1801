// /api/openapi.json: generated from the registered routes, valid OpenAPI (checked with a
// maintained validator from npm), and covering every route the server registered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Validator } from '@seriousme/openapi-schema-validator';
import { templateOf } from '../../repo-server/http/openapi.js';
import { TestRepoServer } from '../support/repo-server.js';

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; parameters?: { name: string }[]; 'x-debpkg-access'?: string }>>;
}

let server: TestRepoServer;
let doc: Doc;

test.before(async () => {
  server = await TestRepoServer.start();
  const r = await server.api('GET', '/api/openapi.json');
  assert.is(r.status, 200, r.text);
  doc = r.json as Doc;
});

test.after(async () => {
  await server?.stop();
});

test('the document is a read: a token is needed unless reads are open', async () => {
  assert.is((await server.api('GET', '/api/openapi.json', undefined, null)).status, 401);
});

test('the validator accepts the document, and rejects a broken copy (the check can fail)', async () => {
  const ok = await new Validator().validate(structuredClone(doc) as never);
  assert.ok(ok.valid, JSON.stringify(ok.errors, null, 1)?.slice(0, 2000));
  const broken = structuredClone(doc) as unknown as Record<string, unknown>;
  delete broken.info;
  assert.not.ok((await new Validator().validate(broken as never)).valid);
});

test('every registered route is documented with its path parameters and access', () => {
  const routes = server.server.routes;
  assert.ok(routes.length > 60, `routes seen: ${routes.length}`);
  const missing: string[] = [];
  for (const r of routes) {
    const { path, params } = templateOf(r.url);
    const op = doc.paths[path]?.[r.method.toLowerCase()];
    if (!op) {
      missing.push(`${r.method} ${r.url}`);
      continue;
    }
    assert.equal((op.parameters ?? []).map((p) => p.name), params, `${r.method} ${r.url} parameters`);
    assert.is(op['x-debpkg-access'], r.access, `${r.method} ${r.url} access`);
  }
  assert.equal(missing, []);
  // …and nothing else: the document is the route table, not a hand-written list.
  const documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.is(documented, new Set(routes.map((r) => `${r.method} ${templateOf(r.url).path}`)).size);
  for (const needed of ['/api/openapi.json', '/metrics', '/api/services/{service}/swap', '/api/repos/{name}']) assert.ok(doc.paths[needed], needed);
  assert.equal(doc.paths['/api/version']!.get!.security, [], 'public routes need no token');
});

test('no two path templates differ only in parameter names (OpenAPI treats them as one)', () => {
  const shapes = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'));
  assert.equal(shapes.filter((s, i) => shapes.indexOf(s) !== i), []);
});

test.run();
