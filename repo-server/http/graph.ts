// aptly's GET /api/graph.:ext: the repos/snapshots/publishes graph (service/graph.ts) as DOT
// (`dot`, `gv`), or rendered by Graphviz's `dot -T<ext>` as aptly does. The format is one of
// a fixed list, never the URL text, and dot runs with a time and output bound.

import { spawn } from 'node:child_process';
import type { FastifyPluginAsync } from 'fastify';
import { Invalid } from '../model/errors.js';
import { buildGraph, type GraphLayout } from '../service/graph.js';
import { READ } from './auth.js';
import { param, query, type ResourceOptions } from './request.js';
import { queryOf, withSchema } from './schemas/schema.js';

const RENDERED: Record<string, string> = { svg: 'image/svg+xml', png: 'image/png', pdf: 'application/pdf', jpg: 'image/jpeg', gif: 'image/gif' };
const DOT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT = 64 << 20;

function render(format: string, source: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('dot', [`-T${format}`], { stdio: ['pipe', 'pipe', 'pipe'], timeout: DOT_TIMEOUT_MS });
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => void (err = (err + c.toString()).slice(-2000)));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new Error(e.code === 'ENOENT' ? 'unable to execute dot (is the graphviz package installed?)' : e.message)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`dot -T${format} failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(source);
  });
}

/** Registered with prefix /api. */
export const graphPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  app.get('/graph.:ext', withSchema(READ, { querystring: queryOf({ layout: 'horizontal (default) or vertical' }) }), async (req, reply) => {
    const ext = param(req, 'ext');
    const layout = query(req).layout ?? '';
    if (layout !== '' && layout !== 'horizontal' && layout !== 'vertical') throw new Invalid(`layout must be horizontal or vertical, got '${layout.slice(0, 50)}'`);
    const dot = buildGraph(ctx, (layout || 'horizontal') as GraphLayout);
    if (ext === 'dot' || ext === 'gv') return reply.type('text/plain; charset=utf-8').send(dot);
    const type = Object.hasOwn(RENDERED, ext) ? RENDERED[ext] : undefined;
    if (type === undefined) throw new Invalid(`graph format must be one of dot, gv, ${Object.keys(RENDERED).join(', ')}; got '${ext.slice(0, 20)}'`);
    return reply.type(type).send(await render(ext, dot));
  });
};
