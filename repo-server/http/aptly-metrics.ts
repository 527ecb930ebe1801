// aptly 1.6's GET /api/metrics: the families aptly exports (aptly_api_http_*, aptly_build_info,
// aptly_api_files_uploaded_total, aptly_repos_package_count) in their own registry, served after
// the server's own (/metrics, http/metrics.ts) so one scrape of /api/metrics has both and
// aptly dashboards keep working. Same access as /metrics (admin or metrics token). aptly labels
// requests by the URL's first two segments; here by the matched route's, so a client cannot
// mint series with made-up URLs. Upload directories are labelled as aptly does, up to a bound.

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { MetadataStore } from '../storage/interfaces.js';
import { METRICS } from './auth.js';
import type { ServerMetrics } from './metrics.js';
import { APTLY_API_VERSION } from './status.js';

/** Distinct upload directories labelled; later ones count under "(other)". */
const MAX_DIRECTORIES = 1000;

export class AptlyMetrics {
  readonly registry = new Registry();
  private readonly inFlight: Gauge<'method' | 'path'>;
  private readonly total: Counter<'code' | 'method' | 'path'>;
  private readonly requestSize: Summary<'code' | 'method' | 'path'>;
  private readonly responseSize: Summary<'code' | 'method' | 'path'>;
  private readonly duration: Summary<'code' | 'method' | 'path'>;
  private readonly uploaded: Counter<'directory'>;
  private readonly directories = new Set<string>();

  constructor(store: MetadataStore) {
    const registers = [this.registry];
    const labels = ['code', 'method', 'path'] as const;
    this.inFlight = new Gauge({ name: 'aptly_api_http_requests_in_flight', help: 'Number of concurrent HTTP api requests currently handled.', labelNames: ['method', 'path'], registers });
    this.total = new Counter({ name: 'aptly_api_http_requests_total', help: 'Total number of api requests.', labelNames: labels, registers });
    this.requestSize = new Summary({ name: 'aptly_api_http_request_size_bytes', help: 'Api HTTP request size in bytes.', labelNames: labels, registers });
    this.responseSize = new Summary({ name: 'aptly_api_http_response_size_bytes', help: 'Api HTTP response size in bytes.', labelNames: labels, registers });
    this.duration = new Summary({ name: 'aptly_api_http_request_duration_seconds', help: 'Duration of api requests in seconds.', labelNames: labels, registers });
    new Gauge({ name: 'aptly_build_info', help: "Metric with a constant '1' value labeled by version and goversion from which aptly was built.", labelNames: ['version', 'goversion'], registers }).set(
      { version: APTLY_API_VERSION, goversion: `node ${process.version}` },
      1,
    );
    this.uploaded = new Counter({ name: 'aptly_api_files_uploaded_total', help: 'Total number of uploaded files labeled by upload directory.', labelNames: ['directory'], registers });
    new Gauge({
      name: 'aptly_repos_package_count',
      help: 'Current number of published packages labeled by source, distribution and component.',
      labelNames: ['source', 'distribution', 'component'],
      registers,
      collect() {
        this.reset();
        for (const pub of store.publishes.values()) {
          const source = `[${pub.sources.map((s) => `${s.name}:${s.component}`).join(' ')}]`;
          for (const s of pub.sources) {
            const keys = pub.sourceKind === 'local' ? store.repoPackages.get(s.name)?.size : store.snapshots.get(s.name)?.packages.length;
            this.set({ source, distribution: pub.distribution, component: s.component }, keys ?? 0);
          }
        }
      },
    });
  }

  /** A request begins/ends being handled (http/unit-front.ts's heartbeats; the hooks below for the rest). */
  inFlightDelta(method: string, path: string, delta: 1 | -1): void {
    if (delta > 0) this.inFlight.inc({ method, path });
    else this.inFlight.dec({ method, path });
  }

  /** One answered request under aptly's labels (`path`: the route's first two segments). */
  answered(method: string, path: string, status: number, requestBytes: number, responseBytes: number, seconds: number): void {
    const labels = { code: String(status), method, path };
    this.total.inc(labels);
    this.requestSize.observe(labels, requestBytes);
    this.responseSize.observe(labels, responseBytes);
    this.duration.observe(labels, seconds);
  }

  /** Hooks on the root instance, added before the resource plugins register. */
  install(app: FastifyInstance): void {
    const pathOf = (req: FastifyRequest): string => {
      if (req.is404) return '(unrouted)';
      const segments = (req.routeOptions.url ?? '').split('/').slice(1, 3);
      return segments.length === 0 ? '/' : `/${segments.join('/')}`;
    };
    // A request refused by the access hook (which runs first) never reaches this hook: only
    // the requests counted in are counted out, so the gauge cannot go below zero.
    const counted = new WeakSet<FastifyRequest>();
    app.addHook('onRequest', async (req) => {
      counted.add(req);
      this.inFlight.inc({ method: req.method, path: pathOf(req) });
    });
    app.addHook('onResponse', async (req, reply) => {
      const path = pathOf(req);
      if (counted.delete(req)) this.inFlight.dec({ method: req.method, path });
      this.answered(req.method, path, reply.statusCode, Number(req.headers['content-length'] ?? 0) || 0, Number(reply.getHeader('content-length') ?? 0) || 0, reply.elapsedTime / 1000);
      if (req.method === 'POST' && req.routeOptions.url === '/api/files/:dir' && reply.statusCode === 200) {
        const dir = (req.params as Record<string, string>).dir ?? '';
        if (this.directories.size < MAX_DIRECTORIES) this.directories.add(dir);
        this.uploaded.inc({ directory: this.directories.has(dir) ? dir : '(other)' });
      }
    });
  }
}

export interface AptlyMetricsOptions {
  server: ServerMetrics;
  aptly: AptlyMetrics;
}

/** Registered with prefix /api: GET /api/metrics. */
export const aptlyMetricsPlugin: FastifyPluginAsync<AptlyMetricsOptions> = async (app, { server, aptly }) => {
  app.get('/metrics', METRICS, async (_req, reply) => {
    const text = (await server.registry.metrics()) + (await aptly.registry.metrics());
    return reply.type(server.registry.contentType).send(text);
  });
};
