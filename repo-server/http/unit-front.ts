// The heartbeat fast path. At fleet scale (10,000 units beating every 2 s: 5,000 requests a
// second) the framework's per-request work — hooks, the content-type parser's stream plumbing,
// reply serialization, a write log line per PUT — cost more than the heartbeat itself (profile in
// docs/benchmarks.md), so an agent's well-formed heartbeat is answered here, on node:http's
// request, before fastify sees it.
//
// Only the plain shape is taken: PUT /api/units/<svc>/<node> with names already valid (no
// percent-encoding, no query), a node or admin token, `Content-Type: application/json` and a
// Content-Length under 16 KiB, no Expect. Anything else (a refused token, a chunked body, an odd
// name) goes to fastify untouched, which answers it as before. Once taken, the body is parsed by
// fastify's own JSON parser, validated against the route's own schema with the same compiler and
// error wording (validation.ts), checked by the route's own code (units.ts) and errors are answered
// through the same mapping (errors.ts); the request is counted in /metrics and /api/metrics as
// the route's. Successful heartbeats are not logged (5,000 lines a second); errors are.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { ColorRegistry } from '../colors/registry-api.js';
import type { ServerConfig } from '../config.js';
import type { AptlyMetrics } from './aptly-metrics.js';
import { roleOf } from './auth.js';
import { errorBody } from './errors.js';
import { UNIT_ROUTE, type ServerMetrics } from './metrics.js';
import { heartbeat } from './units.js';
import { HEARTBEAT } from './schemas/colors.js';
import { schemaErrorFormatter, validatorCompiler } from './validation.js';

const PATH = /^\/api\/units\/([a-z0-9][a-z0-9-]{0,62})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
const JSON_TYPE = /^application\/json\s*(;\s*charset=utf-8\s*)?$/i;
const MAX_BODY = 16 << 10;
const APTLY_PATH = '/api/units';
/** The route's body schema, compiled as fastify compiles it for the route. */
const checkBody = validatorCompiler()({ schema: HEARTBEAT, method: 'PUT', url: '/api/units/:service/:node', httpPart: 'body' });

/** Throws what fastify would answer for a body its schema refuses. */
function validate(body: unknown): void {
  if (checkBody(body) === true) return;
  const errors = (checkBody as { errors?: Parameters<typeof schemaErrorFormatter>[0] | null }).errors ?? [];
  throw schemaErrorFormatter(errors, 'body');
}

/** fastify's default JSON parser (`app.getDefaultJsonParser`), called without a request. */
export type JsonParser = (req: never, body: string, done: (err: Error | null, value?: unknown) => void) => void;

export interface UnitFrontParts {
  registry: ColorRegistry;
  /** `app.getDefaultJsonParser('error', 'error')`: the route's own parser. */
  parse: JsonParser;
  log: FastifyBaseLogger;
  metrics?: ServerMetrics;
  aptly?: AptlyMetrics;
}

export class UnitFront {
  private parts: UnitFrontParts | undefined;

  constructor(private readonly config: ServerConfig) {}

  /** The registry opens after the HTTP app: until then every request goes to fastify. */
  attach(parts: UnitFrontParts): void {
    this.parts = parts;
  }

  detach(): void {
    this.parts = undefined;
  }

  /** Takes the request (true) or leaves it to fastify (false, nothing read). */
  tryServe(req: IncomingMessage, res: ServerResponse): boolean {
    const parts = this.parts;
    if (!parts || req.method !== 'PUT' || !req.url?.startsWith('/api/units/')) return false;
    const m = PATH.exec(req.url);
    if (!m) return false;
    const h = req.headers;
    const type = h['content-type'];
    const length = h['content-length'];
    if (type === undefined || !JSON_TYPE.test(type) || length === undefined || !/^[0-9]{1,5}$/.test(length) || Number(length) > MAX_BODY) return false;
    if (h['transfer-encoding'] !== undefined || h.expect !== undefined) return false;
    const role = roleOf(req, this.config);
    if (role !== 'admin' && role !== 'node') return false;
    void this.serve(parts, req, res, m[1]!, m[2]!, Number(length));
    return true;
  }

  private async serve(parts: UnitFrontParts, req: IncomingMessage, res: ServerResponse, service: string, node: string, length: number): Promise<void> {
    const started = performance.now();
    parts.aptly?.inFlightDelta('PUT', APTLY_PATH, 1);
    let status = 200;
    let out: unknown;
    let color: string | undefined;
    try {
      const text = await readBody(req, length);
      const body = await new Promise<unknown>((resolve, reject) => parts.parse(undefined as never, text, (err, value) => (err ? reject(err) : resolve(value))));
      if (body !== null && typeof body === 'object' && typeof (body as { Color?: unknown }).Color === 'string') color = (body as { Color: string }).Color;
      validate(body);
      out = await heartbeat(parts.registry, service, node, body);
    } catch (err) {
      const e = errorBody(err);
      status = e.status;
      out = e.body;
      if (status >= 500) parts.log.error({ err }, 'request failed');
    }
    const payload = JSON.stringify(out);
    if (!res.destroyed) {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    }
    const seconds = (performance.now() - started) / 1000;
    if (status !== 200) parts.log.info({ method: 'PUT', url: req.url, status, ms: Math.round(seconds * 1000) }, 'api write');
    parts.metrics?.request('PUT', UNIT_ROUTE, status, seconds, service, color);
    parts.aptly?.inFlightDelta('PUT', APTLY_PATH, -1);
    parts.aptly?.answered('PUT', APTLY_PATH, status, length, Buffer.byteLength(payload), seconds);
  }
}

/** The whole body (Content-Length bytes, checked by the caller to be small). */
function readBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    req.on('data', (c: Buffer) => {
      got += c.length;
      chunks.push(c);
    });
    req.on('end', () => (got === length ? resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')) : reject(Object.assign(new Error('request body ended early'), { statusCode: 400 }))));
    req.on('error', reject);
  });
}
