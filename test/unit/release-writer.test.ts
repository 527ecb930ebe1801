// The Release writer: the Release text as rendered, InRelease and Release.gpg that apt's own
// verifier (gpgv, real) accepts for exactly that text, no signatures when unsigned, and the
// strictly increasing Release Date.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateSigningKey } from '../../repo-server/pgp/signer.js';
import { renderRelease, type IndexFileHash, type ReleaseFields } from '../../repo-server/publish/indexes.js';
import { nextReleaseDate, writeRelease } from '../../repo-server/publish/release-writer.js';

const run = promisify(execFile);

const fields: ReleaseFields = {
  origin: 'debpkg',
  label: 'test',
  suite: 'stable',
  codename: 'bookworm',
  date: 1_800_000_000,
  architectures: ['amd64'],
  components: ['main'],
  acquireByHash: true,
};
const files: IndexFileHash[] = [{ path: 'main/binary-amd64/Packages', size: 3, sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) }];

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'release-writer-'));
});
test.after(async () => {
  await run('gpgconf', ['--homedir', join(root, 'gnupg'), '--kill', 'all']).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

test('signed: Release as rendered, InRelease and Release.gpg verified by gpgv', async () => {
  const signer = await loadOrCreateSigningKey(join(root, 'key'));
  const dir = join(root, 'signed');
  await mkdir(dir);
  const written = await writeRelease(dir, fields, files, signer);
  assert.equal(written, ['Release', 'InRelease', 'Release.gpg'].map((n) => join(dir, n)));
  const release = await readFile(join(dir, 'Release'), 'utf8');
  assert.is(release, renderRelease(fields, files));
  assert.match(release, /^Date: Fri, 15 Jan 2027 08:00:00 UTC$/m);
  const gnupg = join(root, 'gnupg');
  await mkdir(gnupg, { mode: 0o700, recursive: true });
  const keyring = join(root, 'keyring.gpg');
  await writeFile(keyring, signer.publicKeyBinary);
  const gpgv = ['--homedir', gnupg, '--keyring', keyring];
  const { stdout } = await run('gpgv', [...gpgv, '--output', '-', join(dir, 'InRelease')]);
  assert.is(stdout, release, 'InRelease signs exactly the Release text');
  await run('gpgv', [...gpgv, join(dir, 'Release.gpg'), join(dir, 'Release')]);
  // A Release changed after signing is rejected (the verifier is not a rubber stamp).
  await writeFile(join(dir, 'Release'), release.replace('stable', 'stab1e'));
  const bad = await run('gpgv', [...gpgv, join(dir, 'Release.gpg'), join(dir, 'Release')]).then(() => 0, (e: { code?: number }) => e.code ?? 1);
  assert.is.not(bad, 0);
});

test('unsigned: Release only', async () => {
  const dir = join(root, 'unsigned');
  await mkdir(dir);
  assert.equal(await writeRelease(dir, fields, files, undefined), [join(dir, 'Release')]);
  assert.equal(await readdir(dir), ['Release']);
});

test('the Release Date is now, or one second past the last one published', () => {
  assert.is(nextReleaseDate(100, 50, 60), 100);
  assert.is(nextReleaseDate(100, 100, undefined), 101, 'same second as the recorded date');
  assert.is(nextReleaseDate(100, 0, 105), 106, 'the live manifest ran ahead (clock stepped back)');
  assert.is(nextReleaseDate(100, undefined, undefined), 100);
});

test.run();
