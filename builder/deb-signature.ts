// nfpm's `deb.signature`: an OpenPGP signature inside the .deb as an extra ar member after
// data.tar, which dpkg ignores (members starting with '_') and the verifiers read.
//   method: debsign (default) → `_gpg<type>` (origin, maint or archive; default origin): an
//     ASCII-armored detached signature over debian-binary + control.tar + data.tar concatenated,
//     what debsigs writes and debsig-verify checks.
//   method: dpkg-sig → `_gpg<type>` (default builder): a clear-signed manifest of the three
//     members (md5, sha1, size, name), dpkg-sig's format version 4.
// The key comes from `key_file` (armored or binary secret key), `key_id` picks the (sub)key, and
// an encrypted key is unlocked with NFPM_DEB_PASSPHRASE, else NFPM_PASSPHRASE, as nfpm does.
// Signing runs in-process with openpgp.js (already the repo server's signer): no gpg, agent or
// keyring on the build host. The key is loaded before anything is built, so a bad key or a
// missing passphrase fails fast, naming the field.

import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as openpgp from 'openpgp';
import type { MemberRange, TrailingMember } from './deb-file.js';
import { SpecError } from './spec-error.js';
import type { Environment } from './spec.js';

export interface DebSignatureSpec {
  key_file?: string;
  key_id?: string;
  method?: string;
  type?: string;
  signer?: string;
}

const FIELD = ['deb', 'signature'] as const;
const DEBSIGN_TYPES = new Set(['origin', 'maint', 'archive']);
const CONFIG: openpgp.PartialConfig = { preferredHashAlgorithm: openpgp.enums.hash.sha256 };
const CHUNK = 1 << 20;

/** The trailing member writer for a spec's `deb.signature`, or undefined when it asks for none. */
export async function debSigner(spec: DebSignatureSpec | undefined, baseDir: string, env: Environment, mtime: number): Promise<TrailingMember | undefined> {
  if (spec === undefined) return undefined;
  const method = spec.method ?? 'debsign';
  if (method !== 'debsign' && method !== 'dpkg-sig') throw new SpecError([...FIELD, 'method'], `'${method}' is not debsign or dpkg-sig`);
  const type = spec.type ?? (method === 'debsign' ? 'origin' : 'builder');
  if (method === 'debsign' && !DEBSIGN_TYPES.has(type)) {
    throw new SpecError([...FIELD, 'type'], `'${type}' is not a debsign signature type: use origin, maint or archive`);
  }
  if (!/^[a-z]{1,11}$/.test(type)) throw new SpecError([...FIELD, 'type'], `'${type}' must be 1-11 lowercase letters (the member is _gpg${type})`);
  if (spec.key_file === undefined || spec.key_file === '') {
    throw new SpecError([...FIELD, 'key_file'], 'not set: name the OpenPGP secret key to sign with (nfpm signs nothing without it)');
  }
  const key = await loadKey(resolve(baseDir, spec.key_file), spec.key_file, env);
  const signingKeyIDs = spec.key_id ? [keyId(key, spec.key_id)] : [];
  const name = `_gpg${type}`;
  if (method === 'debsign') {
    return async (fh, members) => ({ name, data: await detachSign(key, signingKeyIDs, readMembers(fh, members)) });
  }
  return async (fh, members) => {
    const lines: string[] = [];
    for (const m of members) {
      const md5 = createHash('md5');
      const sha1 = createHash('sha1');
      for await (const chunk of readRange(fh, m)) {
        md5.update(chunk);
        sha1.update(chunk);
      }
      lines.push(`\t${md5.digest('hex')} ${sha1.digest('hex')} ${m.size} ${m.name}`);
    }
    const signer = spec.signer ?? key.getUserIDs()[0] ?? '';
    const manifest = ['Version: 4', `Signer: ${signer}`, `Date: ${dpkgSigDate(mtime)}`, `Role: ${type}`, 'Files: ', ...lines].join('\n');
    const message = await openpgp.createCleartextMessage({ text: manifest });
    const signed = await openpgp.sign({ message, signingKeys: key, signingKeyIDs, config: CONFIG });
    // openpgp.js writes the signed text with CRLF line ends; the signature is over the canonical
    // form either way, and dpkg-sig and gpg read plain LF lines.
    return { name, data: Buffer.from(signed.replace(/\r\n/g, '\n')) };
  };
}

