// What a fleet node fetches to set itself up: the archive key and a deb822 .sources snippet.
//   curl -fsS http://repo:8080/keys/archive.asc -o /etc/apt/keyrings/debpkg.asc
//   curl -fsS http://repo:8080/<prefix>/<distribution>.sources -o /etc/apt/sources.list.d/debpkg.sources
// Every value in the snippet is either ours (a publish that exists) or checked against a strict
// grammar here: the file is parsed by apt as deb822, where a newline in a value is a new field.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../service/context.js';
import { invalid } from '../../service/errors.js';
import { publishId } from '../../storage/store.js';
import { PUBLIC } from '../auth.js';

export const DEFAULT_KEYRING = '/etc/apt/keyrings/debpkg.asc';

/** An absolute path of safe characters, no `.`/`..` segment (apt's Signed-By takes paths or fingerprints). */
const KEYRING = /^(?:\/[A-Za-z0-9_+@=-][A-Za-z0-9._+@=-]{0,254})+$/;
const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;
/** host[:port] as a URL authority: a DNS name, IPv4, or bracketed IPv6. */
const AUTHORITY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

export function validKeyring(value: string): boolean {
  return value.length <= 4096 && KEYRING.test(value) && !DOT_SEGMENT.test(value);
}

function baseUrl(req: FastifyRequest, ctx: Context): string {
  if (ctx.config.publicUrl) return ctx.config.publicUrl.replace(/\/+$/, '');
  const host = req.headers.host;
  // The Host header is the client's word: used only when it is a plain authority.
  const authority = host && AUTHORITY.test(host) ? host : `${ctx.config.host}:${ctx.config.port}`;
  return `${req.protocol === 'https' ? 'https' : 'http'}://${authority}`;
}

export function renderSources(opts: { url: string; suite: string; components: string[]; signedBy: string; architectures?: string[]; withSources?: boolean }): string {
  const fields: [string, string][] = [
    // deb-src only where Sources indexes are published: apt warns about a missing index otherwise.
    ['Types', opts.withSources ? 'deb deb-src' : 'deb'],
    ['URIs', opts.url],
    ['Suites', opts.suite],
    ['Components', opts.components.join(' ')],
    ...(opts.architectures?.length ? ([['Architectures', opts.architectures.join(' ')]] as [string, string][]) : []),
    ['Signed-By', opts.signedBy],
  ];
  for (const [name, value] of fields) {
    // Defence in depth: the values above are validated where they enter; none may break a line.
    if (/[\x00-\x1f\x7f]/.test(value)) throw new Error(`.sources field ${name} holds a control character`);
  }
  return `${fields.map(([n, v]) => `${n}: ${v}`).join('\n')}\n`;
}

export function registerPublicFiles(app: FastifyInstance, ctx: Context): void {
  // The keys that sign a publish naming none (`serve --gpg-key`, repeated during a rotation;
  // else the server's own key), so a node that fetches the key trusts every default signer.
  app.get('/keys/archive.asc', PUBLIC, async (_req, reply) => reply.type('application/pgp-keys').send((await ctx.keyring.signerFor(undefined)).publicKeyArmored));
  app.get('/keys/archive.gpg', PUBLIC, async (_req, reply) => reply.type('application/octet-stream').send(Buffer.from((await ctx.keyring.signerFor(undefined)).publicKeyBinary)));
}

/**
 * `/<prefix>/<distribution>.sources` (path already decoded by the router): answers and returns
 * true when it names a publish; false leaves the path to the static tree.
 */
export async function answerSources(req: FastifyRequest, reply: FastifyReply, ctx: Context, path: string): Promise<boolean> {
  const m = /^(?:(.+)\/)?([^/]+)\.sources$/.exec(path);
  if (!m) return false;
  const prefix = m[1] ?? '.';
  const pub = ctx.store.publishes.get(publishId(prefix, m[2]!));
  if (!pub) return false;
  const query = req.query as Record<string, string | string[] | undefined>;
  const asked = query.keyring;
  if (asked !== undefined && (typeof asked !== 'string' || !validKeyring(asked))) {
    throw invalid('keyring must be one absolute path of letters, digits and . _ + @ = - (no . or .. segments)');
  }
  const keyring = asked ?? DEFAULT_KEYRING;
  const base = baseUrl(req, ctx);
  const url = prefix === '.' ? base : `${base}/${prefix.split('/').map(encodeURIComponent).join('/')}`;
  await reply.type('text/plain; charset=utf-8').send(
    renderSources({
      url,
      suite: pub.distribution,
      components: pub.sources.map((s) => s.component),
      withSources: (pub.architectures.length > 0 ? pub.architectures : (pub.publishedArchitectures ?? [])).includes('source'),
      // With the publish's SignedBy fingerprints after the keyring, apt (2.6 and 3.0) takes
      // the key from the keyring but accepts only signatures by those keys.
      signedBy: pub.signedBy ? `${keyring},${pub.signedBy}` : keyring,
    }),
  );
  return true;
}
