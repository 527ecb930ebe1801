// aptly's version and probe endpoints. /api/version is always open (clients check it before
// they have a token); the probes are reads.

import type { FastifyPluginAsync } from 'fastify';
import { PUBLIC, READ } from './auth.js';
import type { VersionWire } from './wire.js';

export const APTLY_API_VERSION = '1.6.0';

/** Registered with prefix /api. */
export const statusPlugin: FastifyPluginAsync = async (app) => {
  app.get('/version', PUBLIC, async (): Promise<VersionWire> => ({ Version: APTLY_API_VERSION }));
  app.get('/ready', READ, async () => ({ Status: 'Aptly is ready' }));
  app.get('/healthy', READ, async () => ({ Status: 'Aptly is healthy' }));
};
