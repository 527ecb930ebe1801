// .dsc reading (repo-server/packages/dsc.ts) and the source record made from it
// (packages/source-package.ts): a real gpg clearsigned .dsc reads as the unsigned one, and
// every hostile form is refused with a message naming the field or file.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DscError, MAX_DSC_FILES, parseDsc, stripClearsign } from '../../repo-server/packages/dsc.js';
import { sourceRecord, type FileDigests } from '../../repo-server/packages/source-package.js';
import { parsePackageKey } from '../../repo-server/packages/package-key.js';
import { sourcesStanza, SourcesIndexRenderError } from '../../repo-server/publish/sources-index.js';

const ORIG = Buffer.from('upstream tarball bytes');
const DEBIAN = Buffer.from('debian tarball bytes, a little longer');
const digests = (b: Buffer): FileDigests => ({ size: b.length, md5: hash('md5', b, 'hex'), sha1: hash('sha1', b, 'hex'), sha256: hash('sha256', b, 'hex'), sha512: hash('sha512', b, 'hex') });
const line = (kind: 'md5' | 'sha1' | 'sha256', b: Buffer, name: string): string => ` ${digests(b)[kind]} ${b.length} ${name}`;

function dscText({ extra = '', files = true, head = 'Format: 3.0 (quilt)\nSource: demo\nBinary: demo, demo-doc\nArchitecture: any all\nVersion: 1:1.0-1\n' } = {}): string {
  const lists = files
    ? `Checksums-Sha1:\n${line('sha1', ORIG, 'demo_1.0.orig.tar.gz')}\n${line('sha1', DEBIAN, 'demo_1.0-1.debian.tar.xz')}\n` +
      `Checksums-Sha256:\n${line('sha256', ORIG, 'demo_1.0.orig.tar.gz')}\n${line('sha256', DEBIAN, 'demo_1.0-1.debian.tar.xz')}\n` +
      `Files:\n${line('md5', ORIG, 'demo_1.0.orig.tar.gz')}\n${line('md5', DEBIAN, 'demo_1.0-1.debian.tar.xz')}\n`
    : '';
  return `${head}Maintainer: T <t@example.org>\nBuild-Depends: debhelper-compat (= 13), libfoo-dev [amd64] <!nocheck>\nPackage-List:\n demo deb misc optional arch=any\n${extra}${lists}`;
}

