// /ui/: the dashboard bundle (ui/, built by `npm run build` into dist/ui/). Public like the apt
// tree: the files hold no data and no token; every API call from the page carries the token the
// operator typed, as a Bearer header. Three files, read once and kept in memory.

import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { NotFound } from '../model/errors.js';
import { PUBLIC } from './auth.js';

const FILES: Record<string, string> = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };

/** From dist/repo-server/http/ to dist/ui/. */
const DIR = new URL('../../ui/', import.meta.url);

export const uiPlugin: FastifyPluginAsync = async (app) => {
  const cache = new Map<string, Buffer>();
  const file = async (name: string): Promise<Buffer> => {
    let body = cache.get(name);
    if (!body) {
      body = await readFile(new URL(name, DIR)).catch(() => {
        throw new NotFound(`the dashboard is not built (${name}): run npm run build`);
      });
      cache.set(name, body);
    }
    return body;
  };
  app.get('/ui', PUBLIC, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui/', PUBLIC, async (_req, reply) => reply.type(FILES['index.html']!).header('cache-control', 'no-cache').send(await file('index.html')));
  app.get('/ui/:file', PUBLIC, async (req, reply) => {
    const name = (req.params as { file: string }).file;
    const type = FILES[name];
    if (!type || name === 'index.html') throw new NotFound(`no dashboard file '${name.slice(0, 100)}'`);
    return reply.type(type).header('cache-control', 'no-cache').send(await file(name));
  });
};
