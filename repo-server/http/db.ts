// aptly's POST /api/db/cleanup (service/cleanup.ts), as a task with ?_async like aptly's.

import type { FastifyPluginAsync } from 'fastify';
import { cleanupDb } from '../service/cleanup.js';
import { ADMIN } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import type { ResourceOptions } from './request.js';
import { respond } from './respond.js';
import { asyncQuery, withSchema } from './schemas/schema.js';

/** Registered with prefix /api/db. */
export const dbPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx, tasks }) => {
  acceptEmptyJsonBodies(app);
  app.post('/cleanup', withSchema(ADMIN, { querystring: asyncQuery() }), async (req, reply) =>
    respond(req, reply, tasks, 'Clean up db', async (out, io) => {
      // aptly's detail counters, in aptly's casing (the service counts in its own words).
      const deleting = (total: number, remaining: number): void => io.progress({ TotalNumberOfPackagesToDelete: total, RemainingNumberOfPackagesToDelete: remaining });
      const report = await cleanupDb(ctx, { out, deleting });
      // aptly's task returns no value and answers {} synchronously; the counters are the detail.
      return { code: 200, value: {}, detail: { TotalNumberOfPackagesToDelete: report.packagesDeleted, RemainingNumberOfPackagesToDelete: 0 } };
    }),
  );
};