function refused(text: string | Buffer, re: RegExp): void {
  try {
    parseDsc(Buffer.isBuffer(text) ? text : Buffer.from(text));
  } catch (err) {
    assert.instance(err, DscError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`accepted:\n${text.slice(0, 400).toString()}`);
}

test('a .dsc reads as its fields, Source published as Package, file lists joined', () => {
  const dsc = parseDsc(Buffer.from(dscText()));
  assert.is(dsc.source, 'demo');
  assert.is(dsc.version, '1:1.0-1');
  assert.is(dsc.architecture, 'any all');
  assert.equal(dsc.files.map((f) => [f.name, f.size, f.md5, f.sha256]), [
    ['demo_1.0.orig.tar.gz', ORIG.length, digests(ORIG).md5, digests(ORIG).sha256],
    ['demo_1.0-1.debian.tar.xz', DEBIAN.length, digests(DEBIAN).md5, digests(DEBIAN).sha256],
  ]);
  assert.ok(dsc.control.startsWith('Package: demo\nFormat: 3.0 (quilt)\n'), dsc.control);
  assert.match(dsc.control, /^Package-List:\n demo deb misc optional arch=any$/m);
  assert.not.match(dsc.control, /^(Source|Files|Checksums-Sha1|Checksums-Sha256):/m);
});

test('a gpg clearsigned .dsc reads as the unsigned text; broken armor is refused', () => {
  const home = mkdtempSync(join(tmpdir(), 'dsc-gpg-'));
  try {
    const gpg = (args: string[], input?: string): string => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { input, encoding: 'utf8' });
    gpg(['--quick-gen-key', 'Dsc Test <dsc@example.org>', 'ed25519', 'sign', 'never']);
    const signed = gpg(['--clearsign', '--digest-algo', 'SHA512'], dscText());
    assert.ok(signed.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n'), signed.slice(0, 80));
    assert.is(stripClearsign(signed), `${dscText()}`);
    assert.equal(parseDsc(Buffer.from(signed)), parseDsc(Buffer.from(dscText())));
    refused(signed.replace('-----END PGP SIGNATURE-----\n', ''), /no -----END PGP SIGNATURE----- line/);
    refused(`${signed}Source: evil\n`, /text after the signature/);
    refused(signed.replace('Hash: SHA512\n', 'Hash SHA512\n'), /malformed armor header/);
    refused(signed.replace('\n-----BEGIN PGP SIGNATURE-----', '\n-----BEGIN PGP SIGNATURE----x'), /unexpected '-----BEGIN PGP SIGNATURE----x'|no -----BEGIN PGP SIGNATURE----- block/);
    // A signature block appended to an unsigned .dsc, or a second signed message inside.
    refused(`${dscText()}\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n`, /OpenPGP armor in an unsigned \.dsc/);
    refused(signed.replace('Maintainer:', '-----BEGIN PGP SIGNED MESSAGE-----\nMaintainer:'), /unexpected '-----BEGIN PGP SIGNED MESSAGE-----'/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('file lists: path-like names, bad digests and sizes, lists that disagree, too many files', () => {
  const swap = (from: string, to: string): string => dscText().split(from).join(to);
  refused(swap('demo_1.0.orig.tar.gz', '../demo_1.0.orig.tar.gz'), /'\.\.\/demo_1\.0\.orig\.tar\.gz' is not a plain file name/);
  refused(swap('demo_1.0.orig.tar.gz', '/etc/passwd'), /'\/etc\/passwd' is not a plain file name/);
  refused(swap('demo_1.0.orig.tar.gz', '.hidden'), /'\.hidden' is not a plain file name/);
  refused(swap('demo_1.0.orig.tar.gz', 'demo_1.0.orig.tar.gz%0aEvil'), /is not a plain file name/);
  refused(swap('demo_1.0.orig.tar.gz', 'other.dsc'), /other\.dsc: a source package names no \.dsc or \.deb/);
  refused(swap('demo_1.0.orig.tar.gz', `${'a'.repeat(250)}.tar.gz`), /at most 247 bytes/);
  refused(swap(digests(ORIG).md5, digests(ORIG).md5.toUpperCase()), /field Files: '[0-9A-F]{32}' is not 32 lowercase hex digits/);
  refused(swap(` ${ORIG.length} `, ' 12x '), /'12x' is not a file size/);
  refused(dscText().replace(/(Checksums-Sha256:\n [0-9a-f]{64}) \d+/, '$1 999'), /field Checksums-Sha256: demo_1\.0\.orig\.tar\.gz has size 999, Files says 22/);
  refused(dscText().replace(/\n [0-9a-f]{32} \d+ demo_1\.0-1\.debian\.tar\.xz/, ''), /field Checksums-Sha1: names 2 files, Files names 1/);
  refused(dscText({ files: false }), /has no Files field/);
  refused(dscText({ files: false, extra: 'Files: abc 1 x\n' }), /field Files: the first line must be empty/);
  const many = Array.from({ length: MAX_DSC_FILES + 1 }, (_, i) => ` ${'0'.repeat(32)} 1 f${i}.tar.gz`).join('\n');
  refused(dscText({ files: false, extra: `Files:\n${many}\n` }), new RegExp(`${MAX_DSC_FILES + 1} files; at most ${MAX_DSC_FILES}`));
  refused(dscText({ files: false, extra: `Files:\n ${'0'.repeat(32)} 1 a.tar.gz\n ${'0'.repeat(32)} 1 a.tar.gz\n` }), /a\.tar\.gz is listed twice/);
  refused(dscText({ extra: `Checksums-Md4:\n ${'0'.repeat(32)} 1 a.tar.gz\n` }), /field Checksums-Md4: unknown checksum list/);
});

test('fields: names, versions, index fields, line breaks and sizes are refused naming the field', () => {
  refused(dscText({ head: 'Format: 3.0 (quilt)\nVersion: 1.0-1\n' }), /has no Source field/);
  refused(dscText({ head: 'Format: 3.0 (quilt)\nSource: Demo\nVersion: 1.0-1\n' }), /field Source: invalid source package name 'Demo'/);
  refused(dscText({ head: 'Format: 3.0 (quilt)\nSource: demo\nVersion: 1.0 -1\n' }), /field Version: /);
  refused(dscText({ head: 'Format: 3.0 (quilt)\nSource: demo\n' }), /has no Version field/);
  refused(dscText({ head: 'Format: three\nSource: demo\nVersion: 1.0-1\n' }), /field Format: 'three'/);
  refused(dscText({ extra: 'Directory: pool/evil\n' }), /field Directory: written by the repository index/);
  refused(dscText({ extra: 'Package: other\n' }), /field Package: written by the repository index/);
  refused(dscText({ extra: 'Filename: x\n' }), /field Filename: written by the repository index/);
  refused(dscText({ head: 'Format: 1.0\nSource: demo\nVersion: 1.0-1\nArchitecture: any, all\n' }), /field Architecture: 'any, all'/);
  refused(dscText({ head: 'Format: 1.0\nSource: demo\nVersion: 1.0-1\nBinary: demo, Bad_Name\n' }), /field Binary: invalid package name 'Bad_Name'/);
  refused(dscText({ extra: 'Build-Depends-Indep: foo (>> )\n' }), /field Build-Depends-Indep: /);
  // Injection: a line break or a carriage return inside a value, a blank line (a second stanza).
  refused(dscText({ extra: 'Homepage: https://example.org\r\nPackage: evil\n' }), /\.dsc field Homepage: control character U\+000D/);
  refused(dscText({ extra: 'Homepage: x\n\nPackage: evil\n' }), /blank line/);
  refused(dscText({ extra: 'Vcs-Git: a\u0000b\n' }), /control character U\+0000/);
  refused(dscText({ extra: `Description: ${'x'.repeat(300 << 10)}\n` }), /field Description: value over 262144 bytes/);
  refused(Buffer.concat([Buffer.from(dscText()), Buffer.alloc(1 << 20, 0x20)]), /at most 1048576 are allowed/);
  refused(Buffer.from([...Buffer.from(dscText()), 0xff, 0x0a]), /not valid UTF-8/);
});

test('source record: digests checked against every list, the key covers the .dsc and its files', () => {
  const text = Buffer.from(dscText());
  const dsc = parseDsc(text);
  const files = new Map([['demo_1.0.orig.tar.gz', digests(ORIG)], ['demo_1.0-1.debian.tar.xz', digests(DEBIAN)]]);
  const rec = sourceRecord(dsc, 'demo_1.0-1.dsc', digests(text), (n) => files.get(n));
  const key = parsePackageKey(rec.key);
  assert.equal([key.architecture, key.name, key.version], ['source', 'demo', '1:1.0-1']);
  assert.equal(rec.sourceFiles!.map((f) => f.filename), ['demo_1.0-1.dsc', 'demo_1.0.orig.tar.gz', 'demo_1.0-1.debian.tar.xz']);
  assert.is(rec.file.filename, 'demo_1.0-1.dsc');
  // Another .dsc name: another files hash, another key.
  assert.is.not(sourceRecord(dsc, 'demo_1.0-1b.dsc', digests(text), (n) => files.get(n)).key, rec.key);

  const fails = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e: Error) => e instanceof DscError && re.test(e.message));
  };
  fails(() => sourceRecord(dsc, 'demo_1.0-1.dsc', digests(text), (n) => (n === 'demo_1.0.orig.tar.gz' ? undefined : files.get(n))), /demo_1\.0\.orig\.tar\.gz: named by the \.dsc but not uploaded with it/);
  const other = Buffer.from(ORIG);
  other[0] = other[0]! ^ 1;
  fails(() => sourceRecord(dsc, 'demo_1.0-1.dsc', digests(text), (n) => (n === 'demo_1.0.orig.tar.gz' ? digests(other) : files.get(n))), /demo_1\.0\.orig\.tar\.gz: md5 [0-9a-f]+ does not match the \.dsc's Files/);
  fails(() => sourceRecord(dsc, 'demo_1.0-1.dsc', digests(text), (n) => (n === 'demo_1.0.orig.tar.gz' ? { ...digests(ORIG), size: 1 } : files.get(n))), /size 1, the \.dsc says 22/);
  // Only a SHA-256 differs (a crafted collision of the weaker digests): still refused.
  fails(() => sourceRecord(dsc, 'demo_1.0-1.dsc', digests(text), (n) => (n === 'demo_1.0.orig.tar.gz' ? { ...digests(ORIG), sha256: '0'.repeat(64) } : files.get(n))), /sha256 0{64} does not match the \.dsc's Checksums-Sha256/);
  fails(() => sourceRecord(dsc, '../demo.dsc', digests(text), (n) => files.get(n)), /not a plain \.dsc file name/);
  fails(() => sourceRecord(dsc, 'demo 1.dsc', digests(text), (n) => files.get(n)), /not a plain \.dsc file name/);

  const stanza = sourcesStanza(rec, 'pool/main/d/demo');
  assert.match(stanza, /^Package: demo\n/);
  assert.match(stanza, /\nDirectory: pool\/main\/d\/demo\nFiles:\n [0-9a-f]{32} \d+ demo_1\.0-1\.dsc\n/);
  assert.throws(() => sourcesStanza({ ...rec, sourceFiles: [{ ...rec.file, filename: 'x\nPackage: evil' }] }, 'pool/main/d/demo'), (e: Error) => e instanceof SourcesIndexRenderError);
  assert.throws(() => sourcesStanza({ ...rec, sourceFiles: undefined }, 'pool'), (e: Error) => e instanceof SourcesIndexRenderError);
});

test.run();
