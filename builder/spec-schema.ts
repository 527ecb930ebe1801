// The spec's JSON-schema validator. Compiling the schema with Ajv costs more CPU than the rest
// of a small build's start-up (docs/benchmarks.md, issue 18), so `npm run build` writes Ajv's
// standalone code for it (builder/write-spec-validator.ts) and a build only requires that file.
// It is used only when it was generated from the schema as it is now (digest in the file);
// otherwise — a plain `tsc` build, or the schema edited since — Ajv compiles the schema here.
// Both are the same generated function, so the errors (and every message) are the same.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';

const require = createRequire(import.meta.url);

export const SCHEMA_PATH = fileURLToPath(new URL('../../schema/debpkg.schema.json', import.meta.url));
/** Written by `npm run build` next to this module's compiled file. */
export const STANDALONE_PATH = fileURLToPath(new URL('./spec-validator.cjs', import.meta.url));

/** Ajv's validate function: a type guard with the errors of the last call. */
export interface SpecValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

interface StandaloneModule {
  default: SpecValidator;
  schemaDigest: string;
}

/** The options the standalone code is generated with and the fallback compiles with. */
export const AJV_OPTIONS = { allErrors: true, strict: true, useDefaults: false } as const;

export function schemaDigest(schemaText: string): string {
  return createHash('sha256').update(schemaText).digest('hex');
}

let validator: SpecValidator | undefined;
let usedStandalone = false;

function standalone(digest: string): SpecValidator | undefined {
  let mod: StandaloneModule;
  try {
    mod = require(STANDALONE_PATH) as StandaloneModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
  return mod.schemaDigest === digest ? mod.default : undefined;
}

function compile(schemaText: string): SpecValidator {
  // Ajv is CommonJS: required here, so a build with the standalone validator never loads it.
  const { Ajv } = require('ajv') as typeof import('ajv');
  return new Ajv(AJV_OPTIONS).compile(JSON.parse(schemaText) as object);
}

export function specValidator(): SpecValidator {
  if (!validator) {
    const text = readFileSync(SCHEMA_PATH, 'utf8');
    const pre = standalone(schemaDigest(text));
    usedStandalone = pre !== undefined;
    validator = pre ?? compile(text);
  }
  return validator;
}

/** Whether specValidator() came from the build-time file (for the test that it is used). */
export function validatorIsStandalone(): boolean {
  specValidator();
  return usedStandalone;
}
