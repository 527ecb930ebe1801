// deb.signature checked with the real verifiers: debsig-verify (with a policy for nfpm's test
// key) for debsign's _gpgorigin, gpg for dpkg-sig's clear-signed manifest and for the detached
// signature over the exact member concatenation; nfpm's own signed packages (recorded from real
// nfpm by bench/record-nfpm.ts) verify the same way. dpkg installs a signed package on a fleet
// node; lintian's only new complaint is the one it makes about every signed .deb.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetNode } from '../support/fleet-node.js';
import { NFPM_FIXTURES } from '../support/nfpm-config-list.js';
import { CLI, execFileP, sh } from '../support/project.js';

const KEYS = join(NFPM_FIXTURES, 'internal/sign/testdata');
const PRIMARY = 'BC8ACDD415BD80B3';
let work: string;
let gnupg: string;

test.before(async () => {
  work = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'deb-sig-'));
  gnupg = join(work, 'gnupg');
  await mkdir(gnupg);
  await chmod(gnupg, 0o700);
  await execFileP('gpg', ['--batch', '-q', '--homedir', gnupg, '--import', join(KEYS, 'pubkey.asc')]);
  // debsig-verify: a policy and keyring for the test key's primary id, in directories of our own
  await mkdir(join(work, 'policies', PRIMARY), { recursive: true });
  await mkdir(join(work, 'keyrings', PRIMARY), { recursive: true });
  await writeFile(join(work, 'keyrings', PRIMARY, 'debsig.gpg'), (await execFileP('gpg', ['--homedir', gnupg, '--export'], { encoding: 'buffer' })).stdout);
  const rule = `<Required Type="origin" File="debsig.gpg" id="${PRIMARY}"/>`;
  await writeFile(
    join(work, 'policies', PRIMARY, 'nfpm-test.pol'),
    `<?xml version="1.0"?>\n<!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">\n<Policy xmlns="https://www.debian.org/debsig/1.0/">\n` +
      `  <Origin Name="nfpm-test" id="${PRIMARY}" Description="nfpm test key"/>\n  <Selection>${rule}</Selection>\n` +
      `  <Verification MinOptional="0">${rule}</Verification>\n</Policy>\n`,
  );
});
test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function debpkg(config: string, env: Record<string, string> = {}): Promise<{ code: number; deb: string; stderr: string }> {
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  try {
    const r = await execFileP(process.execPath, [CLI, 'package', '-p', 'deb', '-f', config, '-t', `${out}/`], { cwd: NFPM_FIXTURES, env: { ...process.env, BUILD_ARCH: 'amd64', ...env } });
    return { code: 0, deb: r.stdout.trim(), stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, deb: '', stderr: e.stderr ?? '' };
  }
}

async function debsigVerify(deb: string): Promise<{ code: number; out: string }> {
  const r = await sh(`debsig-verify --policies-dir ${work}/policies --keyrings-dir ${work}/keyrings ${deb}`, { allowFail: true });
  return { code: r.code, out: r.stdout + r.stderr };
}

