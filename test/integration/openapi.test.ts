// /api/openapi.json: generated from the registered routes, valid OpenAPI (checked with a
// maintained validator from npm), covering every route the server registered with the very
// schemas fastify validates with, and every example in it valid against its schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ajv } from 'ajv';
import { Validator } from '@seriousme/openapi-schema-validator';
import { templateOf } from '../../repo-server/http/openapi.js';
import { RESPONSES, responsesOf } from '../../repo-server/http/schemas/responses.js';
import { TestRepoServer } from '../support/repo-server.js';

interface Parameter {
  name: string;
  in: 'path' | 'query';
  schema: unknown;
}
interface Operation {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: unknown; example?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  'x-debpkg-access'?: string;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
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
    assert.equal((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name), params, `${r.method} ${r.url} parameters`);
    assert.is(op['x-debpkg-access'], r.access, `${r.method} ${r.url} access`);
  }
  assert.equal(missing, []);
  // …and nothing else: the document is the route table, not a hand-written list.
  const documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.is(documented, new Set(routes.map((r) => `${r.method} ${templateOf(r.url).path}`)).size);
  for (const needed of ['/api/openapi.json', '/metrics', '/api/services/{service}/swap', '/api/repos/{name}']) assert.ok(doc.paths[needed], needed);
  assert.equal(doc.paths['/api/version']!.get!.security, [], 'public routes need no token');
});

test('each route is documented with the schemas fastify validates it with: params, query string, body', () => {
  let bodies = 0;
  let queries = 0;
  for (const r of server.server.routes) {
    const where = `${r.method} ${r.url}`;
    const op = doc.paths[templateOf(r.url).path]![r.method.toLowerCase()]!;
    const path = (op.parameters ?? []).filter((p) => p.in === 'path');
    const params = r.schema?.params?.properties ?? {};
    // Every parameter of every route has a schema (given, or a string from the URL).
    assert.is(Object.keys(params).length, path.length, `${where}: params schema`);
    for (const p of path) assert.equal(p.schema, params[p.name === 'path' ? '*' : p.name], `${where}: ${p.name}`);
    const query = Object.fromEntries((op.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
    assert.equal(query, r.schema?.querystring?.properties ?? {}, `${where}: query string`);
    if (r.schema?.querystring) queries++;
    if (r.upload) {
      // A file upload: its media type, never a JSON body.
      const type = r.upload === 'multipart' ? 'multipart/form-data' : 'application/octet-stream';
      assert.ok(op.requestBody?.content[type]?.schema, `${where}: upload body documented as ${type}`);
      continue;
    }
    const body = op.requestBody?.content['application/json']?.schema;
    assert.equal(body, r.schema?.body, `${where}: request body`);
    if (body) {
      bodies++;
      assert.ok(op.requestBody!.content['application/json']!.example !== undefined, `${where}: a body example`);
    }
  }
  // The writes of aptly's API and the color groups: 25 bodies today, most writes take ?_async.
  assert.ok(bodies >= 25, `documented bodies: ${bodies}`);
  assert.ok(queries >= 30, `documented query strings: ${queries}`);
  for (const [path, method, field] of [
    ['/api/repos', 'post', 'Name'],
    ['/api/publish/{prefix}', 'post', 'Sources'],
    ['/api/services/{service}/swap', 'post', 'To'],
    ['/api/units/{service}/{node}', 'put', 'Port'],
  ] as const) {
    const schema = doc.paths[path]![method]!.requestBody!.content['application/json']!.schema as { properties: Record<string, unknown> };
    assert.ok(schema.properties[field], `${method} ${path} documents ${field}`);
  }
  // Both upload forms are documented (the multipart POST and the raw PUT).
  assert.ok(doc.paths['/api/files/{dir}']!.post!.requestBody!.content['multipart/form-data'], 'multipart upload documented');
  assert.ok(doc.paths['/api/files/{dir}/{file}']!.put!.requestBody!.content['application/octet-stream'], 'raw upload documented');
});

test('every route documents its answers per status; the table names no route that is not registered', () => {
  const routes = server.server.routes;
  assert.equal(routes.filter((r) => !responsesOf(r.method, r.url)).map((r) => `${r.method} ${r.url}`), []);
  const registered = new Set(routes.map((r) => `${r.method} ${r.url}`));
  assert.equal(Object.keys(RESPONSES).filter((k) => !registered.has(k)), []);
  for (const r of routes) {
    const op = doc.paths[templateOf(r.url).path]![r.method.toLowerCase()]!;
    const where = `${r.method} ${r.url}`;
    const success = Object.keys(op.responses).filter((c) => /^[23]\d\d$/.test(c));
    assert.ok(success.length > 0, `${where}: a success answer`);
    assert.ok(op.responses.default?.content?.['application/json'], `${where}: the error answer`);
    // A HEAD answers with headers only; a GET or a write with a body of a documented type (a redirect or 304 with none).
    for (const c of success) {
      const content = op.responses[c]!.content;
      if (r.method === 'HEAD' || c.startsWith('3')) assert.is(content, undefined, `${where} ${c}: no body`);
      else assert.ok(content && Object.keys(content).length > 0, `${where} ${c}: a documented body`);
    }
  }
  // Answer shapes are named components, referenced from the operations (a generated client gets named types).
  const components = (doc as unknown as { components: { schemas: Record<string, unknown> } }).components.schemas;
  for (const name of ['Repo', 'Snapshot', 'PublishedRepo', 'Task', 'SwapRecord', 'Service', 'Error']) assert.ok(components[name], name);
  assert.equal(doc.paths['/api/repos/{name}']!.get!.responses['200']!.content!['application/json']!.schema, { $ref: '#/components/schemas/Repo' });
  assert.equal(Object.keys(doc.paths['/api/repos']!.post!.responses).sort(), ['201', '202', '401', '403', 'default']);
  assert.ok(doc.paths['/api/events']!.get!.responses['200']!.content!['text/event-stream'], 'the event stream\'s media type');
});

/** Every `example` in the document with the schema it sits in (a body's example: its body schema). */
function examples(node: unknown, at: string, out: Array<{ at: string; schema: object; example: unknown }>): void {
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if ('example' in o && 'schema' in o && typeof o.schema === 'object') out.push({ at, schema: o.schema as object, example: o.example });
  else if ('example' in o && ('type' in o || 'anyOf' in o)) out.push({ at, schema: o, example: o.example });
  for (const [k, v] of Object.entries(o)) if (k !== 'example') examples(v, `${at}/${k}`, out);
}

test('every documented example validates against its schema (and a broken one does not)', () => {
  // A separate Ajv from the server's: OpenAPI 3.0 schemas (nullable), our x- annotations ignored.
  const ajv = new Ajv({ strict: false, logger: false });
  const found: Array<{ at: string; schema: object; example: unknown }> = [];
  examples(doc.paths, '', found);
  assert.ok(found.length >= 25, `examples found: ${found.length}`);
  const bad = found.filter((e) => !ajv.validate(e.schema, e.example)).map((e) => `${e.at}: ${ajv.errorsText()}`);
  assert.equal(bad, []);
  // The check can fail: the swap example with a color that does not exist.
  const swap = found.find((e) => e.at.includes('swap') && e.at.endsWith('application/json'))!;
  assert.ok(swap, 'the swap body example');
  assert.not.ok(ajv.validate(swap.schema, { ...(swap.example as object), To: 'red' }));
});

test('no two path templates differ only in parameter names (OpenAPI treats them as one)', () => {
  const shapes = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'));
  assert.equal(shapes.filter((s, i) => shapes.indexOf(s) !== i), []);
});

test.run();
