// Proves apt's real verifiers (gpgv; sqv = Sequoia, as used by apt >= 3.0) accept what the signer writes.
// Needs the Debian packages gpgv, gnupg and sqv on the host; a missing tool fails the test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateSigningKey, openSignerFromGpg, type Signer } from '../../repo-server/pgp/signer.js';

const run = promisify(execFile);

// Continuation lines start with a space; the "-" lines must be dash-escaped in InRelease.
const RELEASE = `Origin: debpkg
Label: debpkg test
Suite: stable
Codename: bookworm
Date: Sat, 01 Jun 2024 12:00:00 UTC
Architectures: amd64 arm64
Components: main
- leading dash line
-----BEGIN PGP SIGNATURE----- (not really)
SHA256:
 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08      1234 main/binary-amd64/Packages
 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752       567 main/binary-amd64/Packages.xz
`;

let root = '';
let gnupgHome = ''; // private homedir so gpg never touches ~/.gnupg

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pgp-signer-'));
  gnupgHome = join(root, 'gnupg');
  await mkdir(gnupgHome, { mode: 0o700 });
});

test.after(async () => {
  await run('gpgconf', ['--homedir', gnupgHome, '--kill', 'all']).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

/** Writes Release/InRelease/Release.gpg + keyring into `dir` and checks them with gpgv (and sqv). */
async function verifyWithRealTools(signer: Signer, dir: string): Promise<{ sigPackets: string }> {
  const keyring = join(dir, 'verify-keyring.gpg');
  await writeFile(keyring, signer.publicKeyBinary);
  const inRelease = await signer.clearsign(RELEASE);
  assert.ok(!inRelease.includes('\r'), 'InRelease has LF line endings');
  assert.ok(inRelease.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n'), inRelease.slice(0, 80));
  assert.ok(inRelease.includes('\n- - leading dash line\n- -----BEGIN PGP SIGNATURE----- (not really)\n'), 'dash-escaped');
  await writeFile(join(dir, 'InRelease'), inRelease);
  await writeFile(join(dir, 'Release'), RELEASE);
  await writeFile(join(dir, 'Release.gpg'), await signer.detachSign(RELEASE));
  const gpgv = ['--homedir', gnupgHome, '--keyring', keyring];

  await run('gpgv', [...gpgv, join(dir, 'InRelease')]);
  const { stdout } = await run('gpgv', [...gpgv, '--output', '-', join(dir, 'InRelease')]);
  assert.is(stdout, RELEASE, 'gpgv returns exactly the signed Release text');
  await run('gpgv', [...gpgv, join(dir, 'Release.gpg'), join(dir, 'Release')]);
  // Bytes and string inputs sign the same content.
  await writeFile(join(dir, 'bytes.gpg'), await signer.detachSign(new TextEncoder().encode(RELEASE)));
  await run('gpgv', [...gpgv, join(dir, 'bytes.gpg'), join(dir, 'Release')]);

  // A tampered Release must be rejected (guards against a verifier that accepts anything).
  await writeFile(join(dir, 'Release.bad'), RELEASE.replace('1234', '1235'));
  const bad = await run('gpgv', [...gpgv, join(dir, 'Release.gpg'), join(dir, 'Release.bad')]).then(() => 0, (e: { code?: number }) => e.code ?? 1);
  assert.is.not(bad, 0, 'gpgv rejects a modified Release');

  // Sequoia: bookworm's sqv 1.1 only takes detached signatures, so InRelease's signature packet is checked
  // against the signed text (dash-unescaped, minus the final newline, which belongs to the armor).
  const sqv = ['--keyring', keyring];
  assert.is((await run('sqv', [...sqv, join(dir, 'Release.gpg'), join(dir, 'Release')])).stdout.trim(), signer.fingerprint);
  const sigBlock = inRelease.slice(inRelease.indexOf('\n-----BEGIN PGP SIGNATURE-----\n') + 1);
  await writeFile(join(dir, 'InRelease.sig'), sigBlock);
  await writeFile(join(dir, 'InRelease.text'), RELEASE.slice(0, -1));
  assert.is((await run('sqv', [...sqv, join(dir, 'InRelease.sig'), join(dir, 'InRelease.text')])).stdout.trim(), signer.fingerprint);

  const detached = await run('gpg', ['--homedir', gnupgHome, '--list-packets', join(dir, 'Release.gpg')]);
  const clear = await run('gpg', ['--homedir', gnupgHome, '--list-packets', join(dir, 'InRelease.sig')]);
  assert.match(detached.stdout, /sigclass 0x00\b/); // binary signature, as gpg --detach-sign
  assert.match(clear.stdout, /sigclass 0x01\b/); // canonical-text signature, as gpg --clearsign
  for (const out of [detached.stdout, clear.stdout]) assert.match(out, /digest algo 10,/); // SHA512
  return { sigPackets: detached.stdout };
}

test('ed25519: key files, gpgv + sqv accept InRelease and Release.gpg, SHA512 + EdDSA', async () => {
  const dir = join(root, 'ed');
  const signer = await loadOrCreateSigningKey(dir, { name: 'Test Archive', email: 'archive@example.org' });
  assert.match(signer.fingerprint, /^[0-9A-F]{40}$/);

  assert.is((await stat(join(dir, 'signing-key.asc'))).mode & 0o777, 0o600);
  assert.match(await readFile(join(dir, 'signing-key.asc'), 'utf8'), /^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
  assert.is(await readFile(join(dir, 'archive.asc'), 'utf8'), signer.publicKeyArmored);
  assert.ok((await readFile(join(dir, 'archive.gpg'))).equals(Buffer.from(signer.publicKeyBinary)));
  assert.not.match(signer.publicKeyArmored, /PRIVATE/);
  // Nothing reachable from the Signer carries secret material.
  assert.not.match(JSON.stringify(signer), /PRIVATE KEY/);

  const { sigPackets } = await verifyWithRealTools(signer, dir);
  assert.match(sigPackets, /signature packet: algo 22,/); // EdDSA
  // Verify against the published archive.gpg too, exactly as an apt client would be configured.
  await run('gpgv', ['--homedir', gnupgHome, '--keyring', join(dir, 'archive.gpg'), join(dir, 'InRelease')]);
  const keyPackets = (await run('gpg', ['--homedir', gnupgHome, '--list-packets', join(dir, 'archive.gpg')])).stdout;
  assert.match(keyPackets, /public key packet:\n\s+version 4, algo 22,/);
  assert.match(keyPackets, /ed25519/);
  assert.not.match(keyPackets, /subkey packet/);
  assert.match(keyPackets, /user ID packet: "Test Archive <archive@example.org>"/);
});

test('reload keeps the key; another dir gets a new one', async () => {
  const a1 = await loadOrCreateSigningKey(join(root, 'ed'));
  const a2 = await loadOrCreateSigningKey(join(root, 'ed'));
  const b = await loadOrCreateSigningKey(join(root, 'other'));
  assert.is(a1.fingerprint, a2.fingerprint);
  assert.is(a1.publicKeyArmored, a2.publicKeyArmored);
  assert.is.not(b.fingerprint, a1.fingerprint);
  // A restored dir with the public exports missing gets them re-created.
  await rm(join(root, 'other', 'archive.gpg'));
  await loadOrCreateSigningKey(join(root, 'other'));
  assert.ok((await readFile(join(root, 'other', 'archive.gpg'))).equals(Buffer.from(b.publicKeyBinary)));
  await verifyWithRealTools(a2, join(root, 'ed'));
});

test('rsa4096 signs and verifies', async () => {
  const dir = join(root, 'rsa');
  const signer = await loadOrCreateSigningKey(dir, { type: 'rsa4096' });
  const { sigPackets } = await verifyWithRealTools(signer, dir);
  assert.match(sigPackets, /signature packet: algo 1,/); // RSA
  const keyPackets = (await run('gpg', ['--homedir', gnupgHome, '--list-packets', join(dir, 'archive.gpg')])).stdout;
  assert.match(keyPackets, /public key packet:\n\s+version 4, algo 1,/);
  assert.match(keyPackets, /pkey\[0\]: \[4096 bits\]/);
});

test('gpg backend signs with a key from a gpg homedir', async () => {
  const home = join(root, 'gpg-backend');
  await mkdir(home, { mode: 0o700 });
  await run('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--quick-gen-key', 'GPG Backend <gpg@example.org>', 'ed25519', 'sign', 'never']);
  try {
    const signer = await openSignerFromGpg('gpg@example.org', home);
    assert.match(signer.fingerprint, /^[0-9A-F]{40}$/);
    assert.match(signer.publicKeyArmored, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const dir = join(root, 'gpg-out');
    await mkdir(dir);
    await verifyWithRealTools(signer, dir);
    await openSignerFromGpg('nobody@example.org', home).then(
      () => assert.unreachable('unknown key id must be rejected'),
      (err: Error) => assert.match(err.message, /gpg/),
    );
  } finally {
    await run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
  }
});

test.run();
