// /api/units: what agents call with a node token (docs/color-groups.md §2): a unit's
// register-or-heartbeat and its deregistration. Everything else about color groups needs the
// admin token (services.ts, lb.ts).

import type { FastifyPluginAsync } from 'fastify';
import { NotFound } from '../model/errors.js';
import * as v from '../colors/validate.js';
import { UNIT } from './auth.js';
import type { ColorRegistry } from '../colors/registry-api.js';
import type { ColorOptions } from './color-request.js';
import { param } from './request.js';
import type { HeartbeatWire } from './wire.js';
import { unitWire } from './wire/encode.js';
import { withSchema } from './schemas/schema.js';
import { HEARTBEAT, UNIT_PARAMS } from './schemas/colors.js';

/** A unit's register-or-heartbeat: the route's work, shared with http/unit-front.ts's fast path. */
export async function heartbeat(registry: ColorRegistry, service: string, node: string, body: unknown): Promise<HeartbeatWire> {
  const b = v.objectBody(body, ['Address', 'Port', 'Color', 'Version', 'Package', 'Health', 'Weight', 'HealthPath'], 'unit');
  const unit = await registry.heartbeat(service, node, {
    address: v.address(b.Address),
    port: v.port(b.Port),
    color: v.color(b.Color, 'Color'),
    version: v.version(b.Version),
    package: v.packageName(b.Package ?? service),
    health: v.health(b.Health ?? 'healthy'),
    weight: v.intIn(b.Weight ?? 100, 'Weight', 1, 256),
    healthPath: v.healthPath(b.HealthPath ?? '/healthz'),
  });
  return { Unit: unitWire(unit, true), Ttl: registry.options.ttlMs / 1000, Interval: registry.options.intervalMs / 1000 };
}

/** Registered with prefix /api/units. */
export const unitsPlugin: FastifyPluginAsync<ColorOptions> = async (app, { colors }) => {
  const { registry } = colors;

  app.put('/:service/:node', withSchema(UNIT, { params: UNIT_PARAMS, body: HEARTBEAT }), async (req): Promise<HeartbeatWire> => {
    const service = v.serviceName(param(req, 'service'));
    const node = v.nodeId(param(req, 'node'));
    return heartbeat(registry, service, node, req.body);
  });

  app.delete('/:service/:node', withSchema(UNIT, { params: UNIT_PARAMS }), async (req) => {
    const service = v.serviceName(param(req, 'service'));
    const node = v.nodeId(param(req, 'node'));
    if (!(await registry.deregister(service, node))) throw new NotFound(`unit '${node}' of service '${service}' is not registered`);
    return {};
  });
};
