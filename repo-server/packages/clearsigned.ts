// The text of an uploaded cleartext-signed file (.changes), under aptly's include policy:
// a signed file is verified with gpgv against the server's keyring of trusted uploaders unless
// `ignoreSignature`, and the text used is what gpgv says was signed (never the bytes around
// the armor); an unsigned file is refused unless `acceptUnsigned`. The armor's shape is checked
// either way (stripClearsign), so text outside it is refused rather than ignored.

import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { DscError, stripClearsign } from './dsc.js';
import { ChangesError } from './changes.js';

export interface SignaturePolicy {
  acceptUnsigned: boolean;
  ignoreSignature: boolean;
  /** A binary OpenPGP keyring (gpgv's format) of the keys whose uploads are trusted. */
  keyring: string;
}

export interface SignedText {
  text: string;
  /** The verifying key's fingerprint (absent when unsigned or not verified). */
  fingerprint?: string;
  /** Fingerprints of the signing key and of its primary key (empty when not verified): who signed, for the uploaders rules. */
  signers: string[];
}

const STATUS_WORDS = ['BADSIG', 'NO_PUBKEY', 'EXPKEYSIG', 'REVKEYSIG', 'EXPSIG', 'ERRSIG', 'NODATA'];

/** gpgv reads at most this long (its input is at most 1 MiB). */
const GPGV_TIMEOUT_MS = 20_000;

export async function signedText(bytes: Buffer, what: string, policy: SignaturePolicy): Promise<SignedText> {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD')) throw new ChangesError(`the ${what} is not valid UTF-8`);
  let stripped: string;
  try {
    stripped = stripClearsign(text, what);
  } catch (err) {
    if (err instanceof DscError) throw new ChangesError(err.message);
    throw err;
  }
  const signed = stripped !== text;
  // aptly's wording for both refusals.
  if (!signed) {
    if (!policy.acceptUnsigned) throw new ChangesError(`${what} file is not signed and unsigned processing hasn't been enabled`);
    return { text, signers: [] };
  }
  if (policy.ignoreSignature) return { text: stripped, signers: [] };
  try {
    await access(policy.keyring);
  } catch {
    throw new ChangesError(`signature not verified: the server has no keyring of trusted uploaders (keys/trusted-uploaders.gpg); add one or pass ignoreSignature=1`);
  }
  const { code, stdout, status } = await gpgv(bytes, policy.keyring);
  // VALIDSIG <signing key fpr> … <primary key fpr> (the last field, when gpgv gives it).
  const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40,64}) .*?(?: ([0-9A-F]{40,64}))?$/m.exec(status);
  if (code !== 0 || !valid || !/^\[GNUPG:\] GOODSIG /m.test(status)) {
    // The most telling status first (an unknown key also reports ERRSIG).
    const found = STATUS_WORDS.map((w) => new RegExp(`^\\[GNUPG:\\] ${w}\\b.*$`, 'm').exec(status)?.[0]).find((l) => l !== undefined);
    const why = found?.replace('[GNUPG:] ', '') ?? `gpgv exit ${code}`;
    throw new ChangesError(`signature verification failed: ${why.slice(0, 200)}`);
  }
  const signers = [...new Set([valid[1]!, ...(valid[2] !== undefined ? [valid[2]] : [])])];
  return { text: stdout.toString('utf8'), fingerprint: valid[1], signers };
}

/** gpgv on `input` from stdin: the signed text on stdout, machine-readable status on fd 3. */
function gpgv(input: Buffer, keyring: string): Promise<{ code: number; stdout: Buffer; status: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpgv', ['--quiet', '--keyring', keyring, '--status-fd', '3', '--output', '-', '-'], {
      stdio: ['pipe', 'pipe', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const status: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), GPGV_TIMEOUT_MS);
    child.stdout!.on('data', (b: Buffer) => {
      size += b.length;
      // The signed text is never longer than the message; more is not gpgv's answer.
      if (size > input.length) child.kill('SIGKILL');
      else out.push(b);
    });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => {
      if (status.reduce((n, s) => n + s.length, 0) < 64 << 10) status.push(b);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ChangesError(`signature not verified: gpgv could not run (${err.message})`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), status: Buffer.concat(status).toString('utf8') });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input);
  });
}
