// The repo server: aptly-compatible API + signed, client-consistent publishing + static
// serving of the published tree. One process, embedded storage under the data directory.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { FastStatic, type BlobSource } from './api/fast-static.js';
import { installHttpFront } from './api/http-front.js';
import { hashEtag } from './api/conditional.js';
import { resolvePoolBlob, sendPoolBlob } from './api/pool-files.js';
import { sendRanged } from './api/ranged.js';
import { splicedFile } from './api/spliced.js';
import { SPLICE_SUFFIX } from './publish/spliced-files.js';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import { hasBody, PUBLIC, registerAuth, roleOf, type RouteAccess } from './api/auth.js';
import { drainRequest } from './api/drain.js';
import { applyServerTimeouts, DEFAULT_TIMEOUTS, registerBodyRateFloor } from './api/timeouts.js';
import { errorBody } from './http/errors.js';
import { registerRoutes } from './api/routes.js';
import { answerSources, registerPublicFiles } from './api/public-files.js';
import { loadOrCreateSigningKey } from './pgp/signer.js';
import { Publisher, type PublishedPool } from './publish/publisher.js';
import { Inspections } from './packages/inspections.js';
import { collectAtStartup } from './service/blob-gc.js';
import { migrateLegacyLayout } from './service/legacy.js';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { KeyedMutex, Mutex } from '../lib/concurrency.js';
import { BlobStore } from './storage/blobs.js';
import { Store } from './storage/store.js';
import type { Context, ServerConfig } from './service/context.js';
import { unpackLimits } from './service/context.js';
import { DEFAULT_UNPACK_LIMITS } from '../deb/unpack-limits.js';
import { Tasks } from './service/tasks.js';
import { openColorGroups, type ColorGroups } from './colors/color-groups.js';
import { DEFAULT_COLOR_CONFIG } from './config.js';
import { registerColorRoutes } from './http/colors.js';

export type { ServerConfig } from './service/context.js';

export type ServerOverrides = Partial<Omit<ServerConfig, 'color' | 'timeouts'>> & {
  color?: Partial<ServerConfig['color']>;
  timeouts?: Partial<ServerConfig['timeouts']>;
};

export function defaultConfig(overrides: ServerOverrides = {}): ServerConfig {
  return {
    dataDir: process.env.DEBPKG_DATA ?? './var',
    host: '127.0.0.1',
    port: 8080,
    adminToken: '',
    nodeTokens: [],
    openReads: false,
    maxUploadBytes: 2 * 1024 ** 3,
    keepGenerations: 5,
    keepSeconds: 600,
    defaultArchitectures: ['amd64', 'arm64'],
    compressXz: true,
    maxUnpackedBytes: DEFAULT_UNPACK_LIMITS.maxUnpacked,
    maxUnpackRatio: DEFAULT_UNPACK_LIMITS.maxRatio,
    unpackRatioFloorBytes: DEFAULT_UNPACK_LIMITS.ratioFloor,
    ...overrides,
    color: { ...DEFAULT_COLOR_CONFIG, ...overrides.color },
    timeouts: { ...DEFAULT_TIMEOUTS, ...overrides.timeouts },
  };
}

/** $DEBPKG_ADMIN_TOKEN, else <data>/admin.token (created 0600 on first start). */
export function adminToken(dataDir: string, fromEnv = process.env.DEBPKG_ADMIN_TOKEN): Promise<string> {
  return tokenFile(dataDir, 'admin.token', fromEnv);
}

/** Node tokens (register/heartbeat only): $DEBPKG_NODE_TOKEN (comma-separated), else <data>/node.token. */
export async function nodeTokens(dataDir: string, fromEnv = process.env.DEBPKG_NODE_TOKEN): Promise<string[]> {
  if (fromEnv) return fromEnv.split(',').map((t) => t.trim()).filter(Boolean);
  return [await tokenFile(dataDir, 'node.token', undefined)];
}

async function tokenFile(dataDir: string, name: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const path = join(dataDir, name);
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const token = randomBytes(24).toString('base64url');
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}

export interface RepoServer {
  app: FastifyInstance;
  context: Context;
  /** Every registered route with its declared access (complete once `app.ready()` resolved). */
  routes: RouteAccess[];
  colors: ColorGroups;
  close(): Promise<void>;
}

