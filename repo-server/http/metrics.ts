// /metrics in Prometheus text format (prom-client). Requests are labelled by the matched route
// pattern, never the raw URL (a URL per package would explode the series). Registry state
// (units, weights, the active color) and publish generations are read at scrape time; events
// (heartbeats, expiries, swaps, LB errors, uploads/adds/publishes) are counted as they happen.
// One prom-client Registry per server: tests run several servers in one process.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ColorGroups } from '../colors/color-groups.js';
import type { DomainMetrics } from '../model/metrics.js';
import type { MetadataStore } from '../storage/interfaces.js';
import { METRICS } from './auth.js';

/** The repo operations an operator times, by the route that performs them. */
function operationOf(method: string, route: string): string | undefined {
  if (method === 'POST' && route.startsWith('/api/files/')) return 'upload';
  if (method === 'POST' && route.startsWith('/api/repos/') && route.includes('/file/')) return 'add';
  if ((method === 'POST' || method === 'PUT') && route.startsWith('/api/publish')) return 'publish';
  return undefined;
}

/** The route agents' heartbeats take (and the label they are counted under). */
export const UNIT_ROUTE = '/api/units/:service/:node';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly operations: Histogram<'operation' | 'outcome'>;
  private readonly heartbeats: Counter<'service' | 'color'>;
  private readonly expiries: Counter<'service' | 'color'>;
  private readonly swaps: Counter<'service' | 'kind' | 'result'>;
  private readonly refusals: Counter<'service' | 'color'>;
  private readonly lbErrors: Counter<'adapter'>;
  private readonly streams: Gauge;
  private readonly streamsClosed: Counter<'reason'>;
  /** Filled by `watch` once the color groups and the store are open. */
  private sources: { colors: ColorGroups; store: MetadataStore } | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'debpkg_' });
    // prom-client names these gauges *_total, which promtool's lint rejects (a counter suffix).
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`debpkg_nodejs_${name}`);
    this.requests = new Histogram({
      name: 'debpkg_http_request_duration_seconds',
      help: 'HTTP requests by method, matched route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.operations = new Histogram({
      name: 'debpkg_repo_operation_duration_seconds',
      help: 'Uploads, adds and publishes (as requests; an _async publish counts its queueing only)',
      labelNames: ['operation', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    });
    this.heartbeats = new Counter({ name: 'debpkg_unit_heartbeats_total', help: 'Accepted unit heartbeats', labelNames: ['service', 'color'], registers });
    this.expiries = new Counter({ name: 'debpkg_unit_expiries_total', help: 'Unit leases that ran out without a deregistration', labelNames: ['service', 'color'], registers });
    this.swaps = new Counter({ name: 'debpkg_swaps_total', help: 'Recorded swaps and rollbacks by result', labelNames: ['service', 'kind', 'result'], registers });
    this.refusals = new Counter({ name: 'debpkg_gate_refusals_total', help: 'Swaps stopped by the health gate (refused or reverted), by target color', labelNames: ['service', 'color'], registers });
    this.lbErrors = new Counter({ name: 'debpkg_lb_errors_total', help: 'Load balancer applies that failed', labelNames: ['adapter'], registers });
    this.streams = new Gauge({ name: 'debpkg_event_streams', help: 'Open /api/events streams (dashboard live views)', registers });
    this.streamsClosed = new Counter({ name: 'debpkg_event_streams_closed_total', help: 'Closed /api/events streams: by the client, cut for not reading (slow), or at shutdown', labelNames: ['reason'], registers });
    const state = (): { colors: ColorGroups; store: MetadataStore } | undefined => this.sources;
    new Gauge({
      name: 'debpkg_units',
      help: 'Registered units per service and color: alive (lease current) and healthy (alive and reporting healthy)',
      labelNames: ['service', 'color', 'state'],
      registers,
      collect() {
        this.reset();
        const s = state();
        if (!s) return;
        const { registry } = s.colors;
        for (const svc of registry.list()) {
          for (const color of ['blue', 'green'] as const) {
            const mine = svc.units.filter((u) => u.color === color && registry.alive(u));
            this.set({ service: svc.name, color, state: 'alive' }, mine.length);
            this.set({ service: svc.name, color, state: 'healthy' }, mine.filter((u) => u.health === 'healthy').length);
          }
        }
      },
    });
    new Gauge({
      name: 'debpkg_color_weight_percent',
      help: "Traffic share of each color in percent",
      labelNames: ['service', 'color'],
      registers,
      collect() {
        this.reset();
        for (const svc of state()?.colors.registry.list() ?? []) for (const color of ['blue', 'green'] as const) this.set({ service: svc.name, color }, svc.weights[color]);
      },
    });
    new Gauge({
      name: 'debpkg_color_active',
      help: 'The active color of each service (1) and the other (0)',
      labelNames: ['service', 'color'],
      registers,
      collect() {
        this.reset();
        for (const svc of state()?.colors.registry.list() ?? []) for (const color of ['blue', 'green'] as const) this.set({ service: svc.name, color }, svc.active === color ? 1 : 0);
      },
    });
    new Gauge({
      name: 'debpkg_etcd_keepalive_member',
      help: "With etcd: the member this server's lease keepalive stream is on (1; it follows etcd's leader)",
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        const member = state()?.colors.keepalive?.().member;
        if (member) this.set({ endpoint: member }, 1);
      },
    });
    new Counter({
      name: 'debpkg_etcd_keepalive_moves_total',
      help: "With etcd: times the lease keepalive stream moved to a new etcd leader",
      registers,
      collect() {
        const k = state()?.colors.keepalive?.();
        this.reset();
        if (k) this.inc(k.moves);
      },
    });
    new Gauge({
      name: 'debpkg_publish_generation',
      help: 'Live generation number of each published distribution',
      labelNames: ['prefix', 'distribution'],
      registers,
      collect() {
        this.reset();
        for (const p of state()?.store.publishes.values() ?? []) this.set({ prefix: p.prefix, distribution: p.distribution }, p.generation);
      },
    });
  }

  /** What the domain calls (color-groups.ts wires it to the registry and the LB adapter). */
  readonly domain: DomainMetrics = {
    unitExpired: (service, color) => this.expiries.inc({ service, color }),
    swapRecorded: (service, kind, to, result) => {
      this.swaps.inc({ service, kind, result });
      if (result === 'refused' || result === 'reverted') this.refusals.inc({ service, color: to });
    },
    lbError: (adapter) => this.lbErrors.inc({ adapter }),
  };

  /** http/events.ts's stream count. */
  readonly eventStream = (what: 'opened' | 'client' | 'slow' | 'shutdown'): void => {
    if (what === 'opened') this.streams.inc();
    else {
      this.streams.dec();
      this.streamsClosed.inc({ reason: what });
    }
  };

  watch(colors: ColorGroups, store: MetadataStore): void {
    this.sources = { colors, store };
  }

  /** The onResponse hook (http/app.ts): every routed request, by pattern. */
  observe(req: FastifyRequest, reply: FastifyReply): void {
    const route = req.is404 ? '(unrouted)' : (req.routeOptions.url ?? '(unrouted)');
    const params = req.params as Record<string, string> | undefined;
    const body = req.body as { Color?: unknown } | undefined;
    this.request(req.method, route, reply.statusCode, reply.elapsedTime / 1000, params?.service, typeof body?.Color === 'string' ? body.Color : undefined);
  }

  /** One answered request (the hook above, or http/unit-front.ts's heartbeats that bypass fastify). */
  request(method: string, route: string, status: number, seconds: number, service?: string, color?: string): void {
    this.requests.observe({ method, route, status: String(status) }, seconds);
    const op = operationOf(method, route);
    if (op) this.operations.observe({ operation: op, outcome: status < 400 ? 'ok' : 'error' }, seconds);
    if (method === 'PUT' && route === UNIT_ROUTE && status === 200) this.heartbeats.inc({ service: service ?? '', color: color ?? '' });
  }
}

export interface MetricsOptions {
  metrics: ServerMetrics;
}

/** Registered without prefix: GET /metrics, for the admin or the metrics token. */
export const metricsPlugin: FastifyPluginAsync<MetricsOptions> = async (app, { metrics }) => {
  app.get('/metrics', METRICS, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
