// What the color-group plugins (units, services, lb) are registered with, and who asked, for
// the swap audit log.

import type { FastifyRequest } from 'fastify';
import type { ColorGroups } from '../colors/color-groups.js';
import type { ServerConfig } from '../config.js';
import { roleOf } from './auth.js';

export interface ColorOptions {
  colors: ColorGroups;
  config: ServerConfig;
}

/** Who asked, for the audit log: the token's role plus what the client says about itself. */
export function who(req: FastifyRequest, config: ServerConfig): string {
  const claimed = req.headers['x-debpkg-user'];
  const name = typeof claimed === 'string' ? claimed.replace(/[^\w.@+-]/g, '').slice(0, 64) : '';
  return `${roleOf(req, config)}${name ? ` (${name})` : ''}@${req.ip}`;
}
