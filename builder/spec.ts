// Loading a spec: YAML → plain values (scalars kept as written) → ${ENV} expansion →
// JSON-schema validation. Every error names the field path and its line in the file.

import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { SpecError, type FieldPath, type SourcePosition } from './spec-error.js';
import type { Spec } from './spec-types.js';

const SCHEMA_PATH = fileURLToPath(new URL('../../schema/debpkg.schema.json', import.meta.url));

export interface LoadedSpec {
  spec: Spec;
  /** The spec file; relative paths inside the spec are resolved against its directory. */
  file: string;
  baseDir: string;
  /** Turns an error about a field into one that also names its line. */
  locate(error: SpecError): SpecError;
  mtime: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

let validator: ReturnType<Ajv['compile']> | undefined;

function compiledSchema(): ReturnType<Ajv['compile']> {
  if (!validator) {
    const schema: unknown = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false });
    validator = ajv.compile(schema as object);
  }
  return validator;
}

export async function loadSpec(file: string, env: Environment = process.env): Promise<LoadedSpec> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SpecError([], `cannot read spec: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file);
  }
  const mtime = Math.floor((await stat(path)).mtimeMs / 1000);
  return parseSpec(text, file, env, { baseDir: dirname(path), mtime });
}

export function parseSpec(
  text: string,
  file: string,
  env: Environment = process.env,
  opts: { baseDir?: string; mtime?: number } = {},
): LoadedSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positionOf = (path: FieldPath): SourcePosition | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        return lineCounter.linePos(node.range[0]);
      }
    }
    return undefined;
  };
  const locate = (error: SpecError): SpecError => error.locate(file, positionOf(error.path));

  const firstError = doc.errors[0];
  if (firstError) {
    const pos = firstError.linePos?.[0] ?? lineCounter.linePos(firstError.pos[0]);
    throw new SpecError([], `invalid YAML: ${firstError.message.split('\n')[0]}`, file, pos);
  }
  const raw = toPlain(doc, doc.contents, []);
  if (raw === undefined || typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    throw new SpecError([], 'the spec must be a YAML mapping of fields', file);
  }
  const expanded = expandEnv(raw, [], env, locate);
  const validate = compiledSchema();
  if (!validate(expanded)) {
    throw locate(schemaError(validate.errors ?? []));
  }
  return {
    spec: expanded as unknown as Spec,
    file,
    baseDir: opts.baseDir ?? process.cwd(),
    locate,
    mtime: opts.mtime ?? 0,
  };
}

type Plain = string | boolean | Plain[] | { [key: string]: Plain } | undefined;

/** Scalars keep their source text (1.10 stays "1.10", 0644 stays "0644"); null means absent. */
function toPlain(doc: Document, node: unknown, path: FieldPath): Plain {
  if (node === null || node === undefined) return undefined;
  if (isScalar(node)) {
    if (node.value === null) return undefined;
    if (typeof node.value === 'boolean') return node.value;
    if (typeof node.value === 'number' || typeof node.value === 'bigint') {
      return node.source ?? String(node.value);
    }
    return String(node.value);
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => {
      const value = toPlain(doc, item, [...path, i]);
      return value === undefined ? '' : value;
    });
  }
  if (isMap(node)) {
    const out: { [key: string]: Plain } = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = toPlain(doc, pair.value, [...path, key]);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  throw new SpecError(path, 'unsupported YAML node (aliases and tags are not allowed here)');
}

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** nfpm-style ${VAR} expansion; an unset variable without a default is an error, not "". */
export function expandString(value: string, path: FieldPath, env: Environment): string {
  return value.replace(ENV_REF, (match, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const name = braced ?? bare ?? '';
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (found === '') return '';
    throw new SpecError(path, `environment variable ${name} is not set (use \${${name}:-default} for a default)`);
  });
}

function expandEnv(value: Plain, path: FieldPath, env: Environment, locate: (e: SpecError) => SpecError): Plain {
  try {
    if (typeof value === 'string') return expandString(value, path, env);
  } catch (err) {
    throw err instanceof SpecError ? locate(err) : err;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, [...path, i], env, locate));
  if (value && typeof value === 'object') {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, [...path, k], env, locate);
    return out;
  }
  return value;
}

/** Picks the most useful schema error and words it for a person. */
function schemaError(errors: ErrorObject[]): SpecError {
  const rank = (e: ErrorObject): number =>
    e.keyword === 'additionalProperties' ? 0 : e.keyword === 'required' ? 1 : e.keyword === 'enum' ? 2 : 3;
  const sorted = [...errors].sort((a, b) => rank(a) - rank(b));
  const e = sorted[0];
  if (!e) return new SpecError([], 'invalid spec');
  const path: (string | number)[] = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return new SpecError([...path, String(params.additionalProperty)], 'unknown field');
    case 'required':
      return new SpecError([...path, String(params.missingProperty)], 'is required');
    case 'enum':
      return new SpecError(path, `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'const':
      return new SpecError(path, `must be ${String(params.allowedValue)}`);
    case 'pattern':
      return new SpecError(path, `has an invalid value (expected ${describePattern(path)})`);
    case 'type':
      return new SpecError(path, `must be ${params.type === 'array' ? 'a list' : params.type === 'object' ? 'a mapping' : `a ${String(params.type)}`}`);
    default:
      return new SpecError(path, e.message ?? 'is invalid');
  }
}

function describePattern(path: FieldPath): string {
  const last = path[path.length - 1];
  switch (last) {
    case 'mode':
      return 'octal permission bits like 0644';
    case 'compression':
      return 'gzip, xz, zstd (optionally :LEVEL) or none';
    case 'epoch':
      return 'a non-negative integer';
    case 'owner':
    case 'group':
      return 'a user/group name or numeric id';
    case 'name':
      return 'a systemd unit name like app.service';
    case 'service':
      return 'a registry service name: lowercase letters, digits and -, at most 63 characters';
    case 'port':
      return 'a TCP port 1-65535';
    case 'weight':
      return 'a whole number 1-256';
    case 'interval':
    case 'timeout':
      return 'a duration like 2s, 1.5s or 500ms';
    case 'path':
      return 'an absolute URL path of A-Z a-z 0-9 . _ ~ / - (no query string)';
    default:
      return 'a different format';
  }
}
