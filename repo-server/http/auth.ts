// Authorization by route, denied by default. Every route declares who may call it in its
// route config (`config.access`); one hook reads the *matched route's* config, so no spelling
// of a URL (percent-encoding, absolute-form, `//`, case) can pick a weaker rule than the handler
// it reaches. A route without a declaration is refused. aptly has no auth at all: debpkg needs a
// bearer token for every write, and for reads unless they are opened by configuration.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { ServerConfig } from '../service/context.js';
import type { RouteSchemas } from './schemas/schema.js';

export type Role = 'admin' | 'node' | 'metrics' | 'anonymous';

/**
 * Who may call a route:
 * - `public`: anyone (the apt tree, the archive key, /api/version);
 * - `read`: the admin token, or anyone when reads are open (`--open-reads`);
 * - `unit`: the admin token or a node token (a unit's own register/heartbeat/deregister);
 * - `metrics`: the admin token or the metrics token (`--metrics-token`: a scraper's, nothing else);
 * - `admin`: the admin token only.
 */
export type Access = 'public' | 'read' | 'unit' | 'metrics' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** A body no JSON schema describes (file uploads), for the OpenAPI document. */
    upload?: UploadBody;
  }
}

/** multipart/form-data with file parts, or the raw request body as one file. */
export type UploadBody = 'multipart' | 'raw';

/** Route options declaring access, for `app.get(url, READ, handler)`. */
export const PUBLIC: RouteShorthandOptions = { config: { access: 'public' } };
export const READ: RouteShorthandOptions = { config: { access: 'read' } };
export const UNIT: RouteShorthandOptions = { config: { access: 'unit' } };
export const METRICS: RouteShorthandOptions = { config: { access: 'metrics' } };
export const ADMIN: RouteShorthandOptions = { config: { access: 'admin' } };

/** SHA-256 of each configured token, computed once: every request compares fixed-size digests. */
const digests = new Map<string, Buffer>();
function digestOf(token: string): Buffer {
  let d = digests.get(token);
  if (!d) {
    d = createHash('sha256').update(token).digest();
    if (digests.size > 64) digests.clear();
    digests.set(token, d);
  }
  return d;
}

/** Constant-time (digests of equal length, whatever the token's) comparison with a configured token. */
function same(presented: Buffer, configured: string): boolean {
  return timingSafeEqual(presented, digestOf(configured));
}

/** The caller's role from its Authorization header (a fastify request or a raw node:http one). */
export function roleOf(req: { headers: { authorization?: string | undefined } }, config: ServerConfig): Role {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return 'anonymous';
  // The presented token is hashed once per request (not kept: a client chooses it).
  const token = createHash('sha256').update(m[1]!).digest();
  if (config.adminToken && same(token, config.adminToken)) return 'admin';
  if (config.nodeTokens.some((t) => t !== '' && same(token, t))) return 'node';
  if (config.metricsToken && same(token, config.metricsToken)) return 'metrics';
  return 'anonymous';
}

/** Whether `role` may call a route declared `access` (undefined: not declared → never). */
export function allowed(access: Access | undefined, role: Role, openReads: boolean): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'read':
      return role === 'admin' || openReads;
    case 'unit':
      return role === 'admin' || role === 'node';
    case 'metrics':
      return role === 'admin' || role === 'metrics';
    case 'admin':
      return role === 'admin';
    default:
      return false;
  }
}

/** A request that carries a body (or says it will). */
export function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function deny(req: FastifyRequest, reply: FastifyReply, status: 401 | 403, error: string): Promise<void> {
  // A refused request's body is never read: the answer goes out and the connection is closed
  // (node then stops reading it), so an unauthenticated upload costs nothing but its headers.
  if (hasBody(req)) void reply.header('Connection', 'close');
  if (status === 401) void reply.header('WWW-Authenticate', 'Bearer realm="debpkg"');
  await reply.code(status).send({ error });
}

/** Every route registered on `app` (and its children) with its declared access, for audits. */
export interface RouteAccess {
  method: string;
  url: string;
  access: Access | undefined;
  /** What fastify validates (http/schemas/), for the OpenAPI document. */
  schema: RouteSchemas | undefined;
  upload?: UploadBody | undefined;
}

export function registerAuth(app: FastifyInstance, config: ServerConfig, routes: RouteAccess[] = []): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, access: route.config?.access, schema: route.schema as RouteSchemas | undefined, upload: route.config?.upload });
  });
  app.addHook('onRequest', async (req, reply) => {
    // The not-found handler is no route: nothing to protect, the answer is a 404 either way.
    if (req.is404) return;
    const access = req.routeOptions.config.access;
    const role = roleOf(req, config);
    if (allowed(access, role, config.openReads)) return;
    if (access === undefined) {
      req.log.error({ method: req.method, url: req.routeOptions.url }, 'route has no declared access; refused');
      return deny(req, reply, 403, 'this route declares no access rule and is refused');
    }
    if (role === 'anonymous') return deny(req, reply, 401, 'authentication required: send Authorization: Bearer <token>');
    return deny(req, reply, 403, 'this token may not do that');
  });
}
