// fastify validates params, query strings and JSON bodies against the route schemas
// (schemas/) with this Ajv set-up, and its failures answer in the API's own words: a 400
// `{"error": "…"}` naming the field, as the hand-written checks behind the schemas do.
// Ajv here never coerces ("5" stays a string, 5 is not a name), never fills defaults and never
// strips fields: the handler sees the body the client sent, only checked.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { Invalid } from '../model/errors.js';
import { shown } from '../service/names.js';
import { paramsOf, type RouteSchemas, type Schema } from './schemas/schema.js';

/** One Ajv for every route: compiled schemas are cached by the schema object. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false, verbose: true, strict: true });
  // Annotations the OpenAPI document carries; they check nothing.
  for (const keyword of ['example', 'x-error', 'x-what']) ajv.addKeyword(keyword);
  return ajv;
}

/**
 * fastify's validatorCompiler. A JSON body that is absent (or `null`) is checked as `{}`, as
 * the decoders read it (wire/decode.ts objectBody): a missing required field is named, not the
 * missing body.
 */
export function validatorCompiler(ajv: Ajv = createAjv()): FastifySchemaCompiler<Schema> {
  return ({ schema, httpPart }) => {
    const check: ValidateFunction = ajv.compile(schema);
    if (httpPart !== 'body') return check;
    const wrapped = (data: unknown): boolean => {
      // A body some other parser made (a stream of application/octet-stream) is no JSON value.
      if (typeof data === 'object' && data !== null && !Array.isArray(data) && Object.getPrototypeOf(data) !== Object.prototype) {
        wrapped.errors = [{ keyword: 'type', instancePath: '', schemaPath: '#/type', params: { type: schema.type }, parentSchema: schema, schema: schema.type, data: undefined }];
        return false;
      }
      const ok = check(data === null || data === undefined ? {} : data);
      wrapped.errors = check.errors;
      return ok;
    };
    wrapped.errors = null as ValidateFunction['errors'];
    return wrapped;
  };
}

/** JSON pointer `/Sources/0/Name` → `Sources[0].Name`. */
export function fieldOf(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Only scalars are quoted back (a nested value is never stringified: it may be deep). */
function valueOf(data: unknown): string {
  if (typeof data === 'string') return shown(data);
  if (typeof data === 'number' || typeof data === 'boolean' || data === null) return String(data);
  return Array.isArray(data) ? 'a list' : 'an object';
}

const KIND: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  integer: 'an integer',
  number: 'a number',
  array: 'a list',
  object: 'an object',
};

function kindOf(s: Schema): string {
  if (s.type === 'array' && s.items?.type === 'string') return 'a list of strings';
  if ((s.type === 'integer' || s.type === 'number') && s.minimum !== undefined && s.maximum !== undefined) return `${KIND[s.type]} ${s.minimum}-${s.maximum}`;
  if (s.enum) return `one of ${s.enum.join(', ')}`;
  return s.type ? (KIND[s.type] ?? s.type) : 'valid';
}

function fill(template: string, field: string, data: unknown): string {
  return template.replace(/\{field\}/g, field).replace(/\{value\}/g, valueOf(data));
}

/** How a message names the part fastify validates, and a field of it. */
const PART: Record<string, [root: string, fieldPrefix: string]> = {
  body: ['request body', ''],
  querystring: ['query string', 'query parameter '],
  params: ['path', 'path parameter '],
  headers: ['headers', 'header '],
};

/** The message of the first error Ajv reports. */
export function messageOf(e: ErrorObject, part: string): string {
  const [root, prefix] = PART[part] ?? [part, ''];
  const field = fieldOf(e.instancePath);
  const named = field === '' ? root : `${prefix}${field}`;
  const s = (e.parentSchema ?? {}) as Schema;
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty?: string }).missingProperty);
    const sub = s.properties?.[missing];
    const name = `${prefix}${fieldOf(`${e.instancePath}/${missing}`)}`;
    return sub?.['x-error'] ? fill(sub['x-error'], name, undefined) : `${name} is required`;
  }
  if (e.keyword === 'additionalProperties') {
    const known = Object.keys(s.properties ?? {});
    const data = e.data as Record<string, unknown>;
    const unknown = Object.keys(data).filter((k) => !known.includes(k)).map((k) => shown(k));
    const what = s['x-what'] ?? named;
    return `${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', …' : ''}`;
  }
  if (s['x-error']) return fill(s['x-error'], named, e.data);
  if (e.keyword === 'type' && field === '' && s.type === 'object') return s['x-what'] ? `${s['x-what']}: body must be a JSON object` : `${root} must be a JSON object`;
  switch (e.keyword) {
    case 'pattern':
      return `${named}: '${valueOf(e.data)}' must match ${s.pattern}`;
    case 'minItems':
      return `${named} must list at least ${s.minItems}`;
    case 'maxItems':
      return `${named} must list at most ${s.maxItems}`;
    case 'maxLength':
      return `${named} must be at most ${s.maxLength} characters`;
    case 'minLength':
      return `${named} must be at least ${s.minLength} characters`;
    default:
      return `${named} must be ${kindOf(s)}`;
  }
}

/** fastify's schemaErrorFormatter: an Invalid, answered 400 by errors.ts like any other. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  // A failed anyOf comes after its branches' errors: its own message says what would do.
  const first = (errors.find((e) => e.keyword === 'anyOf') ?? errors[0]) as ErrorObject | undefined;
  return new Invalid(first ? messageOf(first, dataVar) : `invalid ${dataVar}`);
}

/** The path parameters of a fastify URL (`/a/:b/:c.:d`, `*`), in order. */
export function paramNames(url: string): string[] {
  const names: string[] = [];
  for (const seg of url.split('/')) {
    if (seg === '*') names.push('*');
    else for (const m of seg.matchAll(/:([A-Za-z_]\w*)/g)) names.push(m[1]!);
  }
  return names;
}

/**
 * Every route validates with `ajv` and answers failures in our words; a route that declares no
 * params schema gets one from its URL (each parameter a string), so each is documented.
 */
export function registerValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler());
  app.setSchemaErrorFormatter(schemaErrorFormatter);
  app.addHook('onRoute', (route) => {
    const names = paramNames(route.url);
    if (names.length === 0) return;
    const schema = (route.schema ??= {}) as RouteSchemas;
    schema.params ??= paramsOf(Object.fromEntries(names.map((n) => [n, { type: 'string' } satisfies Schema])));
  });
}
