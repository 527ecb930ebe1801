import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { filesHash, packageKey, parsePackageKey, type PackageFileRef } from '../../repo-server/packages/package-key.js';

// Independent FNV-1a/64: 4 x 16-bit limbs in plain Numbers (no BigInt), over one byte string
// assembled by hand, so a shared mistake with the implementation is unlikely.
function fnvLimbs(data: Buffer): string {
  let h = [0x2325, 0x8422, 0x9ce4, 0xcbf2]; // 0xcbf29ce484222325, little-endian limbs
  const p = [0x01b3, 0x0000, 0x0100, 0x0000]; // 0x100000001b3
  for (const byte of data) {
    h[0] = h[0]! ^ byte;
    const r = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      let carry = 0;
      for (let j = 0; i + j < 4; j++) {
        const t = r[i + j]! + h[i]! * p[j]! + carry;
        r[i + j] = t & 0xffff;
        carry = Math.floor(t / 0x10000);
      }
    }
    h = r;
  }
  const hex = h.map((l) => l.toString(16).padStart(4, '0')).reverse().join('');
  return hex.replace(/^0+/, '').padStart(8, '0');
}

// Hex of the UTF-8 bytes sorts like Go's byte-wise string order.
const hexOf = (s: string) => Buffer.from(s, 'utf8').toString('hex');

function referenceHash(files: PackageFileRef[]): string {
  const ordered = files.slice().sort((a, b) => (hexOf(a.filename) < hexOf(b.filename) ? -1 : 1));
  const chunks: Buffer[] = [];
  for (const f of ordered) {
    const size = Buffer.alloc(8);
    size.writeUInt32BE(Math.floor(f.size / 2 ** 32), 0);
    size.writeUInt32BE(f.size % 2 ** 32, 4);
    chunks.push(Buffer.from(f.filename, 'utf8'), size, Buffer.from(f.md5 + f.sha1 + f.sha256, 'latin1'));
  }
  return fnvLimbs(Buffer.concat(chunks));
}

// aptly deb/package_files_test.go TestHash + deb/package_test.go TestKey.
const alien: PackageFileRef = {
  filename: 'alien-arena-common_7.40-2_i386.deb',
  size: 187518,
  md5: '1e8cba92c41420aa7baa8a5718d67122',
  sha1: '46955e48cad27410a83740a21d766ce362364024',
  sha256: 'eb4afb9885cba6dc70cccd05b910b2dbccc02c5900578be5e99f0d3dbf9d76a5',
};

test('golden value from aptly tests', () => {
  assert.is(filesHash([alien]), 'c8901eedd79ac51b');
  assert.is(referenceHash([alien]), 'c8901eedd79ac51b');
  assert.is(
    packageKey({ architecture: 'i386', name: 'alien-arena-common', version: '7.40-2', filesHash: filesHash([alien]) }),
    'Pi386 alien-arena-common 7.40-2 c8901eedd79ac51b',
  );
  assert.is(
    packageKey({ architecture: 'i386', name: 'alien-arena-common', version: '7.40-2', filesHash: 'c8901eedd79ac51b' }, 'xDP'),
    'xDPi386 alien-arena-common 7.40-2 c8901eedd79ac51b',
  );
});

test('empty file list is the FNV offset basis', () => {
  assert.is(filesHash([]), 'cbf29ce484222325');
  assert.is(referenceHash([]), 'cbf29ce484222325');
});

test('multi-file hash is order independent and matches the reference', () => {
  const dsc: PackageFileRef = { filename: 'hello_2.10-3.dsc', size: 1847, md5: 'a'.repeat(32), sha1: 'b'.repeat(40), sha256: 'c'.repeat(64) };
  const orig: PackageFileRef = { filename: 'hello_2.10.orig.tar.gz', size: 2 ** 33 + 5, md5: '0'.repeat(32), sha1: '1'.repeat(40), sha256: '2'.repeat(64) };
  const deb: PackageFileRef = { filename: 'hello_2.10-3.debian.tar.xz', size: 0, md5: 'd'.repeat(32), sha1: 'e'.repeat(40), sha256: 'f'.repeat(64) };
  const h = filesHash([dsc, orig, deb]);
  assert.is(filesHash([deb, orig, dsc]), h);
  assert.is(referenceHash([orig, dsc, deb]), h);
  assert.match(h, /^[0-9a-f]{8,16}$/);
  // Every component takes part in the hash.
  assert.is.not(filesHash([{ ...dsc, size: 1848 }, orig, deb]), h);
  assert.is.not(filesHash([{ ...dsc, sha256: 'C'.repeat(64) }, orig, deb]), h);
  assert.is.not(filesHash([{ ...dsc, filename: 'hello_2.10-4.dsc' }, orig, deb]), h);
});

test('short hashes are not padded to 16 digits', () => {
  // Brute-force a small input whose 64-bit hash has leading zero nibbles, then check formatting.
  let found: PackageFileRef | undefined;
  for (let i = 0; i < 200000 && !found; i++) {
    const f = { filename: `f${i}`, size: i, md5: '', sha1: '', sha256: '' };
    if (referenceHash([f]).length < 16) found = f;
  }
  assert.ok(found, 'expected some input with a hash shorter than 16 hex digits');
  const h = filesHash([found]);
  assert.is(h, referenceHash([found]));
  assert.ok(h.length >= 8 && h.length < 16);
  assert.not.match(h, /^0/);
});

test('parsePackageKey round-trips and rejects malformed keys', () => {
  const parts = { architecture: 'amd64', name: 'nginx', version: '1:1.24.0-1~bpo12+1', filesHash: '0badc0de' };
  assert.equal(parsePackageKey(packageKey(parts)), parts);
  assert.equal(parsePackageKey('xDPi386 a b c8901eedd79ac51b', 'xDP'), { architecture: 'i386', name: 'a', version: 'b', filesHash: 'c8901eedd79ac51b' });
  for (const bad of ['', 'Pamd64 nginx 1.0', 'Qamd64 nginx 1.0 0badc0de', 'Pamd64 nginx 1.0 0badc0de extra', 'Pamd64  1.0 0badc0de', 'Pamd64 nginx 1.0 XYZ', 'Pamd64 nginx 1.0 abc']) {
    assert.throws(() => parsePackageKey(bad), /malformed package key/, bad);
  }
  assert.throws(() => packageKey({ ...parts, version: '1 0' }));
  assert.throws(() => filesHash([{ ...alien, size: -1 }]));
});

test.run();
