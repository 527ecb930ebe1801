// How the etcd client tells its failures apart: a member that cannot answer now (another member,
// or a later try, may: retried, and EtcdUnavailable, a 503, once time is up) from etcd refusing
// this client's set-up (the same everywhere: an error at once, naming the fix where known).

import { Unavailable } from '../model/errors.js';

export class EtcdUnavailable extends Unavailable {
  constructor(what: string, cause: string) {
    super(`etcd is unreachable (${what}: ${cause}); the registry is read-only until etcd's quorum is back`);
  }
}

/** gRPC codes worth another member: unavailable, deadline exceeded, aborted (no leader, timeouts). */
export const RETRY_CODES = new Set([4, 10, 14]);

export class RetryableError extends Error {}

/**
 * An answer that is not the gateway's JSON. A 4xx is etcd refusing this client's set-up (it will
 * say the same to every member): an error that names the fix where one is known, not a retry.
 */
export function plainAnswer(status: number, text: string): Error {
  const said = text.split('\n')[0]!.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  if (status < 400 || status >= 500 || status === 408 || status === 429) return new RetryableError(`HTTP ${status}: ${said || 'not JSON'}`);
  const hint = /CommonName/.test(said)
    ? " (etcd's JSON gateway refuses a client certificate that has a Common Name while auth is on: issue --etcd-cert without a CN; the user is --etcd-user)"
    : '';
  return new Error(`etcd: HTTP ${status}: ${said}${hint}`);
}

/** TLS set-up errors name the flags that set it up. */
export function tlsHint(message: string): string {
  return /SSL|TLS|CERT|self.signed|UNABLE_TO_VERIFY/i.test(message) ? ' (a TLS handshake failed: check --etcd-cacert, --etcd-cert and --etcd-key)' : '';
}
