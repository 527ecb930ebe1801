// aptly's publish `Signing` options against the server's own keyrings: a key rotation signs
// with the old and the new key at once (aptly's DualSignature scenario, sent as aptly's test
// sends it: `GPGKey`, two fingerprints), checked with the real gpgv on the host and a real
// `apt-get update` in bookworm (gpgv) and trixie (sqv) roots trusting only the old key, only
// the new key, both — and an unrelated key, which must fail. Bad choices are 400s naming the
// field: a key the server lacks, a keyring given as a path, PassphraseFile, a wrong passphrase.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { exec, FleetNode, HOST_ENV, SUITES } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

/** Files under `dir` this process holds open (from /proc/self/fd). */
async function openUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith(`${dir}/`));
}

const CONFIG: openpgp.PartialConfig = { preferredHashAlgorithm: openpgp.enums.hash.sha512, v6Keys: false };

async function newKey(name: string, passphrase?: string): Promise<{ armored: string; publicArmored: string; publicBinary: Uint8Array; fpr: string }> {
  const { privateKey } = await openpgp.generateKey({
    userIDs: [{ name, email: `${name.replace(/\W/g, '')}@example.org` }],
    type: 'ecc',
    curve: 'ed25519Legacy',
    format: 'object',
    config: CONFIG,
  });
  const armored = passphrase ? (await openpgp.encryptKey({ privateKey, passphrase, config: CONFIG })).armor() : privateKey.armor();
  const pub = privateKey.toPublic();
  return { armored, publicArmored: pub.armor(), publicBinary: pub.write(), fpr: privateKey.getFingerprint().toUpperCase() };
}

