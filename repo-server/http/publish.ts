// aptly's published distributions, /api/publish: publish local repos or snapshots under a
// prefix, update or switch them, drop them, and edit the staged source list that
// POST .../update applies. Prefixes come in aptly's URL form (":." is ".", "_" is "/").

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { prefixFromUrl, publishPrefix as publishPrefixOf } from '../service/names.js';
import { publishId } from '../storage/store.js';
import {
  addStagedSource,
  dropStagedSources,
  removeStagedSource,
  replaceStagedSources,
  stagedSources,
  updateStagedSource,
} from '../service/publish-sources.js';
import { createPublish, dropPublish, getPublish, publishPackageCount, updatePublish } from '../service/publishing.js';
import type { PublishRecord } from '../storage/store.js';
import type { TaskIo } from '../service/tasks.js';
import { ADMIN, READ } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { body, param, type ResourceOptions } from './request.js';
import { respond } from './respond.js';
import { publishInput, publishUpdateInput, sourceRef, sourceRefList, stagedSourceEdit } from './wire/decode.js';
import { publishWire, sourcesWire } from './wire/encode.js';
import { asyncQuery, withSchema } from './schemas/schema.js';
import { EDIT_STAGED, PUBLISH, PUBLISH_UPDATE, STAGE_SOURCE, STAGE_SOURCES } from './schemas/publish.js';

/** The prefix (decoded) and distribution a route's path names. */
const target = (req: FastifyRequest): [string, string] => [prefixFromUrl(param(req, 'prefix')), param(req, 'distribution')];
const publishIdOf = (req: FastifyRequest): string => publishId(publishPrefixOf(target(req)[0]), target(req)[1]);

/**
 * aptly's publish task detail: {TotalNumberOfPackages, RemainingNumberOfPackages}, counted
 * over every component; all remaining while the publish runs, none once it is live.
 */
function publishing(ctx: ResourceOptions['ctx'], io: TaskIo, before: PublishRecord | undefined, work: Promise<PublishRecord>): Promise<PublishRecord> {
  if (before) {
    const total = publishPackageCount(ctx, before);
    io.progress({ TotalNumberOfPackages: total, RemainingNumberOfPackages: total });
  }
  return work.then((rec) => {
    io.progress({ TotalNumberOfPackages: publishPackageCount(ctx, rec), RemainingNumberOfPackages: 0 });
    return rec;
  });
}

/** Registered with prefix /api/publish. */
export const publishPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx, tasks }) => {
  acceptEmptyJsonBodies(app);
  app.get('', READ, async () => [...ctx.store.publishes.values()].map(publishWire));
  app.post('/:prefix', withSchema(ADMIN, { body: PUBLISH, querystring: asyncQuery() }), async (req, reply) => {
    const prefix = prefixFromUrl(param(req, 'prefix'));
    const input = publishInput(body(req));
    return respond(req, reply, tasks, `Publish ${prefix}`, async (_out, io) => ({ code: 201, value: publishWire(await publishing(ctx, io, undefined, createPublish(ctx, prefix, input))) }));
  });
  app.post('', withSchema(ADMIN, { body: PUBLISH, querystring: asyncQuery() }), async (req, reply) => {
    const input = publishInput(body(req));
    return respond(req, reply, tasks, 'Publish .', async (_out, io) => ({ code: 201, value: publishWire(await publishing(ctx, io, undefined, createPublish(ctx, '.', input))) }));
  });
  app.get('/:prefix/:distribution', READ, async (req) => publishWire(getPublish(ctx, ...target(req))));
  app.put('/:prefix/:distribution', withSchema(ADMIN, { body: PUBLISH_UPDATE, querystring: asyncQuery() }), async (req, reply) => {
    const input = publishUpdateInput(body(req));
    return respond(req, reply, tasks, `Update published ${param(req, 'prefix')}/${param(req, 'distribution')}`, async (_out, io) => ({
      code: 200,
      value: publishWire(await publishing(ctx, io, ctx.store.publishes.get(publishIdOf(req)), updatePublish(ctx, ...target(req), input))),
    }));
  });
  app.post('/:prefix/:distribution/update', withSchema(ADMIN, { body: PUBLISH_UPDATE, querystring: asyncQuery() }), async (req, reply) => {
    const b = body(req);
    const input = publishUpdateInput(b);
    return respond(req, reply, tasks, `Update published ${param(req, 'prefix')}/${param(req, 'distribution')}`, async (_out, io) => ({
      code: 200,
      value: publishWire(await publishing(ctx, io, ctx.store.publishes.get(publishIdOf(req)), updatePublish(ctx, ...target(req), input, true))),
    }));
  });
  app.delete('/:prefix/:distribution', withSchema(ADMIN, { querystring: asyncQuery() }), async (req, reply) =>
    respond(req, reply, tasks, `Delete published ${param(req, 'prefix')}/${param(req, 'distribution')}`, async () => {
      await dropPublish(ctx, ...target(req));
      return { code: 200, value: {} };
    }),
  );

  // The staged source list (applied by .../update).
  app.get('/:prefix/:distribution/sources', READ, async (req) => sourcesWire(stagedSources(ctx, ...target(req))));
  app.post('/:prefix/:distribution/sources', withSchema(ADMIN, { body: STAGE_SOURCE, querystring: asyncQuery() }), async (req, reply) => {
    const b = body(req);
    return respond(req, reply, tasks, `Stage source for ${target(req).join('/')}`, async () => ({
      code: 201,
      value: publishWire(await addStagedSource(ctx, ...target(req), sourceRef(b, 'source'))),
    }));
  });
  app.put('/:prefix/:distribution/sources', withSchema(ADMIN, { body: STAGE_SOURCES, querystring: asyncQuery() }), async (req, reply) =>
    respond(req, reply, tasks, `Stage sources for ${target(req).join('/')}`, async () => ({
      code: 200,
      value: sourcesWire((await replaceStagedSources(ctx, ...target(req), sourceRefList(req.body))).staged ?? []),
    })),
  );
  app.delete('/:prefix/:distribution/sources', withSchema(ADMIN, { querystring: asyncQuery() }), async (req, reply) =>
    respond(req, reply, tasks, `Drop staged sources of ${target(req).join('/')}`, async () => {
      await dropStagedSources(ctx, ...target(req));
      return { code: 200, value: {} };
    }),
  );
  app.put('/:prefix/:distribution/sources/:component', withSchema(ADMIN, { body: EDIT_STAGED, querystring: asyncQuery() }), async (req, reply) => {
    const b = body(req);
    const component = param(req, 'component');
    return respond(req, reply, tasks, `Stage source ${component} for ${target(req).join('/')}`, async () => {
      await updateStagedSource(ctx, ...target(req), component, stagedSourceEdit(b));
      return { code: 200, value: {} };
    });
  });
  app.delete('/:prefix/:distribution/sources/:component', withSchema(ADMIN, { querystring: asyncQuery() }), async (req, reply) => {
    const component = param(req, 'component');
    return respond(req, reply, tasks, `Unstage source ${component} of ${target(req).join('/')}`, async () => {
      await removeStagedSource(ctx, ...target(req), component);
      return { code: 200, value: {} };
    });
  });
};