async function loadKey(path: string, field: string, env: Environment): Promise<openpgp.PrivateKey> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new SpecError([...FIELD, 'key_file'], `cannot read '${field}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let key: openpgp.PrivateKey;
  try {
    key = raw.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')
      ? await openpgp.readPrivateKey({ armoredKey: raw.toString('utf8') })
      : await openpgp.readPrivateKey({ binaryKey: raw });
  } catch (err) {
    throw new SpecError([...FIELD, 'key_file'], `'${field}' is not an OpenPGP secret key: ${(err as Error).message}`);
  }
  if (key.isDecrypted()) return key;
  const passphrase = env.NFPM_DEB_PASSPHRASE || env.NFPM_PASSPHRASE;
  if (!passphrase) {
    throw new SpecError([...FIELD, 'key_file'], `'${field}' is protected by a passphrase: set NFPM_DEB_PASSPHRASE (or NFPM_PASSPHRASE) in the environment`);
  }
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch (err) {
    throw new SpecError([...FIELD, 'key_file'], `cannot unlock '${field}' with the passphrase from ${env.NFPM_DEB_PASSPHRASE ? 'NFPM_DEB_PASSPHRASE' : 'NFPM_PASSPHRASE'}: ${(err as Error).message}`);
  }
}

/** nfpm's key_id: hex, the long (16-digit) id of the key or of one of its signing subkeys. */
function keyId(key: openpgp.PrivateKey, raw: string): openpgp.KeyID {
  const hex = raw.replace(/^0x/i, '').toLowerCase();
  if (!/^[0-9a-f]{1,16}$/.test(hex)) throw new SpecError([...FIELD, 'key_id'], `'${raw}' is not a hexadecimal key id`);
  const wanted = hex.padStart(16, '0');
  const found = key.getKeys().find((k) => k.getKeyID().toHex() === wanted);
  if (!found) {
    const have = key.getKeys().map((k) => k.getKeyID().toHex()).join(', ');
    throw new SpecError([...FIELD, 'key_id'], `'${raw}' is not in the key file (it holds ${have})`);
  }
  return found.getKeyID();
}

/** dpkg-sig's date: Perl's `scalar gmtime`, e.g. "Tue Jan  1 00:00:00 2019". */
function dpkgSigDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

async function* readRange(fh: FileHandle, m: MemberRange): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < m.size; ) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, m.size - at));
    const { bytesRead } = await fh.read(buf, 0, buf.length, m.offset + at);
    if (bytesRead === 0) throw new Error(`package ended inside member ${m.name}`);
    at += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** The members' bodies back to back, streamed (a payload can be larger than memory). */
function readMembers(fh: FileHandle, members: MemberRange[]): ReadableStream<Uint8Array> {
  async function* all(): AsyncGenerator<Uint8Array> {
    for (const m of members) yield* readRange(fh, m);
  }
  const it = all();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
}

async function detachSign(key: openpgp.PrivateKey, signingKeyIDs: openpgp.KeyID[], data: ReadableStream<Uint8Array>): Promise<Buffer> {
  const message = await openpgp.createMessage({ binary: data });
  const signature: ReadableStream<string> | string = await openpgp.sign({ message, signingKeys: key, signingKeyIDs, detached: true, config: CONFIG });
  if (typeof signature === 'string') return Buffer.from(signature);
  let text = '';
  const reader = signature.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  return Buffer.from(text);
}
