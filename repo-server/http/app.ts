// The fastify instance of the repo server and what every request goes through before a route:
// the front that answers small published files before the framework (static/http-front.ts),
// connection timeouts, the error mapping (errors.ts), unrouted requests, the upload parsers,
// the write log, and the access hook (auth.ts). Resources are plugins the server registers.
// Every error answer (a route's, an unknown path, an undecodable URL) goes through `answer`,
// which first settles the request's unread body (drain.ts).

import { createServer } from 'node:http';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config.js';
import { registerAuth, type RouteAccess } from './auth.js';
import { refuseBody } from './drain.js';
import { errorBody } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import { installHttpFront } from './static/http-front.js';
import type { FastStatic } from './static/fast-static.js';
import type { UnitFront } from './unit-front.js';
import { applyServerTimeouts, registerBodyRateFloor } from './timeouts.js';
import { registerValidation } from './validation.js';

export interface HttpAppOptions {
  config: ServerConfig;
  /** The in-memory cache of small published files, answered before the framework. */
  front: FastStatic;
  logger: boolean | object;
  /** Filled with every route and its declared access as plugins register. */
  routes: RouteAccess[];
  /** Times every routed request for /metrics (http/metrics.ts). */
  metrics?: ServerMetrics;
  /** Agents' heartbeats, answered before the framework once the registry is attached. */
  units?: UnitFront;
}

export async function createHttpApp({ config, front, logger, routes, metrics, units }: HttpAppOptions): Promise<FastifyInstance> {
  const answer = async (req: FastifyRequest, reply: FastifyReply, status: number, body: Record<string, unknown>): Promise<FastifyReply> => {
    await refuseBody(req, reply, config);
    return reply.code(status).send(body);
  };
  const app = Fastify({
    // An undecodable URL ('%ff') never reaches a route: answered as an unknown path is.
    frameworkErrors: (err, req, reply) => void answer(req, reply, 400, { error: `bad request: ${err.message}` }),
    // Small published files are answered before the framework sees the request.
    serverFactory: (handler) => {
      // Timeouts (headers, keep-alive) are checked at this interval; node's default is 30 s.
      const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
        if (!front.tryServe(req, res) && !units?.tryServe(req, res)) handler(req, res);
      });
      applyServerTimeouts(server, config.timeouts);
      installHttpFront(server, front);
      return server;
    },
    logger: logger === false ? false : { level: process.env.DEBPKG_LOG_LEVEL ?? 'info', ...(typeof logger === 'object' ? logger : {}) },
    bodyLimit: 16 << 20,
    // Per-request logs would cost more than serving a small file; API writes are logged below.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.setErrorHandler(async (err, req, reply) => {
    const { status, body } = errorBody(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return answer(req, reply, status, body);
  });
  // A token holder's body to no route is read and dropped too (found by the fuzzer: a PUT of
  // 9 MB to /api/files/%ff/x.deb was reset mid-send).
  app.setNotFoundHandler((req, reply) => answer(req, reply, 404, { error: `no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  await app.register(fastifyMultipart, { limits: { fileSize: config.maxUploadBytes, files: 10_000, fields: 100 } });
  app.addHook('onResponse', async (req, reply) => {
    metrics?.observe(req, reply);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'api write');
    }
  });
  // Before any plugin registers, so that every route is seen by the audit list and the access
  // hook, and validates its params, query string and body with the route schemas.
  registerValidation(app);
  registerAuth(app, config, routes);
  registerBodyRateFloor(app, config.timeouts);
  return app;
}