async function makeDeb(p: Project, name: string): Promise<string> {
  await p.write(`src/${name}`, `${name}\n`);
  const yaml =
    `name: ${name}\nversion: "1.0"\narch: all\nmaintainer: Sign Tester <sign@example.org>\ndescription: signing scenario package\n` +
    `contents:\n  - { src: src/${name}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  return (await buildPackage(loaded, { outputDir: p.path('out'), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path;
}

/** Fingerprints gpgv reports a good signature from (VALIDSIG), and its exit code. */
async function gpgv(keyring: string, files: string[]): Promise<{ code: number; valid: string[] }> {
  const r = await exec(['gpgv', '--status-fd', '1', '--keyring', keyring, ...files], HOST_ENV);
  return { code: r.code, valid: [...r.stdout.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/gm)].map((m) => m[1]!).sort() };
}

interface Fixture {
  server: TestRepoServer;
  p: Project;
  tmp: string;
  own: { fpr: string; publicArmored: string; publicBinary: Uint8Array };
  next: Awaited<ReturnType<typeof newKey>>;
  ops: Awaited<ReturnType<typeof newKey>>;
  stranger: Awaited<ReturnType<typeof newKey>>;
}

let fx: Fixture;

test.before(async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start();
  const tmp = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-sign-'));
  const own = server.server.context.signer;
  const [next, ops, stranger] = await Promise.all([newKey('next archive key'), newKey('ops key', 'correct horse'), newKey('stranger')]);
  // The operator drops the new key into the default keyring of the running server (no restart),
  // and a passphrase-protected key into a keyring named "ops".
  await mkdir(join(server.dataDir, 'keys/keyrings/default'), { recursive: true });
  await writeFile(join(server.dataDir, 'keys/keyrings/default/next.asc'), next.armored, { mode: 0o600 });
  await mkdir(join(server.dataDir, 'keys/keyrings/ops'), { recursive: true });
  await writeFile(join(server.dataDir, 'keys/keyrings/ops/ops.asc'), ops.armored, { mode: 0o600 });
  assert.is((await server.api('POST', '/api/repos', { Name: 'main', DefaultDistribution: 'stable' })).status, 201);
  await server.addPackages('main', [await makeDeb(p, 'signdemo')]);
  fx = { server, p, tmp, own: { fpr: own.fingerprint, publicArmored: own.publicKeyArmored, publicBinary: own.publicKeyBinary }, next, ops, stranger };
  await writeFile(join(tmp, 'old.gpg'), own.publicKeyBinary);
  await writeFile(join(tmp, 'new.gpg'), next.publicBinary);
  await writeFile(join(tmp, 'both.gpg'), Buffer.concat([Buffer.from(own.publicKeyBinary), Buffer.from(next.publicBinary)]));
  await writeFile(join(tmp, 'ops.gpg'), ops.publicBinary);
  await writeFile(join(tmp, 'stranger.gpg'), stranger.publicBinary);
});

test.after(async () => {
  await fx.server.stop();
  await fx.p.destroy();
  await rm(fx.tmp, { recursive: true, force: true });
});

/** Downloads the distribution's InRelease, Release, Release.gpg into tmp/<name>/. */
async function fetchRelease(dist: string, name: string): Promise<string> {
  const dir = join(fx.tmp, name);
  await mkdir(dir, { recursive: true });
  for (const f of ['InRelease', 'Release', 'Release.gpg']) {
    const r = await fetch(`${fx.server.url}/dists/${dist}/${f}`);
    assert.is(r.status, 200, `${dist}/${f}`);
    await writeFile(join(dir, f), Buffer.from(await r.arrayBuffer()));
  }
  return dir;
}

test('Signing.GPGKey with two fingerprints (aptly DualSignature): InRelease and Release.gpg carry both signatures, gpgv accepts each key alone', async () => {
  const body = { SourceKind: 'local', Sources: [{ Name: 'main' }], Distribution: 'stable', Signing: { GPGKey: `${fx.own.fpr},${fx.next.fpr}` } };
  const pub = await fx.server.api('POST', '/api/publish/:.', body);
  assert.is(pub.status, 201, pub.text);
  const dir = await fetchRelease('stable', 'dual');
  const inRelease = await readFile(join(dir, 'InRelease'), 'utf8');
  const detached = await readFile(join(dir, 'Release.gpg'), 'utf8');
  // getSigningKeyIDs answers an Array subclass (openpgp's PacketList): copied into a plain array.
  const sigs = async (armored: string) => Array.from((await openpgp.readSignature({ armoredSignature: armored })).getSigningKeyIDs(), (id) => id.toHex().toUpperCase()).sort();
  assert.equal(await sigs(detached), [fx.own.fpr.slice(-16), fx.next.fpr.slice(-16)].sort());
  assert.equal(await sigs(inRelease.slice(inRelease.indexOf('-----BEGIN PGP SIGNATURE-----'))), [fx.own.fpr.slice(-16), fx.next.fpr.slice(-16)].sort());
  for (const [ring, want] of [
    ['old.gpg', [fx.own.fpr]],
    ['new.gpg', [fx.next.fpr]],
    ['both.gpg', [fx.own.fpr, fx.next.fpr].sort()],
  ] as const) {
    const clear = await gpgv(join(fx.tmp, ring), [join(dir, 'InRelease')]);
    assert.equal(clear.valid, want, `InRelease with ${ring}`);
    const det = await gpgv(join(fx.tmp, ring), [join(dir, 'Release.gpg'), join(dir, 'Release')]);
    assert.equal(det.valid, want, `Release.gpg with ${ring}`);
  }
  assert.is((await gpgv(join(fx.tmp, 'both.gpg'), [join(dir, 'InRelease')])).code, 0);
  const none = await gpgv(join(fx.tmp, 'stranger.gpg'), [join(dir, 'InRelease')]);
  assert.equal(none.valid, []);
  assert.is.not(none.code, 0);
});

test('Signing: the named key alone signs; a protected key in a named keyring needs its passphrase; bad choices are 400 naming the field', async () => {
  const publish = (dist: string, Signing: Record<string, unknown>) =>
    fx.server.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'main' }], Distribution: dist, Signing });
  let r = await publish('newonly', { GpgKey: fx.next.fpr.slice(-16) });
  assert.is(r.status, 201, r.text);
  let dir = await fetchRelease('newonly', 'newonly');
  assert.equal((await gpgv(join(fx.tmp, 'both.gpg'), [join(dir, 'InRelease')])).valid, [fx.next.fpr]);
  assert.equal((await gpgv(join(fx.tmp, 'old.gpg'), [join(dir, 'InRelease')])).valid, []);

  for (const [signing, pattern] of [
    [{ GpgKey: fx.stranger.fpr }, /^Signing\.GpgKey: no key [0-9A-F]{40} in the server's keyring default$/],
    [{ GpgKey: 'not a key' }, /^Signing\.GpgKey: 'not a key' is not a key fingerprint/],
    [{ Keyring: '/root/.gnupg/pubring.kbx' }, /^Signing\.Keyring: names one of the server's keyrings .*never a file path/],
    [{ SecretKeyring: '../keys' }, /^Signing\.SecretKeyring: names one of the server's keyrings/],
    [{ Keyring: 'nosuch' }, /^Signing\.Keyring: the server has no keyring 'nosuch'$/],
    [{ PassphraseFile: '/etc/aptly.passphrase' }, /^Signing\.PassphraseFile: the server reads no file a client names/],
    [{ Keyring: 'ops' }, /^Signing\.Passphrase: key [0-9A-F]{40} is passphrase-protected/],
    [{ Keyring: 'ops', Passphrase: 'wrong' }, /^Signing\.Passphrase does not unlock key/],
    [{ Keyring: 'ops', SecretKeyring: 'default' }, /^Signing\.Keyring and Signing\.SecretKeyring name different keyrings/],
    [{ Skip: 'yes' }, /^Signing\.Skip/],
  ] as const) {
    r = await publish('refused', signing);
    assert.is(r.status, 400, `${JSON.stringify(signing)}: ${r.text}`);
    assert.match((r.json as { error: string }).error, pattern, JSON.stringify(signing));
  }
  assert.is((await fx.server.api('GET', '/api/publish/:./refused')).status, 404, 'nothing published by a refused request');

  // The ops keyring's key with its passphrase (aptly's Batch accepted); on update, as aptly's PUT takes Signing too.
  r = await publish('ops', { Keyring: 'ops', Passphrase: 'correct horse', Batch: true });
  assert.is(r.status, 201, r.text);
  dir = await fetchRelease('ops', 'ops');
  assert.equal((await gpgv(join(fx.tmp, 'ops.gpg'), [join(dir, 'InRelease')])).valid, [fx.ops.fpr]);
  r = await fx.server.api('PUT', '/api/publish/:./ops', { Signing: { GpgKey: `${fx.own.fpr}, ${fx.next.fpr}` } });
  assert.is(r.status, 200, r.text);
  dir = await fetchRelease('ops', 'ops2');
  assert.equal((await gpgv(join(fx.tmp, 'both.gpg'), [join(dir, 'InRelease')])).valid, [fx.own.fpr, fx.next.fpr].sort());
  r = await fx.server.api('PUT', '/api/publish/:./ops', { Signing: { GpgKey: fx.stranger.fpr } });
  assert.is(r.status, 400, r.text);
});

test('serve --gpg-key: the configured keys sign publishes that name none; a key the server lacks stops the start', async () => {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-sign2-'));
  try {
    await mkdir(join(dir, 'keys/keyrings/default'), { recursive: true });
    await writeFile(join(dir, 'keys/keyrings/default/next.asc'), fx.next.armored, { mode: 0o600 });
    let err: unknown;
    // A start that wrongly succeeds is stopped again, so the failure does not hang the run.
    const wrong = await TestRepoServer.start({ signingKeys: [fx.stranger.fpr] }, dir).catch((e: unknown) => void (err = e));
    await wrong?.stop(true);
    assert.match(String(err), /no key [0-9A-F]{40} in the server's keyring default/);
    // The failed start closed what it had opened (its journal was left to the garbage collector).
    assert.equal(await openUnder(dir), [], 'descriptors the failed start left open');
    const s = await TestRepoServer.start({ signingKeys: [fx.next.fpr] }, dir);
    try {
      assert.is((await s.api('POST', '/api/repos', { Name: 'r' })).status, 201);
      await s.addPackages('r', [await makeDeb(fx.p, 'cfgdemo')]);
      assert.is((await s.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'r' }], Distribution: 'cfg' })).status, 201);
      const r = await fetch(`${s.url}/dists/cfg/InRelease`);
      await writeFile(join(fx.tmp, 'cfg-InRelease'), Buffer.from(await r.arrayBuffer()));
      assert.equal((await gpgv(join(fx.tmp, 'new.gpg'), [join(fx.tmp, 'cfg-InRelease')])).valid, [fx.next.fpr]);
    } finally {
      await s.stop(true);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

for (const suite of SUITES) {
  test(`${suite}: apt-get update of a dual-signed distribution trusting the old key, the new key, both; an unrelated key fails`, async () => {
    const node = await FleetNode.create(suite);
    try {
      await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
      await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${fx.server.url}/stable.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
      for (const [trust, keys, ok] of [
        ['old', [fx.own.publicArmored], true],
        ['new', [fx.next.publicArmored], true],
        ['both', [fx.own.publicArmored, fx.next.publicArmored], true],
        ['stranger', [fx.stranger.publicArmored], false],
      ] as const) {
        await node.writeFile('/etc/apt/keyrings/debpkg.asc', keys.join('\n'));
        await node.run('rm -rf /var/lib/apt/lists/*');
        const r = await node.run(['apt-get', '-q', 'update'], { allowFail: true });
        const out = r.stdout + r.stderr;
        if (ok) {
          assert.is(r.code, 0, `${trust}: ${out}`);
          assert.not.match(out, /^(W|E): /m, `${trust}: ${out}`);
          const install = await node.run(['apt-get', '-q', '-y', '--reinstall', 'install', 'signdemo'], { allowFail: true });
          assert.is(install.code, 0, `${trust}: ${install.stdout}${install.stderr}`);
        } else {
          assert.match(out, /NO_PUBKEY|not signed|Missing key|no valid signature|is not signed/i, `${trust}: ${out}`);
          assert.match(out, /^(W|E): /m, `${trust}: ${out}`);
        }
      }
    } finally {
      await node.destroy();
    }
  });
}

test('a key rotation (serve --gpg-key OLD --gpg-key NEW): /keys/archive.asc and archive.gpg serve both keys; apt trusting the served file accepts either signer (bookworm, trixie)', async () => {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-rot-'));
  const third = await newKey('third archive key');
  let s: TestRepoServer | undefined;
  try {
    await mkdir(join(dir, 'keys/keyrings/default'), { recursive: true });
    await writeFile(join(dir, 'keys/keyrings/default/next.asc'), fx.next.armored, { mode: 0o600 });
    await writeFile(join(dir, 'keys/keyrings/default/third.asc'), third.armored, { mode: 0o600 });
    s = await TestRepoServer.start({ signingKeys: [fx.next.fpr, third.fpr] }, dir);
    const served = await fetch(`${s.url}/keys/archive.asc`);
    assert.is(served.status, 200);
    const armored = await served.text();
    const keys = await openpgp.readKeys({ armoredKeys: armored });
    assert.equal(keys.map((k) => k.getFingerprint().toUpperCase()).sort(), [fx.next.fpr, third.fpr].sort());
    assert.ok(keys.every((k) => !k.isPrivate()), 'public keys only');
    const binary = Buffer.from(await (await fetch(`${s.url}/keys/archive.gpg`)).arrayBuffer());
    await writeFile(join(fx.tmp, 'served.gpg'), binary);

    assert.is((await s.api('POST', '/api/repos', { Name: 'r' })).status, 201);
    await s.addPackages('r', [await makeDeb(fx.p, 'rotdemo')]);
    // One distribution signed by both (the default), one by each key alone.
    for (const [dist, signing] of [['rot-both', {}], ['rot-next', { GpgKey: fx.next.fpr }], ['rot-third', { GpgKey: third.fpr }]] as const) {
      const r = await s.api('POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: 'r' }], Distribution: dist, Signing: signing });
      assert.is(r.status, 201, r.text);
    }
    const inRelease = join(fx.tmp, 'rot-both-InRelease');
    await writeFile(inRelease, Buffer.from(await (await fetch(`${s.url}/dists/rot-both/InRelease`)).arrayBuffer()));
    assert.equal((await gpgv(join(fx.tmp, 'served.gpg'), [inRelease])).valid, [fx.next.fpr, third.fpr].sort());

    for (const suite of SUITES) {
      const node = await FleetNode.create(suite);
      try {
        await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
        await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${s.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
        for (const dist of ['rot-next', 'rot-third', 'rot-both']) {
          await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${s.url}/${dist}.sources`, `/etc/apt/sources.list.d/${dist}.sources`]);
        }
        const r = await node.run(['apt-get', '-q', 'update'], { allowFail: true });
        const out = r.stdout + r.stderr;
        assert.is(r.code, 0, `${suite}: ${out}`);
        assert.not.match(out, /^(W|E): /m, `${suite}: ${out}`);
        for (const dist of ['rot-next', 'rot-third']) {
          const install = await node.run(['apt-get', '-q', '-y', '--reinstall', 'install', `rotdemo/${dist}`], { allowFail: true });
          assert.is(install.code, 0, `${suite} ${dist}: ${install.stdout}${install.stderr}`);
        }
      } finally {
        await node.destroy();
      }
    }
  } finally {
    await s?.stop(true);
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
