// aptly's clients send `Content-Type: application/json` with an empty body on DELETE (and on
// some POSTs without options): fastify's JSON parser refuses that with 400, gin reads it as
// no body. Each aptly resource plugin installs this parser: an empty body is no body; anything
// else goes to fastify's own parser (same limits, same prototype-poisoning refusal).

import type { FastifyInstance } from 'fastify';

export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const strict = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, undefined);
    strict(req, typeof body === 'string' ? body : body.toString('utf8'), done);
  });
}
