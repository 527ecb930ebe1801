// The published apt tree over HTTP, for what the front (http-front.ts, fast-static.ts) did not
// answer before the framework: pool files from the blob store, spliced index files, the
// .sources snippets and the archive key, and every other file from disk (or, with generations
// on an object store, from this server's copy of the live generation: remote-dists.ts).

import { existsSync } from 'node:fs';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { SPLICE_SUFFIX } from '../../publish/spliced-files.js';
import type { Context } from '../../service/context.js';
import { PUBLIC } from '../auth.js';
import { hashEtag } from './conditional.js';
import type { BlobSource } from './fast-static.js';
import { resolvePoolBlob, sendPoolBlob } from './pool-files.js';
import { answerSources, registerPublicFiles } from './public-files.js';
import { sendRanged } from './ranged.js';
import { freshPublishesOf, remoteDistsFile } from './remote-dists.js';
import { splicedFile } from './spliced.js';

export interface TreeOptions {
  ctx: Context;
  generationsDir: string;
}

/** Pool files as the front's cache reads them: from the blob store, by their published path. */
export function poolBlobSource(ctx: Pick<Context, 'store' | 'blobs'>): BlobSource {
  return {
    resolve: (path) => {
      const b = resolvePoolBlob(ctx.store, path);
      if (!b) return undefined;
      // Not cached here yet (S3): the route below fetches it, asynchronously.
      if (ctx.blobs.remote && b.loc.pack === '' && !existsSync(ctx.blobs.loosePath(b.sha256))) return undefined;
      return {
        key: `blob:${b.sha256}`,
        size: b.loc.size,
        etag: hashEtag(b.sha256),
        mtimeMs: ctx.blobs.mtimeSync(b.sha256, b.loc).getTime(),
        read: () => ctx.blobs.readSync(b.sha256, b.loc),
      };
    },
  };
}

/** Registered without a prefix: the tree is served at the root. */
export const treePlugin: FastifyPluginAsync<TreeOptions> = async (app, { ctx, generationsDir }) => {
  const { publicDir, store, blobs } = ctx;
  // serve: false + one catch-all route: the plugin's own wildcard route reads every parent
  // directory on each request, which is slow in a pool directory with thousands of files.
  await app.register(fastifyStatic, { root: publicDir, serve: false, index: false, list: false, dotfiles: 'deny', cacheControl: false });
  // A replica lagging the publisher reads the publish records from etcd before a dists/ 404.
  const fresh = ctx.publisher.remote ? freshPublishesOf(store) : undefined;
  app.get('/*', PUBLIC, async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    if (path.endsWith('.sources') && (await answerSources(req, reply, ctx, path))) return reply;
    const blob = resolvePoolBlob(store, `/${path}`);
    if (blob) {
      reply.hijack();
      return sendPoolBlob(req.raw, reply.raw, blobs, blob, path);
    }
    // Descriptors are not published files; what they describe is, under its own name.
    if (path.endsWith(SPLICE_SUFFIX)) return reply.callNotFound();
    // Generations on an object store: the live one is the metadata's, not the disk's.
    const remote = ctx.publisher.remote;
    if (remote) {
      const file = await remoteDistsFile(store, remote, generationsDir, path, fresh);
      if (!file) return reply.callNotFound();
      reply.hijack();
      return sendRanged(req.raw, reply.raw, file);
    }
    const spliced = await splicedFile(publicDir, generationsDir, path);
    if (spliced) {
      reply.hijack();
      return sendRanged(req.raw, reply.raw, spliced);
    }
    return reply.sendFile(path);
  });
  registerPublicFiles(app, ctx);
};
