// aptly 1.6's REST API (same paths, PascalCase JSON, aptly's status codes) as a thin HTTP
// shell over the service operations.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { Context } from '../service/context.js';
import { Invalid, NotFound } from '../model/errors.js';
import { invalid, notFound } from '../service/errors.js';
import { prefixFromUrl, safeSegment } from '../service/names.js';
import { packageDetails, showPackages, type ListOptions } from '../service/packages.js';
import {
  addStagedSource,
  dropStagedSources,
  removeStagedSource,
  replaceStagedSources,
  sourcesJson,
  stagedSources,
  updateStagedSource,
} from '../service/publish-sources.js';
import { createPublish, dropPublish, getPublish, publishJson, updatePublish } from '../service/publishing.js';
import { copyPackages } from '../service/repo-copy.js';
import { changeRefs, createRepo, dropRepo, editRepo, getRepo, importUploads, repoJson } from '../service/repos.js';
import { pullIntoSnapshot } from '../service/snapshot-pull.js';
import {
  diffSnapshots,
  dropSnapshot,
  editSnapshot,
  getSnapshot,
  mergeMode,
  mergeSnapshots,
  snapshotFromRefs,
  snapshotFromRepo,
  snapshotJson,
} from '../service/snapshots.js';
import type { Tasks } from '../service/tasks.js';
import { Uploads, type UploadPart } from '../service/uploads.js';
import { ADMIN, PUBLIC, READ } from './auth.js';
import { drainRequest } from './drain.js';
import { respond } from './respond.js';

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;
const body = (req: FastifyRequest): Record<string, unknown> => {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw invalid('request body must be a JSON object');
  return b as Record<string, unknown>;
};
const flag = (v: string | undefined): boolean => v === '1' || v === 'true';
const listOptions = (q: Query): ListOptions => ({ q: q.q, withDeps: q.withDeps, maximumVersion: q.maximumVersion, format: q.format });

export const APTLY_API_VERSION = '1.6.0';

