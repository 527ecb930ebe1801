// The repo server: aptly-compatible API + signed, client-consistent publishing + static
// serving of the published tree. Embedded storage under the data directory by default; with
// --etcd and --shared-dir, one of a group of servers sharing etcd and a directory (storage/open.ts).
// Wiring only: configuration is config.ts, tokens tokens.ts, each resource an http/ plugin.

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './http/app.js';
import { AptlyMetrics, aptlyMetricsPlugin } from './http/aptly-metrics.js';
import { dbPlugin } from './http/db.js';
import { gpgPlugin } from './http/gpg.js';
import { graphPlugin } from './http/graph.js';
import { storagePlugin } from './http/storage.js';
import type { RouteAccess } from './http/auth.js';
import { filesPlugin } from './http/files.js';
import { lbPlugin } from './http/lb.js';
import { metricsPlugin, ServerMetrics } from './http/metrics.js';
import { UnitFront } from './http/unit-front.js';
import { openApiPlugin } from './http/openapi.js';
import { eventsPlugin } from './http/events.js';
import { uiPlugin } from './http/ui.js';
import { packagesPlugin } from './http/packages.js';
import { publishPlugin } from './http/publish.js';
import { reposPlugin } from './http/repos.js';
import { servicesPlugin } from './http/services.js';
import { snapshotsPlugin } from './http/snapshots.js';
import { FastStatic } from './http/static/fast-static.js';
import { poolBlobSource, treePlugin } from './http/static/tree.js';
import { APTLY_API_VERSION, statusPlugin } from './http/status.js';
import { tasksPlugin } from './http/tasks.js';
import { unitsPlugin } from './http/units.js';
import { SigningKeyring } from './pgp/keyring.js';
import { loadOrCreateSigningKey, readDefaultKey } from './pgp/signer.js';
import { Publisher, type PublishedPool } from './publish/publisher.js';
import { Inspections } from './packages/inspections.js';
import { Mutex } from '../lib/concurrency.js';
import { openStorage } from './storage/open.js';
import { S3Bytes } from './storage/bytes-s3.js';
import { DEFAULT_BLOB_GRACE_MS, scheduleSweeps, sweepOrphans } from './service/blob-sweep.js';
import { removeDroppedGenerations } from './service/generation-sweep.js';
import type { Context } from './service/context.js';
import { unpackLimits } from './service/context.js';
import { Tasks } from './service/tasks.js';
import { openColorGroups, type ColorGroups } from './colors/color-groups.js';
import { defaultConfig, type ServerOverrides } from './config.js';
import { adminToken, nodeTokens } from './tokens.js';
import { groupSecretsGiven } from './group-secrets.js';

export type { ServerConfig, ServerOverrides } from './config.js';

export interface RepoServer {
  app: FastifyInstance;
  context: Context;
  /** Every registered route with its declared access (complete once `app.ready()` resolved). */
  routes: RouteAccess[];
  colors: ColorGroups;
  close(): Promise<void>;
}

export async function createRepoServer(partial: ServerOverrides & { logger?: boolean | object } = {}): Promise<RepoServer> {
  // A start that fails half-way (a configured signing key missing, a plugin refusing) closes
  // what it had opened, last first: the journal, etcd's connections, the listener.
  const opened: (() => unknown)[] = [];
  try {
    return await startRepoServer(partial, opened);
  } catch (e) {
    for (const close of opened.reverse()) await Promise.resolve().then(close).catch(() => undefined);
    throw e;
  }
}

