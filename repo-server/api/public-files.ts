// What a fleet node fetches to set itself up: the archive key and a deb822 .sources snippet.
//   curl -fsS http://repo:8080/keys/archive.asc -o /etc/apt/keyrings/debpkg.asc
//   curl -fsS http://repo:8080/<prefix>/<distribution>.sources -o /etc/apt/sources.list.d/debpkg.sources

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../service/context.js';
import { publishId } from '../storage/store.js';

export const DEFAULT_KEYRING = '/etc/apt/keyrings/debpkg.asc';

function baseUrl(req: FastifyRequest, ctx: Context): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.headers.host ?? `${ctx.config.host}:${ctx.config.port}`}`;
}

export function renderSources(opts: { url: string; suite: string; components: string[]; signedBy: string; architectures?: string[] }): string {
  return [
    'Types: deb',
    `URIs: ${opts.url}`,
    `Suites: ${opts.suite}`,
    `Components: ${opts.components.join(' ')}`,
    ...(opts.architectures?.length ? [`Architectures: ${opts.architectures.join(' ')}`] : []),
    `Signed-By: ${opts.signedBy}`,
    '',
  ].join('\n');
}

export function registerPublicFiles(app: FastifyInstance, ctx: Context): void {
  app.get('/keys/archive.asc', async (_req, reply) => reply.type('application/pgp-keys').send(ctx.signer.publicKeyArmored));
  app.get('/keys/archive.gpg', async (_req, reply) => reply.type('application/octet-stream').send(Buffer.from(ctx.signer.publicKeyBinary)));

  // /<prefix>/<distribution>.sources sits inside the static tree's URL space, so it is
  // answered before the static handler looks for a file.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return;
    const path = decodeURIComponent(req.url.split('?')[0] ?? '');
    const m = /^\/(?:(.+)\/)?([^/]+)\.sources$/.exec(path);
    if (!m) return;
    const prefix = m[1] ?? '.';
    const pub = ctx.store.publishes.get(publishId(prefix, m[2]!));
    if (!pub) return;
    const query = req.query as Record<string, string | undefined>;
    const url = prefix === '.' ? baseUrl(req, ctx) : `${baseUrl(req, ctx)}/${prefix}`;
    const keyring = query.keyring && query.keyring.startsWith('/') && !query.keyring.includes('..') && !query.keyring.includes(',') ? query.keyring : DEFAULT_KEYRING;
    await reply.type('text/plain; charset=utf-8').send(
      renderSources({
        url,
        suite: pub.distribution,
        components: pub.sources.map((s) => s.component),
        // With the publish's SignedBy fingerprints after the keyring, apt (2.6 and 3.0) takes
        // the key from the keyring but accepts only signatures by those keys.
        signedBy: pub.signedBy ? `${keyring},${pub.signedBy}` : keyring,
      }),
    );
  });
}
