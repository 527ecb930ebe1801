// Bearer tokens: every write under /api needs the admin token (aptly has no auth at all);
// reads may be opened by configuration. Node tokens may only register and heartbeat.

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../service/context.js';

export type Role = 'admin' | 'node' | 'anonymous';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function roleOf(req: FastifyRequest, config: ServerConfig): Role {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return 'anonymous';
  const token = m[1]!;
  if (same(token, config.adminToken)) return 'admin';
  if (config.nodeTokens.some((t) => same(token, t))) return 'node';
  return 'anonymous';
}

/** Paths a node token may write to (the color registry's register/heartbeat endpoints). */
const NODE_WRITES = [/^\/api\/units(\/|$)/];

export function registerAuth(app: FastifyInstance, config: ServerConfig): void {
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/') && path !== '/api') return;
    const read = req.method === 'GET' || req.method === 'HEAD';
    const role = roleOf(req, config);
    if (role === 'admin') return;
    if (read && (config.openReads || path === '/api/version')) return;
    if (!read && role === 'node' && NODE_WRITES.some((re) => re.test(path))) return;
    const status = role === 'anonymous' ? 401 : 403;
    await reply
      .code(status)
      .header('WWW-Authenticate', 'Bearer realm="debpkg"')
      .send({ error: status === 401 ? 'authentication required: send Authorization: Bearer <token>' : 'this token may not do that' });
  });
}
