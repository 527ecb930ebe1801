// What happens to the unread body of a request answered with an error: the one rule for every
// refusal after the access hook (a route's error, an unrouted path, an undecodable URL). An
// upload refused part-way (a bad file name in the second part, say) is answered only after the
// rest of its body has been read and dropped, up to the upload limit: a client still sending
// would otherwise have its connection reset before it reads the answer (undici, curl --fail).
// Only token holders get that; anyone else is answered and closed, so an anonymous body costs
// nothing but its headers. The body-rate floor (timeouts.ts) still cuts a client that trickles.

import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config.js';
import { hasBody, roleOf } from './auth.js';

/** Before an error answer: drain a token holder's body still arriving, close on anyone else. */
export async function refuseBody(req: FastifyRequest, reply: FastifyReply, config: ServerConfig): Promise<void> {
  if (!hasBody(req)) return;
  if (roleOf(req, config) === 'anonymous') void reply.header('Connection', 'close');
  else await drainRequest(req.raw, config.maxUploadBytes);
}

export async function drainRequest(req: IncomingMessage, limit: number): Promise<void> {
  if (req.complete || req.destroyed) return;
  req.unpipe();
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = (): void => {
      req.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limit) {
        req.destroy();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}
