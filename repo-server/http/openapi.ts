// GET /api/openapi.json: an OpenAPI 3.0 description generated from the routes the server
// actually registered (auth.ts's onRoute list: method, pattern, declared access, schemas), so
// it cannot drift from them. Parameters, query strings and request bodies are the very schemas
// fastify validates requests with (schemas/, validation.ts); security comes from the access;
// answers are schemas/responses.ts's, whose shapes are the wire types' own schemas (each a
// named component, so a generated client gets a named type: Repo, PublishedRepo, SwapRecord…).

import type { FastifyPluginAsync } from 'fastify';
import type { Access, RouteAccess, UploadBody } from './auth.js';
import * as aptlyAnswers from './schemas/answers.js';
import * as colorAnswers from './schemas/color-answers.js';
import { responsesOf } from './schemas/responses.js';
import type { Schema } from './schemas/schema.js';
import { READ } from './auth.js';

type Json = Record<string, unknown>;

export interface OpenApiOptions {
  routes: RouteAccess[];
  version: string;
}

/** fastify's `/a/:b/*` as an OpenAPI template `/a/{b}/{path}`, with the parameter names. */
export function templateOf(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg === '*') {
        params.push('path');
        return '{path}';
      }
      // Parameters may sit inside a segment (`:name.:ext`); a regex suffix is not used by debpkg.
      return seg.replace(/:([A-Za-z_]\w*)/g, (_m, name: string) => {
        params.push(name);
        return `{${name}}`;
      });
    })
    .join('/');
  return { path: path === '' ? '/' : path, params };
}

const SECURITY: Record<Access, Json[] | undefined> = {
  public: [],
  // Open to anyone when the server runs with --open-reads; the token is accepted either way.
  read: [{ adminToken: [] }, {}],
  unit: [{ adminToken: [] }, { nodeToken: [] }],
  metrics: [{ adminToken: [] }, { metricsToken: [] }],
  admin: [{ adminToken: [] }],
};

const ERROR_RESPONSE = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

/** Every exported answer schema, by component name: REPO → Repo, PUBLISHED_REPO → PublishedRepo. */
const COMPONENTS = new Map<Schema, string>(
  Object.entries({ ...aptlyAnswers, ...colorAnswers }).map(([name, schema]) => [schema, name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase())]),
);

/** A schema with each named answer shape inside it as a $ref to its component (`top` itself excepted). */
function withRefs(s: Schema, top?: Schema): Json {
  const name = s === top ? undefined : COMPONENTS.get(s);
  if (name) return { $ref: `#/components/schemas/${name}` };
  const out: Json = { ...s };
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, withRefs(v)]));
  if (s.items) out.items = withRefs(s.items);
  if (typeof s.additionalProperties === 'object') out.additionalProperties = withRefs(s.additionalProperties);
  if (s.anyOf) out.anyOf = s.anyOf.map((x) => withRefs(x));
  return out;
}

/** A route's answers by status, then the error every route may answer. */
function responsesFor(r: RouteAccess): Json {
  const out: Json = {};
  for (const [code, a] of Object.entries(responsesOf(r.method, r.url) ?? {})) {
    const content: Json = {};
    if (a.json) content['application/json'] = { schema: withRefs(a.json) };
    for (const [type, schema] of Object.entries(a.media ?? {})) content[type] = { schema: withRefs(schema) };
    out[code] = { description: a.description, ...(Object.keys(content).length > 0 ? { content } : {}) };
  }
  if (r.access !== 'public') Object.assign(out, { '401': ERROR_RESPONSE, '403': ERROR_RESPONSE });
  out.default = ERROR_RESPONSE;
  return out;
}

/** A path parameter with the schema it is validated with (`*` is named `path`). */
function pathParameter(r: RouteAccess, name: string): Json {
  const schema: Schema = r.schema?.params?.properties?.[name === 'path' ? '*' : name] ?? r.schema?.params?.properties?.[name] ?? { type: 'string' };
  return { name, in: 'path', required: true, ...(schema.description ? { description: schema.description } : {}), schema };
}

/** The query string fields a route's schema names (every one optional; others are ignored). */
function queryParameters(r: RouteAccess): Json[] {
  const q = r.schema?.querystring;
  return Object.entries(q?.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: q?.required?.includes(name) ?? false,
    ...(schema.description ? { description: schema.description } : {}),
    schema,
  }));
}

/** File uploads: streamed to the upload directory, never parsed as JSON. */
const UPLOAD_BODY: Record<UploadBody, Json> = {
  multipart: {
    required: true,
    description: 'one or more file parts; each part\'s file name (a plain name, no path) names the stored file',
    content: { 'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } } } } },
  },
  raw: {
    required: true,
    description: 'the file itself, stored under the name in the path (any content type)',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  },
};

function operation(r: RouteAccess, params: string[]): Json {
  const access = r.access;
  const tag = r.url.startsWith('/api/') ? r.url.split('/')[2]! : r.url === '/metrics' ? 'metrics' : r.url.startsWith('/ui') ? 'ui' : 'published tree';
  const op: Json = {
    operationId: `${r.method.toLowerCase()}${templateOf(r.url).path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: `${r.method} ${r.url}`,
    tags: [tag],
    'x-debpkg-access': access ?? 'undeclared (refused)',
    security: access ? SECURITY[access] : [{ adminToken: [] }],
    parameters: [...params.map((name) => pathParameter(r, name)), ...queryParameters(r)],
    responses: responsesFor(r),
  };
  const body = r.schema?.body;
  if (r.upload) op.requestBody = UPLOAD_BODY[r.upload];
  else if (body) {
    op.requestBody = {
      required: (body.required?.length ?? 0) > 0 || body.type === 'array',
      content: { 'application/json': { schema: body, ...(body.example !== undefined ? { example: body.example } : {}) } },
    };
  }
  return op;
}

export function openApiDocument({ routes, version }: OpenApiOptions): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const { path, params } = templateOf(r.url);
    const method = r.method.toLowerCase();
    // OpenAPI has no operation for these; fastify registers none of them in debpkg.
    if (!['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'].includes(method)) continue;
    const item = (paths[path] ??= {});
    item[method] = operation(r, params);
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'debpkg repo server',
      version,
      description: 'aptly-compatible repository API, color-group registry and swaps, metrics. Generated from the registered routes.',
    },
    servers: [{ url: '/' }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token (<data>/admin.token or $DEBPKG_ADMIN_TOKEN)' },
        nodeToken: { type: 'http', scheme: 'bearer', description: 'a node token: unit register/heartbeat/deregister only' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'the metrics token (--metrics-token): GET /metrics only' },
      },
      schemas: Object.fromEntries([...COMPONENTS].map(([schema, name]) => [name, withRefs(schema, schema)]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
    },
  };
}

/** Registered with prefix /api, after every other plugin (the document is built per request). */
export const openApiPlugin: FastifyPluginAsync<OpenApiOptions> = async (app, options) => {
  app.get('/openapi.json', READ, async () => openApiDocument(options));
};
