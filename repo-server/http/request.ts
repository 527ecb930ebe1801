// What every resource plugin takes and reads from a request: the service context, the task
// list, URL parameters and aptly's query flags.

import type { FastifyRequest } from 'fastify';
import type { Context } from '../service/context.js';
import type { Tasks } from '../service/tasks.js';
import { objectBody, type Body } from './wire/decode.js';

/** The options each aptly resource plugin is registered with (besides its prefix). */
export interface ResourceOptions {
  ctx: Context;
  tasks: Tasks;
}

export type Params = Record<string, string>;
export type Query = Record<string, string | undefined>;

/** A URL parameter the route's path declares. */
export function param(req: FastifyRequest, name: string): string {
  const v = (req.params as Params)[name];
  if (v === undefined) throw new Error(`route ${req.routeOptions.url ?? req.url} has no :${name}`);
  return v;
}

export const query = (req: FastifyRequest): Query => req.query as Query;

/** aptly's boolean query flags: "1" or "true". */
export const flag = (v: string | undefined): boolean => v === '1' || v === 'true';

/** The JSON object body (none reads as {}). */
export const body = (req: FastifyRequest): Body => objectBody(req.body);