async function startRepoServer(partial: ServerOverrides & { logger?: boolean | object }, opened: (() => unknown)[]): Promise<RepoServer> {
  const { logger = true, ...rest } = partial;
  const config = defaultConfig(rest);
  const data = resolve(config.dataDir);
  config.dataDir = data;
  const { store, blobs, publishLocks, shared, generationStore, closeShared } = await openStorage(config);
  opened.push(closeShared, () => store.close());
  // A group on S3 alone shares no directory: its secrets are given to each server by its
  // operator, never made up by one server (another would sign or authenticate differently).
  if (generationStore) await groupSecretsGiven(config, join(shared, 'keys'));
  if (!config.adminToken) config.adminToken = await adminToken(shared);
  if (config.nodeTokens.length === 0) config.nodeTokens = await nodeTokens(shared);
  const signer = await loadOrCreateSigningKey(join(shared, 'keys'), { name: 'debpkg archive signing key' });
  const keyring = new SigningKeyring(join(shared, 'keys'), await readDefaultKey(join(shared, 'keys')), signer, config.signingKeys);
  // A configured key that is not there is a start-up error, not a failed publish later.
  if (config.signingKeys.length > 0) await keyring.signerFor(undefined);
  const writes = new Mutex();
  const publishedPool: PublishedPool = {
    get: (prefix, path) => store.publishedPool.get(prefix)?.get(path),
    add: (prefix, files) => writes.run(() => store.commit([{ op: 'pool-pub', prefix, files }])),
  };
  const publicDir = join(shared, 'public');
  const generationsDir = join(shared, 'generations');
  const publisher = new Publisher(publicDir, generationsDir, publishedPool, signer, {
    keepGenerations: config.keepGenerations,
    keepSeconds: config.keepSeconds,
    defaultArchitectures: config.defaultArchitectures,
    compressXz: config.compressXz,
    ...(generationStore ? { generationStore } : {}),
  });

  const fast = new FastStatic(publicDir, { maxFileBytes: 8 << 20, maxCacheBytes: 256 << 20, generationsDir, diskTree: !generationStore }, poolBlobSource({ store, blobs }));
  const routes: RouteAccess[] = [];
  const metrics = new ServerMetrics();
  const units = new UnitFront(config);
  const app = await createHttpApp({ config, front: fast, logger, routes, metrics, units });
  opened.push(() => app.close());
  // S3: objects no location names are deleted once older than the grace (service/blob-sweep.ts).
  const remote = blobs.remote instanceof S3Bytes ? blobs.remote : undefined;
  const graceMs = config.blobGraceMs ?? DEFAULT_BLOB_GRACE_MS;
  const sweeps = remote
    ? scheduleSweeps(
        async () => {
          const report = await sweepOrphans(store, remote, { graceMs, claims: blobs.claims!, ...('catchUp' in store ? { catchUp: () => (store as { catchUp(): Promise<void> }).catchUp() } : {}) });
          // And the published files a failed drop left (service/generation-sweep.ts); `context` exists by the first run.
          await removeDroppedGenerations(context);
          return report;
        },
        Math.min(Math.max(graceMs / 2, 60_000), 3_600_000),
        app.log,
      )
    : undefined;
  opened.push(() => sweeps?.stop());
  const context: Context = {
    config,
    store,
    blobs,
    inspections: new Inspections({ limits: unpackLimits(config) }),
    publisher,
    signer,
    keyring,
    writes,
    publishLocks,
    publicDir,
    keysDir: join(shared, 'keys'),
    log: app.log,
  };
  const tasks = new Tasks();
  opened.push(() => context.inspections.close());
  const colors = await openColorGroups(data, config.color, app.log, undefined, config.etcd, metrics.domain);
  opened.push(() => colors.close());
  metrics.watch(colors, store);

  // One plugin per resource, at aptly's paths; each route declares who may call it (auth.ts).
  const api = { ctx: context, tasks };
  const aptlyMetrics = new AptlyMetrics(store);
  aptlyMetrics.install(app);
  await app.register(statusPlugin, { prefix: '/api' });
  await app.register(filesPlugin, { prefix: '/api/files', ...api });
  await app.register(reposPlugin, { prefix: '/api/repos', ...api });
  await app.register(snapshotsPlugin, { prefix: '/api/snapshots', ...api });
  await app.register(packagesPlugin, { prefix: '/api/packages', ...api });
  await app.register(publishPlugin, { prefix: '/api/publish', ...api });
  await app.register(tasksPlugin, { prefix: '/api', ...api });
  await app.register(gpgPlugin, { prefix: '/api/gpg', ...api });
  await app.register(graphPlugin, { prefix: '/api', ...api });
  await app.register(dbPlugin, { prefix: '/api/db', ...api });
  await app.register(storagePlugin, { prefix: '/api', ...api });
  await app.register(aptlyMetricsPlugin, { prefix: '/api', server: metrics, aptly: aptlyMetrics });
  const color = { colors, config };
  await app.register(unitsPlugin, { prefix: '/api/units', ...color });
  units.attach({ registry: colors.registry, parse: app.getDefaultJsonParser('error', 'error'), log: app.log, metrics, aptly: aptlyMetrics });
  await app.register(servicesPlugin, { prefix: '/api/services', ...color });
  await app.register(lbPlugin, { prefix: '/api/lb', ...color });
  await app.register(eventsPlugin, { prefix: '/api', ...color, ...(config.events ? { limits: config.events } : {}), onStream: metrics.eventStream });
  await app.register(metricsPlugin, { metrics });
  await app.register(openApiPlugin, { prefix: '/api', routes, version: APTLY_API_VERSION });
  await app.register(uiPlugin);
  await app.register(treePlugin, { ctx: context, generationsDir });

  return {
    app,
    context,
    colors,
    routes,
    close: async () => {
      // Closing: heartbeats go through fastify again, which answers 503 while it closes.
      units.detach();
      await app.close();
      await tasks.waitAll();
      await colors.close();
      await context.inspections.close();
      await context.publisher.idle();
      await sweeps?.stop();
      await store.close();
      closeShared();
    },
  };
}
