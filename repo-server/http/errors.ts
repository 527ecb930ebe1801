// Domain errors → HTTP: one table of statuses and aptly's JSON body {"error": "…", …details}.
// The only place that knows which status a domain error answers with.

import { Conflict, Corrupt, DomainError, Invalid, NotFound, Refused, TooLarge, Unavailable, Unsatisfiable, UpstreamFailed } from '../model/errors.js';
import { GateRefused } from '../colors/swap.js';
import { PoolClash } from '../service/publishing.js';
import { ImportConflict, ImportRefused } from '../service/repos.js';
import { gateRefusedWire } from './wire/colors.js';
import { importReportWire } from './wire/encode.js';

type ErrorKind = abstract new (...args: never[]) => DomainError;

/** Most specific first: a subclass (the gate's GateRefused) answers as its nearest listed kind. */
const STATUS: ReadonlyArray<readonly [ErrorKind, number]> = [
  [Invalid, 400],
  [NotFound, 404],
  [Conflict, 409],
  [Refused, 409],
  [TooLarge, 413],
  [Unsatisfiable, 422],
  [Corrupt, 500],
  [UpstreamFailed, 502],
  [Unavailable, 503],
];

export function statusOf(err: DomainError): number {
  return STATUS.find(([kind]) => err instanceof kind)?.[1] ?? 500;
}

/** The evidence an error carries, in the API's words (aptly sends an import's report with the error). */
function detailsOf(err: DomainError): Record<string, unknown> {
  if (err instanceof ImportRefused || err instanceof ImportConflict) return { ...importReportWire(err.report) };
  if (err instanceof PoolClash) return { Paths: err.paths };
  if (err instanceof GateRefused) return { ...gateRefusedWire(err) };
  return err.details ?? {};
}

export function errorBody(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof DomainError) return { status: statusOf(err), body: { error: err.message, ...detailsOf(err) } };
  // Fastify's own 4xx (a body that is not JSON, a body over the limit) keep their status.
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: e.message ?? 'bad request' } };
  }
  return { status: 500, body: { error: 'internal error' } };
}
