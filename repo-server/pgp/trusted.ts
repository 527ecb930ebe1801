// aptly's trusted keyring (POST /api/gpg/key): public keys that verify what others signed
// (aptly: mirrors, .changes). aptly runs `gpg --import` or `gpg --recv-keys` into the keyring
// file the client names; here a keyring is a plain name under <data>/keys/trusted/, kept as a
// binary OpenPGP keyring gpgv reads (`gpgv --keyring <data>/keys/trusted/trustedkeys.gpg`).
// The server fetches nothing: no keyserver is reachable from it (nor should a client make it
// connect somewhere), so keys come in the request body, armored, as aptly 1.6 also accepts.

import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { Invalid } from '../model/errors.js';
import { CONFIG } from './signer.js';

/** aptly's default trusted keyring name. */
export const DEFAULT_TRUSTED_KEYRING = 'trustedkeys.gpg';
const KEYRING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const KEY_ID = /^(?:0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;

export interface ImportRequest {
  keyring: string;
  armor: string;
  /** Only these keys of `armor` (aptly's GpgKeyID: ids separated by spaces); empty: all. */
  keyIds: string[];
}

/** Imports the request's keys; returns gpg-like report lines (aptly answers gpg's output). */
export async function importTrustedKeys(keysDir: string, req: ImportRequest): Promise<string[]> {
  const name = req.keyring === '' ? DEFAULT_TRUSTED_KEYRING : req.keyring;
  if (!KEYRING_NAME.test(name)) throw new Invalid(`Keyring: names one of the server's trusted keyrings (a plain name such as ${DEFAULT_TRUSTED_KEYRING}), never a file path; got '${name.slice(0, 100)}'`);
  if (req.armor.length > 1 << 20) throw new Invalid('GpgKeyArmor: more than 1 MiB of key material');
  const ids = req.keyIds.map((id) => {
    const hex = KEY_ID.exec(id)?.[1];
    if (hex === undefined) throw new Invalid(`GpgKeyID: '${id.slice(0, 100)}' is not a key id or fingerprint`);
    return hex.toLowerCase();
  });
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: req.armor, config: CONFIG });
  } catch (err) {
    throw new Invalid(`GpgKeyArmor: not an armored OpenPGP public key: ${(err as Error).message}`);
  }
  if (keys.some((k) => k.isPrivate())) throw new Invalid('GpgKeyArmor holds a secret key; a trusted keyring takes public keys only (signing keys go into the server keyring on the server itself)');
  const chosen = ids.length === 0 ? keys : keys.filter((k) => ids.some((id) => k.getFingerprint().toLowerCase().endsWith(id)));
  for (const id of ids) if (!keys.some((k) => k.getFingerprint().toLowerCase().endsWith(id))) throw new Invalid(`GpgKeyID: key ${id.toUpperCase()} is not in GpgKeyArmor`);

  const dir = join(keysDir, 'trusted');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, name);
  const existing = await readFile(path).then(
    (bytes) => openpgp.readKeys({ binaryKeys: bytes, config: CONFIG }),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as openpgp.Key[];
      throw err;
    },
  );
  const byFpr = new Map(existing.map((k) => [k.getFingerprint(), k]));
  const lines: string[] = [];
  let imported = 0;
  let unchanged = 0;
  for (const key of chosen) {
    const fpr = key.getFingerprint();
    const uid = key.users.find((u) => u.userID)?.userID?.userID ?? '';
    const id = fpr.slice(-16).toUpperCase();
    const have = byFpr.get(fpr);
    if (have) {
      byFpr.set(fpr, await have.toPublic().update(key.toPublic()));
      unchanged++;
      lines.push(`gpg: key ${id}: "${uid}" not changed`);
    } else {
      byFpr.set(fpr, key);
      imported++;
      lines.push(`gpg: key ${id}: public key "${uid}" imported`);
    }
  }
  const ring = [...byFpr.values()].map((k) => k.toPublic().write());
  await writeFileAtomic(path, Buffer.concat(ring.map((b) => Buffer.from(b))), 0o644);
  lines.push(`gpg: Total number processed: ${chosen.length}`, `gpg:               imported: ${imported}`);
  if (unchanged > 0) lines.push(`gpg:              unchanged: ${unchanged}`);
  return lines;
}