async function member(deb: string, name: string): Promise<Buffer> {
  return (await execFileP('ar', ['p', deb, name], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
}

async function members(deb: string): Promise<string[]> {
  return (await execFileP('ar', ['t', deb])).stdout.trim().split('\n');
}

/** A copy of `deb` with one byte of data.tar flipped (its last byte before the ar padding). */
async function tampered(deb: string): Promise<string> {
  const bytes = await readFile(deb);
  const at = bytes.indexOf(Buffer.from('data.tar'));
  const size = Number(bytes.subarray(at + 48, at + 58).toString('latin1').trim());
  const copy = Buffer.from(bytes);
  copy[at + 60 + size - 1]! ^= 0xff;
  const path = `${deb}.tampered.deb`;
  await writeFile(path, copy);
  return path;
}

test('debsign: debsig-verify accepts _gpgorigin from debpkg and from nfpm, and rejects a changed payload', async () => {
  const ours = await debpkg('signing/debsign-primary.yaml');
  assert.is(ours.code, 0, ours.stderr);
  assert.equal(await members(ours.deb), ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgorigin']);
  const nfpm = join(NFPM_FIXTURES, 'signing/nfpm-debsign.deb');
  assert.equal(await members(nfpm), ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgorigin'], "nfpm's layout");
  for (const deb of [ours.deb, nfpm]) {
    const v = await debsigVerify(deb);
    assert.is(v.code, 0, `${deb}: ${v.out}`);
    assert.match(v.out, /Verified package from 'nfpm test key'/);
  }
  const bad = await debsigVerify(await tampered(ours.deb));
  assert.is.not(bad.code, 0, 'a changed data.tar fails verification');
});

test("debsign with the key's default (signing subkey), as nfpm's acceptance configs: gpg verifies the member concatenation", async () => {
  for (const config of ['testdata/acceptance/core.signed.yaml', 'testdata/acceptance/deb.debsign.sign.yaml']) {
    const r = await debpkg(config);
    assert.is(r.code, 0, r.stderr);
    const dir = join(work, 'x');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    await sh(`cd ${dir} && ar x ${r.deb}`);
    const v = await sh(`cd ${dir} && cat debian-binary control.tar.gz data.tar.gz | gpg --homedir ${gnupg} --status-fd 1 --verify _gpgorigin -`, { allowFail: true });
    assert.is(v.code, 0, v.stderr);
    assert.match(v.stdout, /\[GNUPG:\] VALIDSIG \S+ .* 866F6C83BAB3E49381ADE4C1BC8ACDD415BD80B3\n/, 'made by nfpm test key');
    const off = await sh(`cd ${dir} && cat debian-binary data.tar.gz control.tar.gz | gpg --homedir ${gnupg} --verify _gpgorigin -`, { allowFail: true });
    assert.is.not(off.code, 0, 'the order is part of what is signed');
  }
});

test("dpkg-sig: _gpgbuilder is a clear-signed manifest whose digests are the members', from debpkg and from nfpm", async () => {
  const ours = await debpkg('signing/dpkg-sig-primary.yaml');
  assert.is(ours.code, 0, ours.stderr);
  for (const deb of [ours.deb, join(NFPM_FIXTURES, 'signing/nfpm-dpkg-sig.deb')]) {
    assert.equal(await members(deb), ['debian-binary', 'control.tar.gz', 'data.tar.gz', '_gpgbuilder'], deb);
    const signed = await member(deb, '_gpgbuilder');
    const sigFile = join(work, 'manifest.asc');
    await writeFile(sigFile, signed);
    const v = await sh(`gpg --homedir ${gnupg} --verify ${sigFile}`, { allowFail: true });
    assert.is(v.code, 0, `${deb}: ${v.stderr}`);
    for (const name of ['debian-binary', 'control.tar.gz', 'data.tar.gz']) {
      const body = await member(deb, name);
      const line = `${createHash('md5').update(body).digest('hex')} ${createHash('sha1').update(body).digest('hex')} ${body.length} ${name}`;
      assert.ok(signed.toString().includes(`\t${line}\n`), `${deb}: manifest lists ${line}`);
    }
  }
  const text = (await member(ours.deb, '_gpgbuilder')).toString();
  assert.match(text, /^Version: 4\nSigner: nfpm test key <test@example\.com>\nDate: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nRole: builder\nFiles:/m);
  // a manifest edited after signing no longer verifies
  const forged = join(work, 'forged.asc');
  await writeFile(forged, text.replace('Role: builder', 'Role: maint'));
  assert.is.not((await sh(`gpg --homedir ${gnupg} --verify ${forged}`, { allowFail: true })).code, 0);
});

test('a passphrase-protected key: NFPM_DEB_PASSPHRASE over NFPM_PASSPHRASE, and a clear error without one', async () => {
  const dir = join(NFPM_FIXTURES, 'signing');
  const config = join(work, 'protected.yaml');
  const yaml = (await readFile(join(dir, 'debsign-primary.yaml'), 'utf8')).replace('privkey_unprotected.asc', 'privkey.asc');
  await writeFile(config, yaml);
  const none = await debpkg(config);
  assert.is(none.code, 2, none.stderr);
  assert.match(none.stderr, /deb\.signature\.key_file: .*passphrase: set NFPM_DEB_PASSPHRASE \(or NFPM_PASSPHRASE\)/);
  const wrong = await debpkg(config, { NFPM_PASSPHRASE: 'hunter2', NFPM_DEB_PASSPHRASE: 'wrong' });
  assert.is(wrong.code, 2, 'NFPM_DEB_PASSPHRASE wins over NFPM_PASSPHRASE');
  assert.match(wrong.stderr, /cannot unlock .* NFPM_DEB_PASSPHRASE/);
  const general = await debpkg(config, { NFPM_PASSPHRASE: 'hunter2' });
  assert.is(general.code, 0, general.stderr);
  assert.is((await debsigVerify(general.deb)).code, 0);
});

test('bad signature settings are refused naming the field, before anything is built', async () => {
  const base = await readFile(join(NFPM_FIXTURES, 'signing/debsign-primary.yaml'), 'utf8');
  const cases: Array<[string, RegExp]> = [
    [base.replace('key_id: bc8acdd415bd80b3', 'key_id: 0123456789abcdef'), /deb\.signature\.key_id: '0123456789abcdef' is not in the key file \(it holds bc8acdd415bd80b3, 9890904dfb2ec88a\)/],
    [base.replace('privkey_unprotected.asc', 'missing.asc'), /deb\.signature\.key_file: cannot read '.*missing\.asc': ENOENT/],
    [base.replace('privkey_unprotected.asc', 'pubkey.asc'), /deb\.signature\.key_file: '.*pubkey\.asc' is not an OpenPGP secret key/],
    [base.replace('method: debsign', 'method: debsign\n    type: builder'), /deb\.signature\.type: 'builder' is not a debsign signature type: use origin, maint or archive/],
    [base.replace('    key_file: ./internal/sign/testdata/privkey_unprotected.asc\n', ''), /deb\.signature\.key_file: not set/],
  ];
  for (const [yaml, want] of cases) {
    const config = join(work, 'bad.yaml');
    await writeFile(config, yaml);
    const r = await debpkg(config);
    assert.is(r.code, 2, `${want}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});

test('lintian: signing adds only misplaced-extra-member-in-deb, which it reports for every signed .deb', async () => {
  const signed = await debpkg('signing/debsign-primary.yaml');
  assert.is(signed.code, 0, signed.stderr);
  const unsignedConfig = join(work, 'unsigned.yaml');
  await writeFile(unsignedConfig, (await readFile(join(NFPM_FIXTURES, 'signing/debsign-primary.yaml'), 'utf8')).replace(/^deb:\n[\s\S]*$/m, ''));
  const unsigned = await debpkg(unsignedConfig);
  assert.is(unsigned.code, 0, unsigned.stderr);
  const tags = async (deb: string): Promise<string[]> =>
    (await sh(`lintian --no-cfg --allow-root ${deb}`, { allowFail: true })).stdout.split('\n').filter((l) => /^[EW]: /.test(l)).sort();
  const plain = await tags(unsigned.deb);
  const withSig = await tags(signed.deb);
  assert.equal(withSig.filter((t) => !plain.includes(t)), ['E: foo: misplaced-extra-member-in-deb _gpgorigin (unexpected _member at position 3)']);
  assert.ok((await tags(join(NFPM_FIXTURES, 'signing/nfpm-debsign.deb'))).some((t) => t.includes('misplaced-extra-member-in-deb _gpgorigin')), 'nfpm gets the same');
});

test('bookworm: dpkg installs and removes the signed package', async () => {
  const r = await debpkg('signing/debsign-primary.yaml');
  assert.is(r.code, 0, r.stderr);
  const node = await FleetNode.create('bookworm');
  try {
    const local = join(work, 'signed.deb');
    await copyFile(r.deb, local);
    await node.copyIn(local, '/tmp/signed.deb');
    const i = await node.run(['dpkg', '-i', '/tmp/signed.deb'], { allowFail: true });
    assert.is(i.code, 0, i.stderr);
    assert.is((await node.dpkgStatus('foo'))?.Status, 'install ok installed');
    assert.ok(await node.exists('/usr/bin/fake'));
    const rm = await node.run(['dpkg', '-r', 'foo'], { allowFail: true });
    assert.is(rm.code, 0, rm.stderr);
  } finally {
    await node.destroy();
  }
});

test.run();
