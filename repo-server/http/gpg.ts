// aptly's POST /api/gpg/key: a public key into a trusted keyring (pgp/trusted.ts). The key comes
// armored in `GpgKeyArmor` (aptly 1.6); `Keyserver` is refused with the reason (the server
// reaches no keyserver), as is `GpgKeyID` alone (it only means something with a keyserver).
// aptly answers gpg's output as a JSON string; so does this.

import type { FastifyPluginAsync } from 'fastify';
import { Invalid } from '../model/errors.js';
import { importTrustedKeys } from '../pgp/trusted.js';
import { ADMIN } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { body, type ResourceOptions } from './request.js';
import { text } from './wire/decode.js';
import { withSchema } from './schemas/schema.js';
import { GPG_KEY } from './schemas/publish.js';

/** Registered with prefix /api/gpg. */
export const gpgPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  acceptEmptyJsonBodies(app);
  app.post('/key', withSchema(ADMIN, { body: GPG_KEY }), async (req, reply) => {
    const b = body(req);
    const keyserver = text(b.Keyserver, 'Keyserver');
    const armor = text(b.GpgKeyArmor, 'GpgKeyArmor');
    const keyIds = text(b.GpgKeyID, 'GpgKeyID').split(/\s+/).filter(Boolean);
    if (keyserver !== '') {
      throw new Invalid('Keyserver: this server fetches no keys from keyservers (it has no route to one, and a client should not make it connect anywhere); send the armored key in GpgKeyArmor');
    }
    if (armor === '') throw new Invalid(keyIds.length > 0 ? 'GpgKeyID needs a keyserver, which this server does not use; send the armored key in GpgKeyArmor' : 'GpgKeyArmor: give the armored public key');
    const lines = await importTrustedKeys(ctx.keysDir, { keyring: text(b.Keyring, 'Keyring'), armor, keyIds });
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(`${lines.join('\n')}\n`));
  });
};
