// The registry's HTTP surface (docs/color-groups.md §2). Agents use the two /api/units writes
// with a node token; everything that moves traffic needs the admin token (see api/auth.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Corrupt, Invalid, NotFound } from '../model/errors.js';
import { LbConfigError } from '../colors/lb/state-check.js';
import { ADAPTERS } from '../colors/lb/adapters.js';
import { ADMIN, READ, UNIT, roleOf } from '../api/auth.js';
import type { ServerConfig } from '../config.js';
import type { ColorGroups } from '../colors/color-groups.js';
import type { Unit } from '../colors/model.js';
import type { ServiceRecord } from '../colors/registry.js';
import { planSwap } from '../colors/strategy.js';
import * as v from '../colors/validate.js';
import { swapJson, trafficJson } from '../colors/json.js';

type Params = Record<string, string>;

function unitJson(u: Unit, alive: boolean) {
  return {
    Node: u.node,
    Address: u.address,
    Port: u.port,
    Color: u.color,
    Version: u.version,
    Package: u.package,
    Health: u.health,
    Weight: u.weight,
    HealthPath: u.healthPath,
    LastSeen: new Date(u.lastSeen).toISOString(),
    Alive: alive,
  };
}

/** Who asked, for the audit log: the token's role plus what the client says about itself. */
function who(req: FastifyRequest, config: ServerConfig): string {
  const claimed = req.headers['x-debpkg-user'];
  const name = typeof claimed === 'string' ? claimed.replace(/[^\w.@+-]/g, '').slice(0, 64) : '';
  return `${roleOf(req, config)}${name ? ` (${name})` : ''}@${req.ip}`;
}

export function registerColorRoutes(app: FastifyInstance, colors: ColorGroups, config: ServerConfig): void {
  const { registry, engine } = colors;
  const serviceJson = (s: ServiceRecord) => ({
    Name: s.name,
    Active: s.active,
    Weights: { ...s.weights },
    Previous: trafficJson(s.previous),
    Listen: s.listen ?? null,
    PreviewAllow: s.previewAllow,
    HealthPath: s.healthPath,
    MinHealthy: s.minHealthy ?? null,
    Ttl: registry.options.ttlMs / 1000,
    Units: s.units.map((u) => unitJson(u, registry.alive(u))),
  });

  app.put('/api/units/:service/:node', UNIT, async (req) => {
    const p = req.params as Params;
    const service = v.serviceName(p.service!);
    const node = v.nodeId(p.node!);
    const b = v.objectBody(req.body, ['Address', 'Port', 'Color', 'Version', 'Package', 'Health', 'Weight', 'HealthPath'], 'unit');
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
    return { Unit: unitJson(unit, true), Ttl: registry.options.ttlMs / 1000, Interval: registry.options.intervalMs / 1000 };
  });

  app.delete('/api/units/:service/:node', UNIT, async (req) => {
    const p = req.params as Params;
    const service = v.serviceName(p.service!);
    const node = v.nodeId(p.node!);
    if (!(await registry.deregister(service, node))) throw new NotFound(`unit '${node}' of service '${service}' is not registered`);
    return {};
  });

  app.get('/api/services', READ, async () =>
    registry.list().map((s) => ({ Name: s.name, Active: s.active, Weights: { ...s.weights }, Units: s.units.filter((u) => registry.alive(u)).length })),
  );
  app.get('/api/services/:service', READ, async (req) => serviceJson(registry.get(v.serviceName((req.params as Params).service!))));

  app.put('/api/services/:service', ADMIN, async (req) => {
    const name = v.serviceName((req.params as Params).service!);
    const b = v.objectBody(req.body ?? {}, ['Listen', 'PreviewAllow', 'HealthPath', 'MinHealthy'], 'service');
    const edit: Parameters<typeof registry.configure>[1] = {};
    if (b.Listen !== undefined) edit.listen = v.listen(b.Listen);
    if (b.PreviewAllow !== undefined) {
      if (!Array.isArray(b.PreviewAllow)) throw new Invalid('PreviewAllow must be a list of CIDR networks');
      edit.previewAllow = b.PreviewAllow.map((c, i) => v.cidr(c, `PreviewAllow[${i}]`));
    }
    if (b.HealthPath !== undefined) edit.healthPath = v.healthPath(b.HealthPath);
    if (b.MinHealthy !== undefined) edit.minHealthy = v.intIn(b.MinHealthy, 'MinHealthy', 1, 10_000);
    const s = await registry.configure(name, edit);
    await colors.lb.sync();
    return serviceJson(s);
  });

  app.delete('/api/services/:service', ADMIN, async (req) => {
    const name = v.serviceName((req.params as Params).service!);
    if (!(await registry.remove(name))) throw new NotFound(`service '${name}' is not registered`);
    await colors.lb.sync();
    return {};
  });

  app.post('/api/services/:service/swap', ADMIN, async (req, reply: FastifyReply) => {
    const name = v.serviceName((req.params as Params).service!);
    registry.get(name);
    const b = v.objectBody(req.body, ['To', 'Strategy', 'Weight', 'Steps', 'Wait', 'MinHealthy'], 'swap');
    if (b.Steps !== undefined && !Array.isArray(b.Steps)) throw new Invalid('Steps must be a list of percentages');
    const plan = planSwap({
      ...(typeof b.Strategy === 'string' ? { strategy: b.Strategy } : b.Strategy !== undefined ? { strategy: String(b.Strategy) } : {}),
      ...(b.Weight !== undefined ? { weight: v.intIn(b.Weight, 'Weight', 1, 99) } : {}),
      ...(b.Steps !== undefined ? { steps: (b.Steps as unknown[]).map((s, i) => v.intIn(s, `Steps[${i}]`, 1, 100)) } : {}),
      ...(b.Wait !== undefined ? { waitMs: v.durationMs(b.Wait, 'Wait') } : {}),
    });
    const record = await engine.swap(name, {
      ...plan,
      to: v.color(b.To, 'To'),
      ...(b.MinHealthy !== undefined ? { minHealthy: v.intIn(b.MinHealthy, 'MinHealthy', 1, 10_000) } : {}),
      user: who(req, config),
    });
    return reply.send(swapJson(record));
  });

  app.post('/api/services/:service/rollback', ADMIN, async (req) => {
    const name = v.serviceName((req.params as Params).service!);
    const b = v.objectBody(req.body ?? {}, ['Force'], 'rollback');
    return swapJson(await engine.rollback(name, who(req, config), b.Force === true));
  });

  app.get('/api/services/:service/history', READ, async (req) => {
    const name = v.serviceName((req.params as Params).service!);
    return registry.historyOf(name).map(swapJson);
  });

  app.get('/api/lb/config', READ, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const adapter = q.adapter ?? colors.lb.adapter?.name ?? ADAPTERS[0]!;
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
}
