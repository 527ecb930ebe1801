// /api/services: color-group services: their configuration, swaps, rollbacks and history
// (docs/color-groups.md §2). Every change is followed by a sync of the load balancer.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Invalid, NotFound, Unavailable } from '../model/errors.js';
import { DEFAULT_CHECK, type Unit } from '../colors/model.js';
import { planSwap } from '../colors/strategy.js';
import type { SwapRequest } from '../colors/swap.js';
import * as v from '../colors/validate.js';
import { swapPreviewWire, swapWire } from './wire/colors.js';
import { ADMIN, READ } from './auth.js';
import { who, type ColorOptions } from './color-request.js';
import { param } from './request.js';
import { serviceSummaryWire, serviceWire } from './wire/encode.js';
import { withSchema } from './schemas/schema.js';
import { CONFIGURE_SERVICE, ROLLBACK, SERVICE_PARAMS, SWAP } from './schemas/colors.js';

/** Registered with prefix /api/services. */
export const servicesPlugin: FastifyPluginAsync<ColorOptions> = async (app, { colors, config }) => {
  const { registry, engine } = colors;
  const alive = (u: Unit): boolean => registry.alive(u);
  const ttl = (): number => registry.options.ttlMs / 1000;

  app.get('', READ, async () => registry.list().map((s) => serviceSummaryWire(s, alive)));
  app.get('/:service', withSchema(READ, { params: SERVICE_PARAMS }), async (req) => serviceWire(registry.get(v.serviceName(param(req, 'service'))), alive, ttl()));

  app.put('/:service', withSchema(ADMIN, { params: SERVICE_PARAMS, body: CONFIGURE_SERVICE }), async (req) => {
    const name = v.serviceName(param(req, 'service'));
    const b = v.objectBody(req.body ?? {}, ['Listen', 'PreviewAllow', 'HealthPath', 'MinHealthy', 'Check'], 'service');
    const edit: Parameters<typeof registry.configure>[1] = {};
    if (b.Listen !== undefined) edit.listen = v.listen(b.Listen);
    if (b.PreviewAllow !== undefined) {
      if (!Array.isArray(b.PreviewAllow)) throw new Invalid('PreviewAllow must be a list of CIDR networks');
      edit.previewAllow = b.PreviewAllow.map((c, i) => v.cidr(c, `PreviewAllow[${i}]`));
    }
    if (b.HealthPath !== undefined) edit.healthPath = v.healthPath(b.HealthPath);
    if (b.MinHealthy !== undefined) edit.minHealthy = v.intIn(b.MinHealthy, 'MinHealthy', 1, 10_000);
    // Fields left out keep what the service has now.
    if (b.Check !== undefined) edit.check = v.healthCheck(b.Check, registry.list().find((s) => s.name === name)?.check ?? DEFAULT_CHECK);
    const s = await registry.configure(name, edit);
    await colors.lb.sync();
    return serviceWire(s, alive, ttl());
  });

  app.delete('/:service', withSchema(ADMIN, { params: SERVICE_PARAMS }), async (req) => {
    const name = v.serviceName(param(req, 'service'));
    if (!(await registry.remove(name))) throw new NotFound(`service '${name}' is not registered`);
    await colors.lb.sync();
    return {};
  });

  /** The swap a body asks for (also what its preview plans). */
  const swapRequest = (req: FastifyRequest): Omit<SwapRequest, 'user'> => {
    const b = v.objectBody(req.body, ['To', 'Strategy', 'Weight', 'Steps', 'Wait', 'MinHealthy'], 'swap');
    if (b.Steps !== undefined && !Array.isArray(b.Steps)) throw new Invalid('Steps must be a list of percentages');
    const plan = planSwap({
      ...(typeof b.Strategy === 'string' ? { strategy: b.Strategy } : b.Strategy !== undefined ? { strategy: String(b.Strategy) } : {}),
      ...(b.Weight !== undefined ? { weight: v.intIn(b.Weight, 'Weight', 1, 99) } : {}),
      ...(b.Steps !== undefined ? { steps: (b.Steps as unknown[]).map((s, i) => v.intIn(s, `Steps[${i}]`, 1, 100)) } : {}),
      ...(b.Wait !== undefined ? { waitMs: v.durationMs(b.Wait, 'Wait') } : {}),
    });
    return { ...plan, to: v.color(b.To, 'To'), ...(b.MinHealthy !== undefined ? { minHealthy: v.intIn(b.MinHealthy, 'MinHealthy', 1, 10_000) } : {}) };
  };
  const noPreview = (): never => {
    throw new Unavailable('this registry cannot preview swaps (etcd): the swap itself still runs the gate');
  };

  app.post('/:service/swap', withSchema(ADMIN, { params: SERVICE_PARAMS, body: SWAP }), async (req, reply) => {
    const name = v.serviceName(param(req, 'service'));
    registry.get(name);
    const record = await engine.swap(name, { ...swapRequest(req), user: who(req, config) });
    return reply.send(swapWire(record));
  });

  // Dry runs for the dashboard's confirmation: the same body and the same gate, nothing moves.
  // ADMIN like the real thing: the gate probes the units' health endpoints.
  app.post('/:service/swap/preview', withSchema(ADMIN, { params: SERVICE_PARAMS, body: SWAP }), async (req) => {
    const name = v.serviceName(param(req, 'service'));
    registry.get(name);
    const request = swapRequest(req);
    return swapPreviewWire(await (engine.previewSwap?.(name, request) ?? noPreview()));
  });

  app.post('/:service/rollback/preview', withSchema(ADMIN, { params: SERVICE_PARAMS, body: ROLLBACK }), async (req) => {
    const name = v.serviceName(param(req, 'service'));
    registry.get(name);
    const b = v.objectBody(req.body ?? {}, ['Force'], 'rollback');
    return swapPreviewWire(await (engine.previewRollback?.(name, b.Force === true) ?? noPreview()));
  });

  app.post('/:service/rollback', withSchema(ADMIN, { params: SERVICE_PARAMS, body: ROLLBACK }), async (req) => {
    const name = v.serviceName(param(req, 'service'));
    const b = v.objectBody(req.body ?? {}, ['Force'], 'rollback');
    return swapWire(await engine.rollback(name, who(req, config), b.Force === true));
  });

  app.get('/:service/history', withSchema(READ, { params: SERVICE_PARAMS }), async (req) => registry.historyOf(v.serviceName(param(req, 'service'))).map(swapWire));
};
