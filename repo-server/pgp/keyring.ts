// The server's signing keyrings, and the choice of keys aptly's publish `Signing` object makes.
// aptly hands `GpgKey`, `Keyring`, `SecretKeyring` and `PassphraseFile` to gpg as they came,
// so a client names files on the server; here they only *select* among keys the operator put
// on the server, and the secret keys never leave it:
//   - the default keyring: the server's own key (keys/signing-key.asc) plus every armored
//     secret key in keys/keyrings/default/*.asc;
//   - a named keyring `<name>`: the keys in keys/keyrings/<name>/*.asc (a plain name, never a path).
// `GpgKey` lists keys by fingerprint, key id or e-mail address; every key listed signs, so
// InRelease and Release.gpg carry one signature per key (rotation: old and new during the overlap).
// Without `GpgKey` the server's configured keys sign (`--gpg-key`), else the keyring's first key.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { Invalid } from '../model/errors.js';
import { CONFIG, signerFromKeys, type Signer } from './signer.js';

/** aptly's `Signing` object, decoded (http/wire/decode.ts); empty strings mean "not given". */
export interface SigningRequest {
  /** Key specs from `GpgKey` (comma-separated in aptly), in order. */
  gpgKeys: string[];
  keyring: string;
  secretKeyring: string;
  passphrase: string;
}

const KEYRING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const HEX_SPEC = /^(?:0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;
const EMAIL_SPEC = /^<?([^<>\s@]+@[^<>\s@]+)>?$/;
/** Secret key files per keyring directory; more is a misconfiguration, not a keyring. */
const MAX_KEYS = 64;

interface CachedKey {
  mtimeMs: number;
  size: number;
  keys: openpgp.PrivateKey[];
}

export class SigningKeyring {
  private readonly cache = new Map<string, CachedKey>();

  constructor(
    private readonly keysDir: string,
    private readonly ownKey: openpgp.PrivateKey,
    /** The signer of the server's own key, used when a publish asks for nothing else (no re-parse). */
    private readonly ownSigner: Signer,
    /** `--gpg-key`: the keys that sign when a request names none (aptly's config `gpgKeys`). */
    private readonly defaultKeys: readonly string[],
  ) {}

  /** The signer for a publish's `Signing` options; a bad choice is `Invalid` naming the field. */
  async signerFor(req: SigningRequest | undefined): Promise<Signer> {
    const specs = req && req.gpgKeys.length > 0 ? req.gpgKeys : this.defaultKeys;
    const ring = this.ringName(req);
    if (specs.length === 0 && ring === 'default') return this.ownSigner;
    const keys = await this.ringKeys(ring);
    const field = req && req.gpgKeys.length > 0 ? 'Signing.GpgKey' : 'the server --gpg-key';
    const chosen = specs.length === 0 ? keys.slice(0, 1) : specs.map((spec) => pick(keys, spec, ring, field));
    if (chosen.length === 0) throw new Invalid(`Signing.Keyring: keyring ${ring} holds no secret key`);
    const unique = [...new Map(chosen.map((k) => [k.getFingerprint(), k])).values()];
    return signerFromKeys(await Promise.all(unique.map((k) => unlock(k, req?.passphrase ?? ''))));
  }

  private ringName(req: SigningRequest | undefined): string {
    const pub = req?.keyring ?? '';
    const sec = req?.secretKeyring ?? '';
    for (const [value, field] of [
      [pub, 'Signing.Keyring'],
      [sec, 'Signing.SecretKeyring'],
    ] as const) {
      if (value !== '' && !KEYRING_NAME.test(value)) {
        throw new Invalid(`${field}: names one of the server's keyrings (a plain name such as "default"), never a file path; got '${value.slice(0, 100)}'`);
      }
    }
    if (pub !== '' && sec !== '' && pub !== sec) throw new Invalid('Signing.Keyring and Signing.SecretKeyring name different keyrings; a server keyring holds both halves of its keys');
    return pub || sec || 'default';
  }

  private async ringKeys(ring: string): Promise<openpgp.PrivateKey[]> {
    const dir = join(this.keysDir, 'keyrings', ring);
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && ring === 'default') return [];
      if (err.code === 'ENOENT') throw new Invalid(`Signing.Keyring: the server has no keyring '${ring}'`);
      throw err;
    });
    const files = names.filter((n) => n.endsWith('.asc')).sort();
    if (files.length > MAX_KEYS) throw new Error(`keyring ${ring}: more than ${MAX_KEYS} key files`);
    const keys = ring === 'default' ? [this.ownKey] : [];
    for (const f of files) keys.push(...(await this.readKeyFile(join(dir, f))));
    return keys;
  }

  private async readKeyFile(path: string): Promise<openpgp.PrivateKey[]> {
    const st = await stat(path);
    const hit = this.cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.keys;
    const armored = await readFile(path, 'utf8');
    const keys = await openpgp.readPrivateKeys({ armoredKeys: armored, config: CONFIG }).catch((err: Error) => {
      throw new Error(`signing key file ${path}: ${err.message}`);
    });
    this.cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, keys });
    return keys;
  }
}

/** The one key of `keys` a spec names: fingerprint, long or short key id, or an e-mail address. */
function pick(keys: openpgp.PrivateKey[], spec: string, ring: string, field: string): openpgp.PrivateKey {
  const hex = HEX_SPEC.exec(spec)?.[1]?.toLowerCase();
  const email = hex === undefined ? EMAIL_SPEC.exec(spec)?.[1]?.toLowerCase() : undefined;
  if (hex === undefined && email === undefined) throw new Invalid(`${field}: '${spec.slice(0, 100)}' is not a key fingerprint, key id or e-mail address`);
  const matches = keys.filter((k) =>
    hex !== undefined ? k.getFingerprint().toLowerCase().endsWith(hex) : k.users.some((u) => u.userID?.email.toLowerCase() === email),
  );
  if (matches.length === 0) throw new Invalid(`${field}: no key ${spec} in the server's keyring ${ring}`);
  if (matches.length > 1) throw new Invalid(`${field}: ${spec} matches ${matches.length} keys in keyring ${ring}; give the fingerprint`);
  return matches[0]!;
}

async function unlock(key: openpgp.PrivateKey, passphrase: string): Promise<openpgp.PrivateKey> {
  if (key.isDecrypted()) return key;
  const id = key.getFingerprint().toUpperCase();
  if (passphrase === '') throw new Invalid(`Signing.Passphrase: key ${id} is passphrase-protected; give Signing.Passphrase`);
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase, config: CONFIG });
  } catch {
    throw new Invalid(`Signing.Passphrase does not unlock key ${id}`);
  }
}
