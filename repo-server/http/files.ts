// aptly's upload area, /api/files: directories of uploaded files that a later
// POST /api/repos/:name/file/:dir adds to a repo. Uploads stream to disk (multipart, or the raw
// body of a PUT); a refused upload's body is still read (app.ts's error answer), so the client
// gets the answer.

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { Invalid, NotFound } from '../model/errors.js';
import { safeSegment } from '../service/names.js';
import { Uploads, type UploadPart } from '../service/uploads.js';
import { ADMIN, READ } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { param, type ResourceOptions } from './request.js';
import type { UploadAnswerWire } from './wire.js';

/** Registered with prefix /api/files. */
export const filesPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const uploads = new Uploads(ctx);
  const limit = ctx.config.maxUploadBytes;
  acceptEmptyJsonBodies(app);

  app.get('', READ, async () => uploads.listDirs());
  app.get('/:dir', READ, async (req) => uploads.listFiles(param(req, 'dir')));
  app.post('/:dir', { config: { access: 'admin', upload: 'multipart' } }, async (req, reply) => {
    const dir = safeSegment(param(req, 'dir'), 'directory');
    if (!req.isMultipart()) throw new Invalid('expected multipart/form-data with one or more files');
    async function* files(): AsyncGenerator<UploadPart> {
      for await (const part of req.parts()) if (part.type === 'file') yield { filename: part.filename, body: part.file as Readable };
    }
    const stored: UploadAnswerWire = await uploads.receive(dir, files(), limit);
    return reply.code(200).send(stored);
  });
  // The raw body of any content type streams to the file (curl --data-binary sends
  // application/x-www-form-urlencoded); the parser is scoped to this one route.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    raw.put('/:dir/:file', { config: { access: 'admin', upload: 'raw' } }, async (req): Promise<UploadAnswerWire> => {
      const dir = param(req, 'dir');
      const file = param(req, 'file');
      safeSegment(dir, 'directory');
      safeSegment(file, 'file name');
      if (req.body === undefined || req.body === null) throw new Invalid('PUT /api/files/:dir/:file needs the file as the request body');
      const body = req.body as Readable;
      async function* one(): AsyncGenerator<UploadPart> {
        yield { filename: file, body };
      }
      return uploads.receive(dir, one(), limit);
    });
  });
  // "/api/files/" (what "/api/files/.", "/api/files/dir/.." resolve to) names no directory:
  // 404, as aptly answers, and never the upload root.
  const dirOf = (req: FastifyRequest): string => {
    const dir = param(req, 'dir');
    if (dir === '') throw new NotFound('no upload directory named');
    return dir;
  };
  app.delete('/:dir', ADMIN, async (req) => {
    await uploads.remove(dirOf(req));
    return {};
  });
  app.delete('/:dir/:file', ADMIN, async (req) => {
    await uploads.remove(dirOf(req), param(req, 'file'));
    return {};
  });
};
