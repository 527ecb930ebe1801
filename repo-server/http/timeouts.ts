// Bounds on how long a client may hold a connection: a request head must arrive in time (node's
// headersTimeout, also read by the raw front), idle keep-alive connections close, and a request
// body must keep a minimum rate. node's requestTimeout bounds the whole request, which would cut
// a large upload on a slow but honest link; a rate floor cuts only clients that trickle bytes to
// hold a connection (one byte every few seconds) and costs nothing per chunk.

import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { RequestTimeouts } from '../service/context.js';
import { hasBody } from './auth.js';

export function applyServerTimeouts(server: Server, t: RequestTimeouts): void {
  server.headersTimeout = t.headersMs;
  server.keepAliveTimeout = t.keepAliveMs;
  // The whole-request bound stays off (uploads can be large); the body floor below replaces it.
  server.requestTimeout = 0;
}

/**
 * Cuts a request whose body arrives slower than the floor. Progress is read from the socket's
 * byte counter, never from a 'data' listener (that would start the body flowing before its
 * handler reads it); a window in which the server itself was not reading does not count.
 */
export function registerBodyRateFloor(app: FastifyInstance, t: RequestTimeouts): void {
  if (t.bodyMinBytesPerSecond <= 0) return;
  const minPerWindow = (t.bodyMinBytesPerSecond * t.bodyWindowMs) / 1000;
  app.addHook('onRequest', async (req) => {
    if (!hasBody(req)) return;
    const raw = req.raw;
    const socket = raw.socket;
    let last = socket.bytesRead;
    const timer = setInterval(() => {
      if (raw.complete || raw.destroyed) return stop();
      const now = socket.bytesRead;
      const stalledByUs = socket.isPaused() || raw.readableLength > 0;
      if (!stalledByUs && now - last < minPerWindow) {
        req.log.warn({ url: req.url, bytes: now - last, windowMs: t.bodyWindowMs }, 'request body too slow; connection closed');
        stop();
        socket.destroy();
        return;
      }
      last = now;
    }, t.bodyWindowMs);
    timer.unref();
    // One keep-alive socket carries many requests: every listener added here is taken off again.
    const stop = (): void => {
      clearInterval(timer);
      raw.off('end', stop);
      raw.off('close', stop);
      socket.off('close', stop);
    };
    raw.once('end', stop);
    raw.once('close', stop);
    socket.once('close', stop);
  });
}
