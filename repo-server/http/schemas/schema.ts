// The route schemas' vocabulary: the subset of JSON Schema that is at once what Ajv validates
// (http/validation.ts) and an OpenAPI 3.0 Schema Object (http/openapi.ts publishes them as
// they are), so the document and the checks cannot drift. Two annotations of our own carry
// the API's error wording: `x-error` (what a bad value is told, with {field} and {value}) and
// `x-what` (the name a closed object's errors start with: "unit: unknown field Foo").

import type { RouteShorthandOptions } from 'fastify';

export type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface Schema {
  type?: JsonType;
  /** OpenAPI 3.0's way (and Ajv's) to also take null: aptly's decoders read null as absent. */
  nullable?: boolean;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  /** false: a field not listed is refused (color-group bodies); aptly's bodies stay open. A schema: a map's values (answers). */
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  enum?: readonly (string | number | boolean)[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  anyOf?: Schema[];
  /** Answers only: `binary` for a file's bytes. */
  format?: string;
  example?: unknown;
  'x-error'?: string;
  'x-what'?: string;
}

/** What a route declares besides its access: the parts fastify validates. */
export interface RouteSchemas {
  params?: Schema;
  querystring?: Schema;
  body?: Schema;
}

/** The route options of `access` (auth.ts's READ, ADMIN…) with these schemas. */
export function withSchema(access: RouteShorthandOptions, schema: RouteSchemas): RouteShorthandOptions {
  return { ...access, schema };
}

export const str = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
/** A string field that may be null or absent (read as empty: wire/decode.ts's text). */
export const optStr = (description?: string, extra: Schema = {}): Schema => str(description, { nullable: true, ...extra });
/** A true/false field that may be null or absent. */
export const optBool = (description?: string): Schema => ({ type: 'boolean', nullable: true, ...(description ? { description } : {}) });
export const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
export const strList = (description?: string, extra: Schema = {}): Schema => ({ type: 'array', items: { type: 'string' }, ...(description ? { description } : {}), ...extra });
export const int = (minimum: number, maximum: number, description?: string): Schema => ({ type: 'integer', minimum, maximum, ...(description ? { description } : {}) });

/** A JSON object body with these fields; `closed` refuses any other. */
export function object(properties: Record<string, Schema>, options: { required?: string[]; closed?: boolean; what?: string; example?: unknown; description?: string } = {}): Schema {
  return {
    type: 'object',
    ...(options.description ? { description: options.description } : {}),
    properties,
    ...(options.required && options.required.length > 0 ? { required: options.required } : {}),
    additionalProperties: !options.closed,
    ...(options.what ? { 'x-what': options.what } : {}),
    ...(options.example !== undefined ? { example: options.example } : {}),
  };
}

/**
 * A query string: these fields, each a string, and any other field allowed (aptly's clients
 * send what they like; gin ignores unknown keys).
 */
export function queryOf(fields: Record<string, string | Schema>): Schema {
  const properties: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(fields)) properties[k] = typeof v === 'string' ? str(v) : v;
  return { type: 'object', properties, additionalProperties: true };
}

/** aptly's boolean query flags ("1"/"true"; see request.ts's flag). */
export const queryFlag = (description: string): Schema => str(`${description} (1 or true)`);

/**
 * aptly's `?_async`: present means a background task unless n/no/f/false/0/off; Python clients
 * may send it twice, so a list is taken too (the last one counts, respond.ts).
 */
export const ASYNC: Schema = {
  description: 'run as a background task and answer 202 with the task (aptly)',
  anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
};

/** The query string of a write that can run as a task: `_async` plus `fields`. */
export const asyncQuery = (fields: Record<string, string | Schema> = {}): Schema => queryOf({ _async: ASYNC, ...fields });

/** A path parameter with its check (a pattern, or only a string). */
export function paramsOf(fields: Record<string, Schema>): Schema {
  return { type: 'object', properties: fields, required: Object.keys(fields), additionalProperties: false };
}
