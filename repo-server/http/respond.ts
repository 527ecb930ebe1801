// Runs an operation synchronously or, with ?_async=<truthy>, as a background task (aptly's way).

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskIo, TaskResult, Tasks } from '../service/tasks.js';
import { DomainError } from '../model/errors.js';
import { statusOf } from './errors.js';
import { taskWire } from './wire/encode.js';

/**
 * aptly's `truthy`: a present `_async` is true unless it is one of n/no/f/false/0/off (any
 * case); Python clients send `True`, and a bare `?_async` (empty value) counts as true too.
 */
export function asyncRequested(value: string | string[] | undefined): boolean {
  if (value === undefined) return false;
  const v = Array.isArray(value) ? (value[value.length - 1] ?? '') : value;
  return !['n', 'no', 'f', 'false', '0', 'off'].includes(v.toLowerCase());
}

const quiet: TaskIo = { out: () => undefined, progress: () => undefined };

export async function respond(
  req: FastifyRequest,
  reply: FastifyReply,
  tasks: Tasks,
  name: string,
  work: (out: (line: string) => void, io: TaskIo) => Promise<TaskResult>,
): Promise<FastifyReply> {
  const query = req.query as Record<string, string | string[] | undefined>;
  if (asyncRequested(query._async)) {
    const task = tasks.start(name, work, (err) => (err instanceof DomainError ? statusOf(err) : 500));
    return reply.code(202).send(taskWire(task));
  }
  const r = await work(quiet.out, quiet);
  return reply.code(r.code).send(r.value);
}
