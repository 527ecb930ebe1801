// One server-sent-events response (text/event-stream) with a bound on what it may queue. A
// client that stops reading cannot make the server hold its events: once the bytes waiting in
// the response pass `maxQueuedBytes` the stream is cut, and the client (EventSource or the
// dashboard's fetch reader) reconnects and starts from a fresh snapshot. Events to one key are
// coalesced: a burst of changes to one service costs one event.

import type { ServerResponse } from 'node:http';

export interface EventStreamLimits {
  /** Streams one token may hold open at once (with open reads: one client address). */
  perToken: number;
  /** A comment line is sent this often, so idle proxies and clients see the stream alive. */
  heartbeatMs: number;
  /** Bytes waiting for one client beyond which its stream is closed. */
  maxQueuedBytes: number;
  /** Changes to one service within this window go out as one event. */
  coalesceMs: number;
  /** Lease renewals alone refresh a service's units at most this often. */
  beatMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventStreamLimits = { perToken: 8, heartbeatMs: 15_000, maxQueuedBytes: 1 << 20, coalesceMs: 100, beatMs: 2000 };

export type CloseReason = 'client' | 'slow' | 'shutdown';

export class EventStream {
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly limits: EventStreamLimits,
    private readonly onClose: (reason: CloseReason) => void,
  ) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // A buffering reverse proxy (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    // The client's reconnect delay (EventSource honours it; the dashboard reads it too).
    res.write('retry: 2000\n\n');
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), limits.heartbeatMs);
    res.on('close', () => this.finish('client'));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends one event now. */
  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * Runs `make` within `delayMs` (once, however often this is called meanwhile) and sends its
   * event; an earlier deadline asked for later wins.
   */
  schedule(key: string, delayMs: number, make: () => [event: string, data: unknown] | undefined): void {
    if (this.closed) return;
    const due = Date.now() + delayMs;
    const had = this.pending.get(key);
    if (had && had.due <= due) return;
    if (had) clearTimeout(had.timer);
    const timer = setTimeout(() => {
      this.pending.delete(key);
      const ev = make();
      if (ev) this.send(ev[0], ev[1]);
    }, delayMs);
    this.pending.set(key, { timer, due });
  }

  /** Ends the stream from the server's side (shutdown). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.finish('shutdown');
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.limits.maxQueuedBytes) {
      // Dropped, not paused: a paused stream would still need its backlog kept somewhere.
      this.finish('slow');
      this.res.destroy();
    }
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.onClose(reason);
  }
}
