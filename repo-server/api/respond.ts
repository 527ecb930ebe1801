// Runs an operation synchronously or, with ?_async=true, as a background task (aptly's way).

import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../service/errors.js';
import type { TaskResult, Tasks } from '../service/tasks.js';

export async function respond(
  req: FastifyRequest,
  reply: FastifyReply,
  tasks: Tasks,
  name: string,
  work: (out: (line: string) => void) => Promise<TaskResult>,
): Promise<FastifyReply> {
  const query = req.query as Record<string, string | undefined>;
  if (query._async === 'true' || query._async === '1') {
    const task = tasks.start(name, work);
    return reply.code(202).send(tasks.json(task));
  }
  const r = await work(() => undefined);
  return reply.code(r.code).send(r.value);
}

export function errorBody(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof ApiError) return { status: err.status, body: { error: err.message, ...(err.body ?? {}) } };
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: e.message ?? 'bad request' } };
  }
  return { status: 500, body: { error: 'internal error' } };
}
