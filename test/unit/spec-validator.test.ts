// The spec validator a build uses is the standalone code `npm run build` wrote from the schema
// (builder/spec-schema.ts), and it reports exactly what Ajv compiling the schema reports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { AJV_OPTIONS, SCHEMA_PATH, STANDALONE_PATH, specValidator, validatorIsStandalone } from '../../builder/spec-schema.js';
import { standaloneCode } from '../../builder/write-spec-validator.js';

const schemaText = readFileSync(SCHEMA_PATH, 'utf8');

test('the build wrote the standalone validator from the schema as it is, and specValidator() uses it', () => {
  assert.is(readFileSync(STANDALONE_PATH, 'utf8'), standaloneCode(schemaText), 'dist/builder/spec-validator.cjs is stale: npm run build');
  assert.ok(validatorIsStandalone());
});

test('standalone and compiled validators give the same verdicts and errors', () => {
  const compiled = new Ajv(AJV_OPTIONS).compile(JSON.parse(schemaText) as object);
  const standalone = specValidator();
  const cases: unknown[] = [
    { name: 'ok', version: '1.0', arch: 'all', maintainer: 'A <a@example.org>', description: 'd' },
    { name: 'x', version: 1, contents: [{ src: 'a', dst: '/a', type: 'bogus' }], unknown_field: true },
    { name: 'x', version: '1', deb: { compression: 7, signature: { method: [] } }, depends: 'not a list' },
    { contents: 'nope', overrides: { deb: { depends: [1] } }, rpm: { bogus: 1 } },
    [],
    'text',
  ];
  for (const data of cases) {
    const a = compiled(data);
    const b = standalone(data);
    assert.is(b, a, JSON.stringify(data));
    assert.equal(standalone.errors ?? null, compiled.errors ?? null, JSON.stringify(data));
  }
});

test.run();
