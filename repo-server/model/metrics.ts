// What the domain reports for /metrics, as plain calls: the HTTP edge backs them with
// prom-client (http/metrics.ts); the domain never imports a metrics library (import-graph rules).

export interface DomainMetrics {
  /** A unit's lease ran out without a deregistration. */
  unitExpired(service: string, color: string): void;
  /** A swap or rollback was recorded (result: done, refused, reverted, failed). */
  swapRecorded(service: string, kind: string, to: string, result: string): void;
  /** The load balancer adapter failed to apply a state. */
  lbError(adapter: string): void;
}

export const NO_METRICS: DomainMetrics = { unitExpired() {}, swapRecorded() {}, lbError() {} };
