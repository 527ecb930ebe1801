// Runs an operation synchronously or, with ?_async=true, as a background task (aptly's way).

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskResult, Tasks } from '../service/tasks.js';
import { DomainError } from '../model/errors.js';
import { statusOf } from './errors.js';
import { taskWire } from './wire/encode.js';

export async function respond(
  req: FastifyRequest,
  reply: FastifyReply,
  tasks: Tasks,
  name: string,
  work: (out: (line: string) => void) => Promise<TaskResult>,
): Promise<FastifyReply> {
  const query = req.query as Record<string, string | undefined>;
  if (query._async === 'true' || query._async === '1') {
    const task = tasks.start(name, work, (err) => (err instanceof DomainError ? statusOf(err) : 500));
    return reply.code(202).send(taskWire(task));
  }
  const r = await work(() => undefined);
  return reply.code(r.code).send(r.value);
}
