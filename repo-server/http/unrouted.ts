// Requests no route takes (unknown path, undecodable URL) are answered like refused uploads: a
// token holder still sending a body gets it read and dropped first (found by the fuzzer: a PUT
// of 9 MB to /api/files/%ff/x.deb was reset mid-send), anyone else is answered and closed.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config.js';
import { hasBody, roleOf } from './auth.js';
import { drainRequest } from './drain.js';

export type UnroutedAnswer = (req: FastifyRequest, reply: FastifyReply, status: number, error: string) => Promise<void>;

export function unroutedAnswer(config: ServerConfig): UnroutedAnswer {
  return async (req, reply, status, error) => {
    if (hasBody(req)) {
      if (roleOf(req, config) === 'anonymous') void reply.header('Connection', 'close');
      else await drainRequest(req.raw, config.maxUploadBytes);
    }
    await reply.code(status).send({ error });
  };
}