export function registerRoutes(app: FastifyInstance, ctx: Context, tasks: Tasks): void {
  const uploads = new Uploads(ctx);

  app.get('/api/version', PUBLIC, async () => ({ Version: APTLY_API_VERSION, Server: 'debpkg' }));
  // aptly 1.6's probes (behind the token unless reads are open; /api/version is always open).
  app.get('/api/ready', READ, async () => ({ Status: 'Aptly is ready' }));
  app.get('/api/healthy', READ, async () => ({ Status: 'Aptly is healthy' }));

  // ---- files (upload area)
  app.get('/api/files', READ, async () => uploads.listDirs());
  app.get('/api/files/:dir', READ, async (req) => uploads.listFiles((req.params as Params).dir!));
  app.post('/api/files/:dir', ADMIN, async (req, reply) => {
    const dir = safeSegment((req.params as Params).dir!, 'directory');
    if (!req.isMultipart()) throw invalid('expected multipart/form-data with one or more files');
    async function* files(): AsyncGenerator<UploadPart> {
      for await (const part of req.parts()) if (part.type === 'file') yield { filename: part.filename, body: part.file as Readable };
    }
    try {
      return reply.code(200).send(await uploads.receive(dir, files(), ctx.config.maxUploadBytes));
    } catch (err) {
      await drainRequest(req.raw, ctx.config.maxUploadBytes);
      throw err;
    }
  });
  // The raw body of any content type streams to the file (curl --data-binary sends
  // application/x-www-form-urlencoded); the parser is scoped to this one route.
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    raw.put('/api/files/:dir/:file', ADMIN, async (req) => {
      const { dir, file } = req.params as Params;
      try {
        safeSegment(dir!, 'directory');
        safeSegment(file!, 'file name');
        if (req.body === undefined || req.body === null) throw invalid('PUT /api/files/:dir/:file needs the file as the request body');
        const body = req.body as Readable;
        async function* one(): AsyncGenerator<UploadPart> {
          yield { filename: file!, body };
        }
        return await uploads.receive(dir!, one(), ctx.config.maxUploadBytes);
      } catch (err) {
        // Refused before or while reading the body: read the rest, so the client gets the answer.
        await drainRequest(req.raw, ctx.config.maxUploadBytes);
        throw err;
      }
    });
  });
  app.delete('/api/files/:dir', ADMIN, async (req) => {
    await uploads.remove((req.params as Params).dir!);
    return {};
  });
  app.delete('/api/files/:dir/:file', ADMIN, async (req) => {
    const { dir, file } = req.params as Params;
    await uploads.remove(dir!, file!);
    return {};
  });

  // ---- local repos
  app.get('/api/repos', READ, async () => [...ctx.store.repos.values()].map(repoJson));
  app.post('/api/repos', ADMIN, async (req, reply) => reply.code(201).send(repoJson(await createRepo(ctx, body(req)))));
  app.get('/api/repos/:name', READ, async (req) => repoJson(getRepo(ctx, (req.params as Params).name!)));
  app.put('/api/repos/:name', ADMIN, async (req) => repoJson(await editRepo(ctx, (req.params as Params).name!, body(req))));
  app.delete('/api/repos/:name', ADMIN, async (req, reply) => {
    const name = (req.params as Params).name!;
    return respond(req, reply, tasks, `Delete repo ${name}`, async () => {
      await dropRepo(ctx, name, flag((req.query as Query).force));
      return { code: 200, value: {} };
    });
  });
  app.get('/api/repos/:name/packages', READ, async (req) => {
    const repo = getRepo(ctx, (req.params as Params).name!);
    return showPackages(ctx.store, ctx.store.repoPackages.get(repo.name) ?? [], listOptions(req.query as Query));
  });
  for (const [method, action] of [['POST', 'add'], ['DELETE', 'remove']] as const) {
    app.route({
      method,
      url: '/api/repos/:name/packages',
      config: { access: 'admin' },
      handler: async (req, reply) => {
        const name = (req.params as Params).name!;
        return respond(req, reply, tasks, `${action === 'add' ? 'Add' : 'Delete'} packages to repo ${name}`, async () => ({
          code: 200,
          value: repoJson(await changeRefs(ctx, name, body(req), action)),
        }));
      },
    });
  }
  const fromFile = async (req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const { name, dir, file } = req.params as Params;
    const q = req.query as Query;
    return respond(req, reply, tasks, `Add packages from dir ${dir} to repo ${name}`, async (out) => {
      const report = await importUploads(ctx, name!, dir!, file, { forceReplace: flag(q.forceReplace), noRemove: flag(q.noRemove) });
      if (report.Report.Added.length > 0) out(`Added: ${report.Report.Added.join(', ')}`);
      return { code: 200, value: report };
    });
  };
  app.post('/api/repos/:name/file/:dir', ADMIN, fromFile);
  app.post('/api/repos/:name/file/:dir/:file', ADMIN, fromFile);
  app.post('/api/repos/:name/copy/:src/:file', ADMIN, async (req, reply) => {
    const { name, src, file } = req.params as Params;
    return respond(req, reply, tasks, `Copy packages from repo ${src} to repo ${name}`, async () => ({
      code: 200,
      value: await copyPackages(ctx, name!, src!, file!, body(req)),
    }));
  });
  app.post('/api/repos/:name/snapshots', ADMIN, async (req, reply) => {
    const name = (req.params as Params).name!;
    return respond(req, reply, tasks, `Create snapshot of repo ${name}`, async () => ({
      code: 201,
      value: snapshotJson(await snapshotFromRepo(ctx, name, body(req))),
    }));
  });

  // ---- snapshots
  app.get('/api/snapshots', READ, async () => [...ctx.store.snapshots.values()].map(snapshotJson));
  app.post('/api/snapshots', ADMIN, async (req, reply) => reply.code(201).send(snapshotJson(await snapshotFromRefs(ctx, body(req)))));
  app.post('/api/snapshots/:name/merge', ADMIN, async (req, reply) => {
    const name = (req.params as Params).name!;
    const q = req.query as Query;
    const mode = mergeMode(flag(q.latest), flag(q['no-remove']));
    const b = body(req);
    return respond(req, reply, tasks, `Merge snapshot ${name}`, async () => ({ code: 201, value: snapshotJson(await mergeSnapshots(ctx, name, b, mode)) }));
  });
  // The form the debpkg CLI used before aptly 1.6's :name/merge (Destination in the body).
  app.post('/api/snapshots/merge', ADMIN, async (req, reply) => {
    const q = req.query as Query;
    const b = body(req);
    if (typeof b.Destination !== 'string') throw invalid('Destination is required');
    const mode = mergeMode(flag(q.latest), flag(q['no-remove']) || flag(q.noRemove));
    return reply.code(201).send(snapshotJson(await mergeSnapshots(ctx, b.Destination, b, mode)));
  });
  app.post('/api/snapshots/:name/pull', ADMIN, async (req, reply) => {
    const name = (req.params as Params).name!;
    const q = req.query as Query;
    const flags = { allMatches: flag(q['all-matches']), dryRun: flag(q['dry-run']), noDeps: flag(q['no-deps']), noRemove: flag(q['no-remove']) };
    const b = body(req);
    return respond(req, reply, tasks, `Pull into snapshot ${name}`, async () => {
      const r = await pullIntoSnapshot(ctx, name, b, flags);
      return 'dryRun' in r ? { code: 200, value: r.dryRun } : { code: 201, value: snapshotJson(r.snapshot) };
    });
  });
  app.get('/api/snapshots/:name', READ, async (req) => snapshotJson(getSnapshot(ctx, (req.params as Params).name!)));
  app.put('/api/snapshots/:name', ADMIN, async (req) => snapshotJson(await editSnapshot(ctx, (req.params as Params).name!, body(req))));
  app.delete('/api/snapshots/:name', ADMIN, async (req, reply) => {
    const name = (req.params as Params).name!;
    return respond(req, reply, tasks, `Delete snapshot ${name}`, async () => {
      await dropSnapshot(ctx, name, flag((req.query as Query).force));
      return { code: 200, value: {} };
    });
  });
  app.get('/api/snapshots/:name/packages', READ, async (req) => {
    const s = getSnapshot(ctx, (req.params as Params).name!);
    return showPackages(ctx.store, s.packages, listOptions(req.query as Query));
  });
  app.get('/api/snapshots/:name/diff/:with', READ, async (req) => {
    const { name, with: other } = req.params as Params;
    return diffSnapshots(ctx, name!, other!, flag((req.query as Query).onlyMatching));
  });

  // ---- packages
  app.get('/api/packages', READ, async (req) => showPackages(ctx.store, ctx.store.packages.keys(), listOptions(req.query as Query)));
  app.get('/api/packages/:key', READ, async (req) => {
    const p = ctx.store.packages.get((req.params as Params).key!);
    if (!p) throw notFound('package not found');
    return packageDetails(p);
  });

  // ---- publish
  app.get('/api/publish', READ, async () => [...ctx.store.publishes.values()].map(publishJson));
  app.post('/api/publish/:prefix', ADMIN, async (req, reply) => {
    const prefix = prefixFromUrl((req.params as Params).prefix!);
    return respond(req, reply, tasks, `Publish ${prefix}`, async () => ({ code: 201, value: publishJson(await createPublish(ctx, prefix, body(req))) }));
  });
  app.post('/api/publish', ADMIN, async (req, reply) =>
    respond(req, reply, tasks, 'Publish .', async () => ({ code: 201, value: publishJson(await createPublish(ctx, '.', body(req))) })),
  );
  app.get('/api/publish/:prefix/:distribution', READ, async (req) => {
    const { prefix, distribution } = req.params as Params;
    return publishJson(getPublish(ctx, prefixFromUrl(prefix!), distribution!));
  });
  app.put('/api/publish/:prefix/:distribution', ADMIN, async (req, reply) => {
    const { prefix, distribution } = req.params as Params;
    return respond(req, reply, tasks, `Update published ${prefix}/${distribution}`, async () => ({
      code: 200,
      value: publishJson(await updatePublish(ctx, prefixFromUrl(prefix!), distribution!, body(req))),
    }));
  });
  app.post('/api/publish/:prefix/:distribution/update', ADMIN, async (req, reply) => {
    const { prefix, distribution } = req.params as Params;
    const b = body(req);
    return respond(req, reply, tasks, `Update published ${prefix}/${distribution}`, async () => ({
      code: 200,
      value: publishJson(await updatePublish(ctx, prefixFromUrl(prefix!), distribution!, b, true)),
    }));
  });
  // The staged source list (applied by .../update).
  const pub = (req: FastifyRequest): [string, string] => {
    const { prefix, distribution } = req.params as Params;
    return [prefixFromUrl(prefix!), distribution!];
  };
  app.get('/api/publish/:prefix/:distribution/sources', READ, async (req) => sourcesJson(stagedSources(ctx, ...pub(req))));
  app.post('/api/publish/:prefix/:distribution/sources', ADMIN, async (req, reply) => {
    const b = body(req);
    return respond(req, reply, tasks, `Stage source for ${pub(req).join('/')}`, async () => ({ code: 201, value: publishJson(await addStagedSource(ctx, ...pub(req), b)) }));
  });
  app.put('/api/publish/:prefix/:distribution/sources', ADMIN, async (req, reply) =>
    respond(req, reply, tasks, `Stage sources for ${pub(req).join('/')}`, async () => ({
      code: 200,
      value: sourcesJson((await replaceStagedSources(ctx, ...pub(req), req.body)).staged ?? []),
    })),
  );
  app.delete('/api/publish/:prefix/:distribution/sources', ADMIN, async (req, reply) =>
    respond(req, reply, tasks, `Drop staged sources of ${pub(req).join('/')}`, async () => {
      await dropStagedSources(ctx, ...pub(req));
      return { code: 200, value: {} };
    }),
  );
  app.put('/api/publish/:prefix/:distribution/sources/:component', ADMIN, async (req, reply) => {
    const b = body(req);
    const component = (req.params as Params).component!;
    return respond(req, reply, tasks, `Stage source ${component} for ${pub(req).join('/')}`, async () => {
      await updateStagedSource(ctx, ...pub(req), component, b);
      return { code: 200, value: {} };
    });
  });
  app.delete('/api/publish/:prefix/:distribution/sources/:component', ADMIN, async (req, reply) => {
    const component = (req.params as Params).component!;
    return respond(req, reply, tasks, `Unstage source ${component} of ${pub(req).join('/')}`, async () => {
      await removeStagedSource(ctx, ...pub(req), component);
      return { code: 200, value: {} };
    });
  });
  app.delete('/api/publish/:prefix/:distribution', ADMIN, async (req, reply) => {
    const { prefix, distribution } = req.params as Params;
    return respond(req, reply, tasks, `Delete published ${prefix}/${distribution}`, async () => {
      await dropPublish(ctx, prefixFromUrl(prefix!), distribution!);
      return { code: 200, value: {} };
    });
  });

  // ---- tasks
  app.get('/api/tasks', READ, async () => tasks.list().map((t) => tasks.json(t)));
  app.post('/api/tasks-clear', ADMIN, async () => {
    tasks.clear();
    return {};
  });
  app.get('/api/tasks-wait', READ, async () => {
    await tasks.waitAll();
    return {};
  });
  const task = (req: FastifyRequest, Missing: typeof NotFound | typeof Invalid = NotFound) => tasks.get(Number((req.params as Params).id), Missing);
  app.get('/api/tasks/:id', READ, async (req) => tasks.json(task(req)));
  app.get('/api/tasks/:id/wait', READ, async (req) => {
    const t = task(req, Invalid);
    await t.done;
    return tasks.json(t);
  });
  // JSON bodies as aptly's: the output as one string, the return value as {Code, Value}.
  app.get('/api/tasks/:id/output', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(task(req).output.join('\n'))));
  app.get('/api/tasks/:id/detail', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(task(req).result?.detail ?? {})));
  app.get('/api/tasks/:id/return_value', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(JSON.stringify(tasks.returnValue(task(req)))));
  app.delete('/api/tasks/:id', ADMIN, async (req) => tasks.json(tasks.delete(Number((req.params as Params).id))));
  // aptly's self-test task: answers 418 with [1, 2, 3] (as a task with ?_async=true).
  app.post('/api/tasks-dummy', ADMIN, async (req, reply) =>
    respond(req, reply, tasks, 'Dummy task', async (out) => {
      out('Dummy task started');
      out('Dummy task finished');
      return { code: 418, value: [1, 2, 3], detail: [1, 2, 3] };
    }),
  );
}