export async function createRepoServer(partial: ServerOverrides & { logger?: boolean | object } = {}): Promise<RepoServer> {
  const { logger = true, ...rest } = partial;
  const config = defaultConfig(rest);
  const data = resolve(config.dataDir);
  config.dataDir = data;
  for (const d of ['db', 'public', 'generations', 'keys']) await mkdir(join(data, d), { recursive: true });
  if (!config.adminToken) config.adminToken = await adminToken(data);
  if (config.nodeTokens.length === 0) config.nodeTokens = await nodeTokens(data);
  const signer = await loadOrCreateSigningKey(join(data, 'keys'), { name: 'debpkg archive signing key' });
  const store = await Store.open(join(data, 'db'));
  const blobs = new BlobStore(data);
  await blobs.init();
  await migrateLegacyLayout(store, blobs, data);
  await collectAtStartup(store, blobs);
  const writes = new Mutex();
  const publishedPool: PublishedPool = {
    get: (prefix, path) => store.publishedPool.get(prefix)?.get(path),
    add: (prefix, files) => writes.run(() => store.commit([{ op: 'pool-pub', prefix, files }])),
  };
  const publicDir = join(data, 'public');
  const generationsDir = join(data, 'generations');
  const publisher = new Publisher(publicDir, generationsDir, publishedPool, signer, {
    keepGenerations: config.keepGenerations,
    keepSeconds: config.keepSeconds,
    defaultArchitectures: config.defaultArchitectures,
    compressXz: config.compressXz,
  });

  const blobSource: BlobSource = {
    resolve: (path) => {
      const b = resolvePoolBlob(store, path);
      if (!b) return undefined;
      return {
        key: `blob:${b.sha256}`,
        size: b.loc.size,
        etag: hashEtag(b.sha256),
        mtimeMs: blobs.mtimeSync(b.sha256, b.loc).getTime(),
        read: () => blobs.readSync(b.sha256, b.loc),
      };
    },
  };
  // Requests no route takes (unknown path, undecodable URL) are answered like refused uploads: a
  // token holder still sending a body gets it read and dropped first (found by the fuzzer: a PUT
  // of 9 MB to /api/files/%ff/x.deb was reset mid-send), anyone else is answered and closed.
  const answerUnrouted = async (req: FastifyRequest, reply: FastifyReply, status: number, error: string): Promise<void> => {
    if (hasBody(req)) {
      if (roleOf(req, config) === 'anonymous') void reply.header('Connection', 'close');
      else await drainRequest(req.raw, config.maxUploadBytes);
    }
    await reply.code(status).send({ error });
  };
  const fast = new FastStatic(publicDir, { maxFileBytes: 8 << 20, maxCacheBytes: 256 << 20, generationsDir }, blobSource);
  const app = Fastify({
    // An undecodable URL ('%ff') never reaches a route: answered as unrouted (below) does.
    frameworkErrors: (err, req, reply) => void answerUnrouted(req, reply, 400, `bad request: ${err.message}`),
    // Small published files are answered before the framework sees the request.
    serverFactory: (handler) => {
      // Timeouts (headers, keep-alive) are checked at this interval; node's default is 30 s.
      const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
        if (!fast.tryServe(req, res)) handler(req, res);
      });
      applyServerTimeouts(server, config.timeouts);
      installHttpFront(server, fast);
      return server;
    },
    logger: logger === false ? false : { level: process.env.DEBPKG_LOG_LEVEL ?? 'info', ...(typeof logger === 'object' ? logger : {}) },
    bodyLimit: 16 << 20,
    // Per-request logs would cost more than serving a small file; API writes are logged below.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const inspections = new Inspections({ limits: unpackLimits(config) });
  const context: Context = {
    config,
    store,
    blobs,
    inspections,
    publisher,
    signer,
    writes,
    publishLocks: new KeyedMutex(),
    publicDir,
    log: app.log,
  };
  const tasks = new Tasks();

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorBody(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => answerUnrouted(req, reply, 404, `no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`));
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  await app.register(fastifyMultipart, { limits: { fileSize: config.maxUploadBytes, files: 10_000, fields: 100 } });
  app.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'api write');
    }
  });
  // First, so that every route registered below is seen by the audit list and the access hook.
  const routes: RouteAccess[] = [];
  registerAuth(app, config, routes);
  registerBodyRateFloor(app, config.timeouts);
  registerRoutes(app, context, tasks);
  const colors = await openColorGroups(data, config.color, app.log, undefined, config.etcd);
  registerColorRoutes(app, colors, config);
  // serve: false + one catch-all route: the plugin's own wildcard route reads every parent
  // directory on each request, which is slow in a pool directory with thousands of files.
  await app.register(fastifyStatic, { root: publicDir, serve: false, index: false, list: false, dotfiles: 'deny', cacheControl: false });
  app.get('/*', PUBLIC, async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    if (path.endsWith('.sources') && (await answerSources(req, reply, context, path))) return reply;
    const blob = resolvePoolBlob(store, `/${path}`);
    if (blob) {
      reply.hijack();
      return sendPoolBlob(req.raw, reply.raw, blobs, blob, path);
    }
    // Descriptors are not published files; what they describe is, under its own name.
    if (path.endsWith(SPLICE_SUFFIX)) return reply.callNotFound();
    const spliced = await splicedFile(publicDir, generationsDir, path);
    if (spliced) {
      reply.hijack();
      return sendRanged(req.raw, reply.raw, spliced);
    }
    return reply.sendFile(path);
  });
  registerPublicFiles(app, context);

  return {
    app,
    context,
    colors,
    routes,
    close: async () => {
      await app.close();
      await tasks.waitAll();
      await colors.close();
      await inspections.close();
      await context.publisher.idle();
      await store.close();
    },
  };
}
