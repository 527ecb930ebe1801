// aptly's GET /api/storage (space on the file system of the data directory, in MiB as aptly
// computes it) and GET /api/s3 (the configured S3 publish endpoints: this server publishes to
// its own tree only, so the list is empty, as aptly's with none configured).

import { statfs } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { READ } from './auth.js';
import type { ResourceOptions } from './request.js';

/** Registered with prefix /api. */
export const storagePlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  app.get('/storage', READ, async () => {
    const s = await statfs(ctx.config.dataDir);
    const mib = 1024 * 1024;
    return {
      Total: Math.floor((s.blocks * s.bsize) / mib),
      Free: Math.floor((s.bavail * s.bsize) / mib),
      PercentFull: s.blocks === 0 ? 0 : 100 - (s.bavail / s.blocks) * 100,
    };
  });
  app.get('/s3', READ, async () => []);
};
