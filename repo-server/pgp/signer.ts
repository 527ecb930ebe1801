// Repository signing: produces apt's InRelease (cleartext-signed) and Release.gpg (detached, armored).
// The default backend keeps an unprotected OpenPGP key in a data dir (the server must sign unattended);
// openSignerFromGpg() delegates to a system gpg keyring instead.

import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { writeFileAtomic } from '../../lib/fs-atomic.js';

export interface Signer {
  /** Uppercase hex v4 fingerprint of the primary key. */
  fingerprint: string;
  publicKeyArmored: string;
  publicKeyBinary: Uint8Array;
  /** OpenPGP cleartext-signed message for `InRelease`; verifiers output exactly `text` (which should end in "\n"). */
  clearsign(text: string): Promise<string>;
  /** ASCII-armored binary-mode detached signature for `Release.gpg`. */
  detachSign(data: string | Uint8Array): Promise<string>;
}

export interface SigningKeyOptions {
  name?: string;
  email?: string;
  type?: 'ed25519' | 'rsa4096';
}

const PRIVATE_KEY_FILE = 'signing-key.asc';
const PUBLIC_ARMORED_FILE = 'archive.asc';
const PUBLIC_BINARY_FILE = 'archive.gpg';

// apt's verifiers (gpgv, Sequoia's sqv in apt >= 3.0) reject SHA-1 signatures. gpgv 2.2 (bookworm) cannot
// read v6 keys or the new Ed25519 algorithm (27), so keys are v4 with legacy EdDSA (algo 22) or RSA.
export const CONFIG: openpgp.PartialConfig = { preferredHashAlgorithm: openpgp.enums.hash.sha512, v6Keys: false };

export async function loadOrCreateSigningKey(dir: string, opts: SigningKeyOptions = {}): Promise<Signer> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, PRIVATE_KEY_FILE);
  let key: openpgp.PrivateKey;
  const armored = await readFile(keyPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (armored === undefined) {
    key = await generateKey(opts);
    // Exact mode from creation: the secret is never readable by others, not even briefly.
    await writeFileAtomic(keyPath, key.armor(), 0o600);
  } else {
    key = await openpgp.readPrivateKey({ armoredKey: armored, config: CONFIG });
    if (!key.isDecrypted()) throw new Error(`${keyPath} is passphrase-protected; the repository signer needs an unprotected key`);
  }
  const signer = signerFromKeys([key]);
  // Re-export on every load so the published keys always match the private key (e.g. after a restore).
  await writeIfChanged(join(dir, PUBLIC_ARMORED_FILE), signer.publicKeyArmored);
  await writeIfChanged(join(dir, PUBLIC_BINARY_FILE), signer.publicKeyBinary);
  return signer;
}

/** The server's own key (`keys/signing-key.asc`), parsed, for the keyring (pgp/keyring.ts). */
export async function readDefaultKey(dir: string): Promise<openpgp.PrivateKey> {
  return openpgp.readPrivateKey({ armoredKey: await readFile(join(dir, PRIVATE_KEY_FILE), 'utf8'), config: CONFIG });
}

/**
 * A signer over one or more decrypted keys: every key signs, so InRelease and Release.gpg carry
 * one signature per key (a key rotation's overlap: clients trusting either key accept the file).
 * The fingerprint is the first key's; the public keys are all of them, in one armor block as
 * `gpg --export --armor OLD NEW` writes it, so a client's keyring trusts every signer.
 */
