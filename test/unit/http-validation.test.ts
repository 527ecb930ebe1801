// The schema error wording (http/validation.ts) with the real route schemas and the server's Ajv:
// which field a message names, x-error templates, closed bodies' unknown fields, anyOf, JSON
// pointers with escapes, and that a deep value is never stringified into a message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ErrorObject } from 'ajv';
import { createAjv, fieldOf, paramNames, schemaErrorFormatter, validatorCompiler } from '../../repo-server/http/validation.js';
import { CREATE_REPO, PULL } from '../../repo-server/http/schemas/repos.js';
import { PUBLISH, STAGE_SOURCES } from '../../repo-server/http/schemas/publish.js';
import { HEARTBEAT, SERVICE_PARAMS, SWAP } from '../../repo-server/http/schemas/colors.js';
import type { Schema } from '../../repo-server/http/schemas/schema.js';

const compile = validatorCompiler(createAjv());

/** The message a body (or params) gets, or undefined when it passes. */
function messageFor(schema: Schema, data: unknown, httpPart = 'body'): string | undefined {
  const check = compile({ schema, method: 'POST', url: '/x', httpPart }) as ((d: unknown) => boolean) & { errors?: ErrorObject[] | null };
  if (check(data)) return undefined;
  return schemaErrorFormatter(check.errors ?? [], httpPart).message;
}

test('examples pass; a missing body reads as {} and names the missing field', () => {
  for (const s of [CREATE_REPO, PULL, PUBLISH, HEARTBEAT, SWAP, STAGE_SOURCES]) assert.is(messageFor(s, s.example), undefined, JSON.stringify(s.example));
  assert.is(messageFor(CREATE_REPO, undefined), 'invalid repo name');
  assert.is(messageFor(PULL, { Source: 'a', Destination: 'b' }), 'Queries is required');
  assert.is(messageFor(STAGE_SOURCES, undefined), 'the request body must be a list of {Component, Name}');
});

test('wrong types name the field, nested and in lists', () => {
  assert.is(messageFor(CREATE_REPO, { Name: 'r', Comment: 5 }), 'Comment must be a string');
  assert.is(messageFor(CREATE_REPO, { Name: 'r', Comment: null }), undefined, 'aptly reads null as absent');
  assert.is(messageFor(PUBLISH, { Sources: [] }), 'Sources must list at least one {Component, Name}');
  assert.is(messageFor(PUBLISH, { Sources: ['main'] }), 'Sources[0] must be {"Component": ..., "Name": ...}');
  assert.is(messageFor(PUBLISH, { Sources: [{ Name: 'a' }], Architectures: ['amd64', 7] }), "Architectures[1]: invalid architecture '7'");
  assert.is(messageFor(PUBLISH, { Sources: [{ Name: 'a' }], Signing: { Skip: 1 } }), 'Signing.Skip must be true or false');
  assert.is(messageFor(HEARTBEAT, { Address: 'h', Port: 70000, Color: 'blue', Version: '1' }), 'Port must be an integer 1-65535');
  assert.is(messageFor(HEARTBEAT, { Address: 'h', Port: 80, Color: 'red', Version: '1' }), 'Color must be one of blue, green');
  assert.is(messageFor(HEARTBEAT, 'text'), 'unit: body must be a JSON object');
});

test('closed bodies list their unknown fields; anyOf answers with its own message', () => {
  assert.is(messageFor(SWAP, { To: 'green', Wieght: 5 }), 'swap: unknown field Wieght');
  assert.is(messageFor(SWAP, { To: 'green', a: 1, b: 2 }), 'swap: unknown fields a, b');
  assert.is(messageFor(SWAP, { To: 'green', Wait: 'soon' }), 'Wait must be a duration like 500ms, 5s or 2m');
  assert.is(messageFor(SWAP, { To: 'green', Wait: '5s' }), undefined);
  assert.is(messageFor(SWAP, { To: 'green', Wait: 2.5 }), undefined);
});

test('path parameters: the pattern and its wording; a deep value is never stringified', () => {
  assert.is(messageFor(SERVICE_PARAMS, { service: 'Web' }, 'params'), "service name 'Web' must match ^[a-z0-9][a-z0-9-]{0,62}$");
  let deep: unknown = 'x';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.is(messageFor(CREATE_REPO, { Name: deep }), 'invalid repo name');
  assert.is(messageFor(HEARTBEAT, { Address: 'h', Port: 80, Color: 'blue', Version: deep }), 'Version must be a Debian version');
});

test('JSON pointers become field paths; URLs their parameter names', () => {
  assert.is(fieldOf(''), '');
  assert.is(fieldOf('/Sources/0/Name'), 'Sources[0].Name');
  assert.is(fieldOf('/a~1b/c~0d'), 'a/b.c~d');
  assert.equal(paramNames('/api/repos/:name/copy/:src/:file'), ['name', 'src', 'file']);
  assert.equal(paramNames('/api/graph.:ext'), ['ext']);
  assert.equal(paramNames('/*'), ['*']);
});

test.run();
