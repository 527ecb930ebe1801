// /api/lb: the load balancer configuration the registry renders, for any adapter of the
// registry (colors/lb/adapters.ts), as text.

import type { FastifyPluginAsync } from 'fastify';
import { Corrupt, Invalid } from '../model/errors.js';
import { LbConfigError } from '../colors/lb/state-check.js';
import { ADAPTERS } from '../colors/lb/adapters.js';
import { READ } from './auth.js';
import type { ColorOptions } from './color-request.js';
import { query } from './request.js';
import { withSchema } from './schemas/schema.js';
import { LB_QUERY } from './schemas/colors.js';

/** Registered with prefix /api/lb. */
export const lbPlugin: FastifyPluginAsync<ColorOptions> = async (app, { colors }) => {
  app.get('/config', withSchema(READ, { querystring: LB_QUERY }), async (req, reply) => {
    const adapter = query(req).adapter ?? colors.lb.adapter?.name ?? ADAPTERS[0]!;
    let text: string | undefined;
    try {
      text = colors.render(adapter);
    } catch (err) {
      // A stored value the API would refuse today (an old or hand-edited registry.json).
      if (err instanceof LbConfigError) throw new Corrupt(`the registry holds a value the ${adapter} config cannot take: ${err.message}`);
      throw err;
    }
    if (text === undefined) throw new Invalid(`adapter must be ${ADAPTERS.join(' or ')}, got '${adapter}'`);
    return reply.type('text/plain; charset=utf-8').send(text);
  });
};
