// aptly's package pool, /api/packages: every stored package (with the q= query language of
// any package list), and one package's details by key.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NotFound } from '../model/errors.js';
import { showPackages, type ListOptions } from '../service/packages.js';
import { READ } from './auth.js';
import { param, query, type ResourceOptions } from './request.js';
import { packageDetailsWire, packageListWire } from './wire/encode.js';
import { withSchema } from './schemas/schema.js';
import { PACKAGE_LIST_QUERY } from './schemas/repos.js';

/** aptly's list query (q, withDeps=1, maximumVersion=1), for every package list of the API. */
export function listOptions(req: FastifyRequest): ListOptions {
  const q = query(req);
  return { q: q.q, withDeps: q.withDeps === '1', maximumVersion: q.maximumVersion === '1' };
}

/** Registered with prefix /api/packages. */
export const packagesPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  app.get('', withSchema(READ, { querystring: PACKAGE_LIST_QUERY }), async (req) => packageListWire(showPackages(ctx.store, ctx.store.packages.keys(), listOptions(req)), query(req).format));
  app.get('/:key', READ, async (req) => {
    const p = ctx.store.packages.get(param(req, 'key'));
    if (!p) throw new NotFound('package not found');
    return packageDetailsWire(p);
  });
};
