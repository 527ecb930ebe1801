// A real upload as a Debian developer makes it: a source package (`dpkg-source -b`, 3.0
// native), its binary .deb and a .udeb (`dpkg-deb -b`), a .buildinfo (`dpkg-genbuildinfo`) and
// the .changes listing them all (`dpkg-genchanges -sa`), optionally clearsigned with gpg by a
// key of the fixture's own keyring (exported binary, as gpgv reads it).

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, HOST_ENV, tail } from './fleet-node.js';

export interface Upload {
  dir: string;
  /** Every file of the upload by name (the .changes included). */
  files: Record<string, Buffer>;
  changes: string;
}

async function run(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const r = await exec(argv, { ...HOST_ENV, SOURCE_DATE_EPOCH: '1700000000', ...env }, undefined, cwd);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}):\n${tail(r.stderr + r.stdout)}`);
  return r.stdout;
}

/** A gpg home with one fresh Ed25519 signing key; `keyring` is its public key in gpgv's format. */
export interface SigningKey {
  home: string;
  fingerprint: string;
  keyring: Buffer;
  cleanup(): Promise<void>;
}

export async function makeSigningKey(uid: string): Promise<SigningKey> {
  const home = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-gpg-'));
  const env = { GNUPGHOME: home };
  await run(['gpg', '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], home, env);
  const listing = await run(['gpg', '--batch', '--with-colons', '--list-secret-keys'], home, env);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg's listing:\n${listing}`);
  const keyringPath = join(home, 'export.gpg');
  await run(['gpg', '--batch', '--output', keyringPath, '--export', fingerprint], home, env);
  return { home, fingerprint, keyring: await readFile(keyringPath), cleanup: () => rm(home, { recursive: true, force: true }) };
}

/** Clearsigns `text` with `key` (what debsign does to a .changes). */
export async function clearsign(text: Buffer, key: SigningKey): Promise<Buffer> {
  const r = await exec(['gpg', '--batch', '--quiet', '--local-user', key.fingerprint, '--clearsign', '--output', '-'], { ...HOST_ENV, GNUPGHOME: key.home }, text);
  if (r.code !== 0) throw new Error(`gpg --clearsign failed: ${r.stderr}`);
  return Buffer.from(r.stdout);
}

async function binary(dir: string, pkg: string, source: string, version: string, ext: 'deb' | 'udeb', payload: string): Promise<string> {
  const root = join(dir, `stage-${pkg}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr', 'share', pkg), { recursive: true });
  await writeFile(join(root, 'usr', 'share', pkg, 'payload'), payload);
  const section = ext === 'udeb' ? 'debian-installer' : 'misc';
  await writeFile(
    join(root, 'DEBIAN', 'control'),
    `Package: ${pkg}\nSource: ${source}\nVersion: ${version}\nArchitecture: all\nSection: ${section}\nPriority: optional\nMaintainer: Up Loader <up@example.org>\nDescription: ${pkg} for the include tests\n`,
  );
  const file = `${pkg}_${version}_all.${ext}`;
  await run(['dpkg-deb', '-Zxz', '--root-owner-group', '-b', root, join(dir, file)], dir);
  await rm(root, { recursive: true });
  return file;
}

/**
 * Builds the upload of source `name` version `version` (native) with binaries `name` and
 * `name-udeb`; `payload` goes into the binaries (a rebuild with another payload has the same
 * name/version/architecture and other bytes).
 */
export async function buildUpload(name: string, version: string, payload = 'one'): Promise<Upload> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-changes-'));
  const tree = join(dir, `${name}-${version}`);
  await mkdir(join(tree, 'debian', 'source'), { recursive: true });
  const control =
    `Source: ${name}\nSection: misc\nPriority: optional\nMaintainer: Up Loader <up@example.org>\nStandards-Version: 4.6.2\n\n` +
    `Package: ${name}\nArchitecture: all\nDescription: ${name} for the include tests\n the binary\n\n` +
    `Package: ${name}-udeb\nPackage-Type: udeb\nSection: debian-installer\nArchitecture: all\nDescription: ${name} installer part\n`;
  await writeFile(join(tree, 'debian', 'control'), control);
  await writeFile(join(tree, 'debian', 'source', 'format'), '3.0 (native)\n');
  await writeFile(join(tree, 'debian', 'changelog'), `${name} (${version}) unstable; urgency=medium\n\n  * Test upload.\n\n -- Up Loader <up@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n`);
  await writeFile(join(tree, 'README'), `${name} ${version}\n`);
  await run(['dpkg-source', '-b', `${name}-${version}`], dir);
  const deb = await binary(dir, name, name, version, 'deb', payload);
  const udeb = await binary(dir, `${name}-udeb`, name, version, 'udeb', payload);
  await writeFile(join(tree, 'debian', 'files'), `${deb} misc optional\n${udeb} debian-installer optional\n`);
  await run(['dpkg-genbuildinfo', `-O../${name}_${version}_all.buildinfo`], tree);
  const changes = `${name}_${version}_all.changes`;
  await run(['dpkg-genchanges', '-sa', `-O../${changes}`], tree);
  await rm(tree, { recursive: true });
  const files: Record<string, Buffer> = {};
  for (const f of (await readdir(dir)).sort()) files[f] = await readFile(join(dir, f));
  await rm(dir, { recursive: true });
  return { dir, files, changes };
}