export function signerFromKeys(keys: openpgp.PrivateKey[]): Signer {
  const first = keys[0];
  if (first === undefined) throw new Error('a signer needs at least one key');
  const publics = keys.map((k) => k.toPublic());
  const binary = publics.length === 1 ? publics[0]!.write() : new Uint8Array(Buffer.concat(publics.map((p) => p.write())));
  return {
    fingerprint: first.getFingerprint().toUpperCase(),
    publicKeyArmored: publics.length === 1 ? publics[0]!.armor() : openpgp.armor(openpgp.enums.armor.publicKey, binary),
    publicKeyBinary: binary,
    async clearsign(text) {
      // Like gpg --clearsign: the newline before "-----BEGIN PGP SIGNATURE-----" belongs to the armor,
      // so the last "\n" is not signed and verifiers hand back exactly `text`.
      // (Per RFC 9580 trailing spaces/tabs on each line are not signed and are dropped.)
      const message = await openpgp.createCleartextMessage({ text: text.endsWith('\n') ? text.slice(0, -1) : text });
      const signed = await openpgp.sign({ message, signingKeys: keys, config: CONFIG });
      // openpgp.js writes the body with its canonical CRLF endings; InRelease must have plain LF lines
      // (apt parses it as a deb822 file and gpgv --output would otherwise return CRs).
      return signed.replace(/\r\n/g, '\n');
    },
    async detachSign(data) {
      // Binary mode (sigclass 0x00), as gpg --detach-sign: the signature covers the exact bytes apt downloads.
      const binary = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const message = await openpgp.createMessage({ binary });
      return openpgp.sign({ message, signingKeys: keys, detached: true, config: CONFIG });
    },
  };
}

async function generateKey(opts: SigningKeyOptions): Promise<openpgp.PrivateKey> {
  const userIDs = [{ name: opts.name ?? 'debpkg repository signing key', ...(opts.email !== undefined ? { email: opts.email } : {}) }];
  // Sign-only primary key (certify+sign flags); an encryption subkey would be useless for an archive key.
  const algo: openpgp.KeyOptions =
    opts.type === 'rsa4096' ? { userIDs, type: 'rsa', rsaBits: 4096 } : { userIDs, type: 'ecc', curve: 'ed25519Legacy' };
  const { privateKey } = await openpgp.generateKey({ ...algo, subkeys: [], format: 'object', config: CONFIG });
  return privateKey;
}

async function writeIfChanged(path: string, data: string | Uint8Array): Promise<void> {
  const want = Buffer.from(data);
  const have = await readFile(path).catch(() => undefined);
  if (have === undefined || !have.equals(want)) await writeFileAtomic(path, want, 0o644);
}

/** Signer backed by the system gpg keyring (e.g. a key kept on a smartcard or managed by ops). */
export async function openSignerFromGpg(keyId: string, homedir?: string): Promise<Signer> {
  const base = ['--batch', '--no-tty', ...(homedir !== undefined ? ['--homedir', homedir] : [])];
  const sign = (mode: string, data: string | Uint8Array): Promise<Buffer> =>
    runGpg([...base, '--pinentry-mode', 'loopback', '--armor', '--digest-algo', 'SHA512', '--local-user', keyId, mode], data);
  const colons = (await runGpg([...base, '--with-colons', '--fingerprint', '--list-secret-keys', keyId])).toString();
  // The fpr record right after "sec" is the primary key's; refuse ambiguous ids rather than guess.
  const primaries = [...colons.matchAll(/^sec:.*\nfpr:(?:[^:]*:){8}([0-9A-F]+):/gm)].map((m) => m[1]);
  const fingerprint = primaries[0];
  if (primaries.length !== 1 || fingerprint === undefined) throw new Error(`gpg: "${keyId}" matches ${primaries.length} secret keys, expected 1`);
  const exportArgs = [...base, '--export-options', 'export-minimal', '--export'];
  return {
    fingerprint,
    publicKeyArmored: (await runGpg([...exportArgs, '--armor', fingerprint])).toString(),
    publicKeyBinary: new Uint8Array(await runGpg([...exportArgs, fingerprint])),
    clearsign: async (text) => (await sign('--clearsign', text)).toString(),
    detachSign: async (data) => (await sign('--detach-sign', data)).toString(),
  };
}

function runGpg(args: string[], input?: string | Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`gpg ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.on('error', () => undefined); // EPIPE if gpg exits early; its exit status reports the cause
    child.stdin.end(input);
  });
}
