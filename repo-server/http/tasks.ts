// aptly's task API: writes run in the background with ?_async=true (see respond.ts); these
// routes list, wait for, read and drop the tasks.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Invalid, NotFound } from '../model/errors.js';
import type { Task } from '../service/tasks.js';
import { ADMIN, READ } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { param, type ResourceOptions } from './request.js';
import { respond } from './respond.js';
import { taskReturnValueWire, taskWire } from './wire/encode.js';
import { asyncQuery, withSchema } from './schemas/schema.js';

/** Registered with prefix /api (aptly has /api/tasks-clear and /api/tasks-wait beside /api/tasks). */
export const tasksPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { tasks }) => {
  const id = (req: FastifyRequest): number => Number(param(req, 'id'));
  const task = (req: FastifyRequest, Missing: typeof NotFound | typeof Invalid = NotFound) => tasks.get(id(req), Missing);
  // JSON bodies as aptly's: the output as one string, the return value as {Code, Value}.
  const json = (value: unknown): string => JSON.stringify(value);
  // aptly: the progress the task stored (a publish's package counters), {} when it stored none.
  const detailOf = (t: Task): unknown => t.result?.detail ?? t.detail ?? {};

  acceptEmptyJsonBodies(app);
  app.get('/tasks', READ, async () => tasks.list().map(taskWire));
  app.post('/tasks-clear', ADMIN, async () => {
    tasks.clear();
    return {};
  });
  app.get('/tasks-wait', READ, async () => {
    await tasks.waitAll();
    return {};
  });
  app.get('/tasks/:id', READ, async (req) => taskWire(task(req)));
  app.get('/tasks/:id/wait', READ, async (req) => {
    const t = task(req, Invalid);
    await t.done;
    return taskWire(t);
  });
  app.get('/tasks/:id/output', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(json(task(req).output.join('\n'))));
  app.get('/tasks/:id/detail', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(json(detailOf(task(req)))));
  app.get('/tasks/:id/return_value', READ, async (req, reply) => reply.type('application/json; charset=utf-8').send(json(taskReturnValueWire(task(req).result))));
  app.delete('/tasks/:id', ADMIN, async (req) => taskWire(tasks.delete(id(req))));
  // aptly's self-test task: answers 418 with [1, 2, 3] (as a task with ?_async=true).
  app.post('/tasks-dummy', withSchema(ADMIN, { querystring: asyncQuery() }), async (req, reply) =>
    respond(req, reply, tasks, 'Dummy task', async (out) => {
      out('Dummy task started');
      out('Dummy task finished');
      return { code: 418, value: [1, 2, 3], detail: [1, 2, 3] };
    }),
  );
};
