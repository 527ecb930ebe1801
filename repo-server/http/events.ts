// GET /api/events: the color registry's changes as server-sent events, for the dashboard's live
// view (no polling). Auth is the route's declared access like every other route: the token
// comes in the Authorization header (the dashboard reads the stream with fetch(), since
// EventSource cannot send headers; a token never goes in a URL).
//
// Events: `services` (every service's summary) on connect and after changes; with
// ?service=NAME also `service` (that service in full, units included), `history` (its recent
// swap records) on connect, `swap` (each new record) and `removed`. Lease renewals alone
// refresh `service` at most every `beatMs` (units' LastSeen), real changes within
// `coalesceMs`. Each token holds at most `perToken` streams; a client that stops reading is cut
// (event-stream.ts); server shutdown ends every stream first, so close() does not wait on them.

import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ColorGroups } from '../colors/color-groups.js';
import type { RegistryChange } from '../colors/registry-api.js';
import type { Unit } from '../colors/model.js';
import * as v from '../colors/validate.js';
import type { ServerConfig } from '../config.js';
import { READ } from './auth.js';
import { DEFAULT_EVENT_LIMITS, EventStream, type CloseReason, type EventStreamLimits } from './event-stream.js';
import { query } from './request.js';
import { swapWire } from './wire/colors.js';
import { serviceSummaryWire, serviceWire } from './wire/encode.js';
import { withSchema } from './schemas/schema.js';
import { EVENTS_QUERY } from './schemas/colors.js';

/** Swap records a new stream starts with (the dashboard shows the latest). */
const HISTORY_ON_CONNECT = 100;

export interface EventsOptions {
  colors: ColorGroups;
  config: ServerConfig;
  limits?: Partial<EventStreamLimits>;
  /** Counts streams for /metrics. */
  onStream?: (what: 'opened' | CloseReason) => void;
}

/** Who holds a stream, for the per-token bound: the token (hashed), or the address without one. */
function holderOf(req: FastifyRequest): string {
  const auth = req.headers.authorization;
  return auth ? `t:${createHash('sha256').update(auth).digest('hex')}` : `ip:${req.ip}`;
}

/** Registered with prefix /api. */
export const eventsPlugin: FastifyPluginAsync<EventsOptions> = async (app, { colors, limits: given, onStream }) => {
  const limits: EventStreamLimits = { ...DEFAULT_EVENT_LIMITS, ...given };
  const { registry, feed } = colors;
  const alive = (u: Unit): boolean => registry.alive(u);
  const held = new Map<string, number>();
  const open = new Set<EventStream>();

  // Ends the streams before the server waits for its requests to finish.
  app.addHook('preClose', async () => {
    for (const s of [...open]) s.end();
  });

  app.get('/events', withSchema(READ, { querystring: EVENTS_QUERY }), async (req, reply) => {
    const q = query(req);
    const only = q.service !== undefined ? v.serviceName(q.service) : undefined;
    const holder = holderOf(req);
    const count = held.get(holder) ?? 0;
    if (count >= limits.perToken) {
      return reply.code(429).send({ error: `this token already holds ${count} event streams (the limit); close one first` });
    }
    held.set(holder, count + 1);
    reply.hijack();

    const summaries = (): [string, unknown] => ['services', registry.list().map((s) => serviceSummaryWire(s, alive))];
    const service = (): [string, unknown] | undefined => {
      if (only === undefined) return undefined;
      const s = registry.list().find((x) => x.name === only);
      return s ? ['service', serviceWire(s, alive, registry.options.ttlMs / 1000)] : ['removed', { Name: only }];
    };
    let unsubscribe = (): void => undefined;
    const stream = new EventStream(reply.raw, limits, (reason) => {
      unsubscribe();
      open.delete(stream);
      const n = (held.get(holder) ?? 1) - 1;
      if (n > 0) held.set(holder, n);
      else held.delete(holder);
      onStream?.(reason);
    });
    open.add(stream);
    onStream?.('opened');

    const onChange = (c: RegistryChange): void => {
      if (c.type === 'recorded') {
        if (c.record.service === only) stream.send('swap', swapWire(c.record));
        return;
      }
      if (c.type === 'removed' || !c.beat) stream.schedule('services', limits.coalesceMs, summaries);
      if (c.service === only) stream.schedule('service', c.type === 'service' && c.beat ? limits.beatMs : limits.coalesceMs, service);
    };
    unsubscribe = feed.subscribe(onChange);

    stream.send(...summaries());
    if (only !== undefined) {
      const first = service();
      if (first) stream.send(...first);
      stream.send('history', registry.historyOf(only).slice(-HISTORY_ON_CONNECT).map(swapWire));
    }
  });
};
