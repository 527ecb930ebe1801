// The route schemas are live: fastify refuses a body of the wrong type before the handler, in
// the API's words (400 {"error"} naming the field), on fields the hand-written decoders used to
// let through. And hostile bodies (huge, deeply nested, prototype keys, wrong content types)
// are answered 4xx with a JSON error, nothing is created, and the server keeps serving.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';
import { answerOf, type ApiAnswer } from '../support/api-client.js';

let server: TestRepoServer;

test.before(async () => {
  server = await TestRepoServer.start();
  assert.is((await server.api('POST', '/api/repos', { Name: 'main' })).status, 201);
  const unit = { Address: '127.0.0.1', Port: 9001, Color: 'blue', Version: '1.0-1' };
  assert.is((await server.api('PUT', '/api/units/web/n1', unit, TEST_NODE_TOKEN)).status, 200);
});

test.after(async () => {
  await server?.stop();
});

const errorOf = (r: { json: unknown }): string => String((r.json as { error?: unknown } | undefined)?.error);

/** A request with a body sent as given, under any content type. */
async function raw(method: string, path: string, body: string | Buffer | undefined, type: string | undefined): Promise<ApiAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${TEST_TOKEN}` };
  if (type !== undefined) headers['content-type'] = type;
  return answerOf(await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
}

async function alive(): Promise<void> {
  const r = await server.api('GET', '/api/repos');
  assert.is(r.status, 200, 'the server still answers');
}

test('a wrong type is refused by the schema on three resources, naming the field; nothing is made', async () => {
  // Each of these fields was read leniently by the decoders (a non-string Description or a
  // non-list PackageRefs ignored, Force anything but true read as false): only the schema refuses them.
  const fromRepo = await server.api('POST', '/api/repos/main/snapshots', { Name: 's1', Description: 5 });
  assert.is(fromRepo.status, 400, fromRepo.text);
  assert.is(errorOf(fromRepo), 'Description must be a string');
  assert.is((await server.api('GET', '/api/snapshots/s1')).status, 404);

  const fromRefs = await server.api('POST', '/api/snapshots', { Name: 's2', PackageRefs: 'Pall hello 1.0 0123' });
  assert.is(fromRefs.status, 400, fromRefs.text);
  assert.is(errorOf(fromRefs), 'PackageRefs must be a list of strings');
  assert.is((await server.api('GET', '/api/snapshots/s2')).status, 404);

  const rollback = await server.api('POST', '/api/services/web/rollback/preview', { Force: 'yes' });
  assert.is(rollback.status, 400, rollback.text);
  assert.is(errorOf(rollback), 'Force must be true or false');
});

test('schema errors name nested fields, list items and path parameters', async () => {
  const nested = await server.api('POST', '/api/publish/x', { Sources: [{ Name: 'main' }], Signing: { Skip: 'yes' } });
  assert.is(nested.status, 400);
  assert.is(errorOf(nested), 'Signing.Skip must be true or false');
  const item = await server.api('POST', '/api/publish/x', { Sources: [{ Name: 'main', Component: 7 }] });
  assert.is(errorOf(item), 'Sources[0].Component must be a string');
  const steps = await server.api('POST', '/api/services/web/swap/preview', { To: 'green', Strategy: 'rolling', Steps: [10, 'all'] });
  assert.is(errorOf(steps), 'Steps[1] must be an integer 1-100');
  const typo = await server.api('PUT', '/api/units/web/n1', { Address: '127.0.0.1', Port: 9001, Color: 'blue', Version: '1.0-1', Wieght: 3, Halth: 'ok' }, TEST_NODE_TOKEN);
  assert.is(errorOf(typo), 'unit: unknown fields Wieght, Halth');
  const param = await server.api('GET', '/api/services/Web_1');
  assert.is(param.status, 400);
  assert.match(errorOf(param), /^service name 'Web_1' must match/);
  const twice = await server.api('GET', '/api/repos/main/packages?q=a&q=b');
  assert.is(twice.status, 400);
  assert.is(errorOf(twice), 'query parameter q must be a string');
  const protoQuery = await server.api('POST', '/api/repos?__proto__[Comment]=x&constructor=1', { Name: 'qp' });
  assert.is(protoQuery.status, 201, protoQuery.text);
  assert.is((protoQuery.json as { Comment: string }).Comment, '');
  // aptly's clients send fields this server does not know, and `_async` in the query: both fine.
  const extra = await server.api('POST', '/api/repos?_async=True&_async=0', { Name: 'extra', Comment: null, SomethingNew: { a: 1 } });
  assert.is(extra.status, 201, extra.text);
});

test('huge and deeply nested bodies: 413 or 400 with a JSON error, nothing created, the server alive', async () => {
  const huge = await raw('POST', '/api/repos', `{"Name":"huge","Comment":"${'x'.repeat(17 << 20)}"}`, 'application/json');
  assert.is(huge.status, 413, huge.text.slice(0, 200));
  assert.ok(errorOf(huge).length > 0);
  const depth = 200_000;
  const t0 = Date.now();
  const deepName = await raw('POST', '/api/repos', `{"Name":${'['.repeat(depth)}${']'.repeat(depth)}}`, 'application/json');
  assert.is(deepName.status, 400, deepName.text.slice(0, 200));
  assert.is(errorOf(deepName), 'invalid repo name');
  const deepObject = await raw('PUT', '/api/units/web/n2', `{"Address":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`, 'application/json');
  assert.ok(deepObject.status === 400, `${deepObject.status} ${deepObject.text.slice(0, 200)}`);
  assert.ok(errorOf(deepObject).length > 0);
  // aptly ignores fields it does not know, however deep; the repo is made, the junk not kept.
  const deepExtra = await raw('POST', '/api/repos', `{"Name":"deep","Junk":${'['.repeat(depth)}${']'.repeat(depth)}}`, 'application/json');
  assert.is(deepExtra.status, 201, deepExtra.text.slice(0, 200));
  assert.ok(!('Junk' in (deepExtra.json as object)));
  assert.ok(Date.now() - t0 < 20_000, `deep bodies took ${Date.now() - t0} ms`);
  assert.is((await server.api('GET', '/api/repos/huge')).status, 404);
  await alive();
});

test('__proto__ and constructor keys are refused, never merged into anything', async () => {
  for (const [path, method, token, body] of [
    ['/api/repos', 'POST', TEST_TOKEN, '{"Name":"p1","__proto__":{"Comment":"polluted"}}'],
    ['/api/repos', 'POST', TEST_TOKEN, '{"Name":"p2","constructor":{"prototype":{"Comment":"polluted"}}}'],
    ['/api/units/web/n3', 'PUT', TEST_NODE_TOKEN, '{"Address":"127.0.0.1","Port":9003,"Color":"blue","Version":"1","__proto__":{"Weight":7}}'],
    ['/api/services/web/swap/preview', 'POST', TEST_TOKEN, '{"To":"green","constructor":{"prototype":{"Force":true}}}'],
  ] as const) {
    const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { error?: string };
    assert.is(res.status, 400, `${method} ${path}: ${JSON.stringify(json)}`);
    assert.type(json.error, 'string');
  }
  // A plain key named constructor is data: an unknown field of a closed body…
  const closed = await server.api('POST', '/api/services/web/swap/preview', { To: 'green', constructor: 1 });
  assert.is(errorOf(closed), 'swap: unknown field constructor');
  // …and of an aptly body, ignored; a wrong type in a real field still refused beside it.
  const open = await raw('POST', '/api/repos', '{"Name":"c1","constructor":"x","toString":5,"Comment":5}', 'application/json');
  assert.is(errorOf(open), 'Comment must be a string');
  for (const name of ['p1', 'p2', 'c1']) assert.is((await server.api('GET', `/api/repos/${name}`)).status, 404, name);
  assert.equal(Object.getPrototypeOf({}), Object.prototype);
  assert.is(({} as Record<string, unknown>).Comment, undefined, 'Object.prototype untouched');
  await alive();
});

test('wrong content types: a JSON error naming the body, nothing created', async () => {
  const asText = await raw('POST', '/api/repos', '{"Name":"t1"}', 'text/plain');
  assert.is(asText.status, 400, asText.text);
  assert.is(errorOf(asText), 'request body must be a JSON object');
  const form = await raw('POST', '/api/repos', 'Name=t2', 'application/x-www-form-urlencoded');
  assert.is(form.status, 415, form.text);
  assert.ok(errorOf(form).length > 0);
  const xml = await raw('PUT', '/api/units/web/n4', '<unit/>', 'application/xml');
  assert.is(xml.status, 415, xml.text);
  const notJson = await raw('POST', '/api/services/web/swap/preview', '{"To": green}', 'application/json');
  assert.is(notJson.status, 400, notJson.text);
  const fd = new FormData();
  fd.append('Name', 't3');
  const multipart = await fetch(`${server.url}/api/repos`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: fd });
  assert.is(multipart.status, 400);
  assert.is(((await multipart.json()) as { error: string }).error, 'invalid repo name');
  const octets = await raw('PUT', '/api/units/web/n5', Buffer.from('{"Address":"127.0.0.1"}'), 'application/octet-stream');
  assert.is(octets.status, 400, octets.text);
  assert.is(errorOf(octets), 'unit: body must be a JSON object');
  for (const name of ['t1', 't2', 't3']) assert.is((await server.api('GET', `/api/repos/${name}`)).status, 404, name);
  await alive();
});

test.run();
