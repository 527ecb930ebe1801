// Domain errors: what went wrong, in the domain's words. No HTTP here (no status numbers):
// http/errors.ts maps each kind to a status and aptly's JSON body, so the registry, the swap
// engine and the operations stay usable from the CLI, a task or a test without a web server.

export class DomainError extends Error {
  constructor(
    message: string,
    /** Evidence for the caller, merged into the API's JSON body (e.g. the refused swap's record). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The request is malformed: a field missing, of the wrong type or out of range. */
export class Invalid extends DomainError {}

/** The thing named does not exist. */
export class NotFound extends DomainError {}

/** The current state does not allow it (nothing to roll back to, already exists, still in use). */
export class Conflict extends DomainError {}

/** A safety check said no (the swap gate); `details` hold the evidence. */
export class Refused extends DomainError {}

/** Well-formed, but there is nothing it can work on (no package matches the filter). */
export class Unsatisfiable extends DomainError {}

/** More data than the configured limit. */
export class TooLarge extends DomainError {}

/** A component outside this process (the load balancer) did not do its part. */
export class UpstreamFailed extends DomainError {}

/** Stored data breaks a rule the code relies on (an old or hand-edited file). */
export class Corrupt extends DomainError {}

/** A service the operation needs (etcd's quorum) cannot be reached right now; retry later. */
export class Unavailable extends DomainError {}
