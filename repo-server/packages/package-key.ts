// aptly-compatible package references. A key such as "Pamd64 nginx 1.24.0-1 5a8c6f0e1d2b3c4f"
// identifies one exact package (aptly deb/package.go Key()); the trailing FilesHash tells two
// builds with the same name/version/arch apart (aptly deb/package_files.go Hash()).

export interface PackageFileRef {
  filename: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

export interface PackageKeyParts {
  architecture: string;
  name: string;
  version: string;
  filesHash: string;
}

/** FNV-1a/64 state as two uint32 halves: BigInt arithmetic costs ~1 µs per byte. */
interface Fnv {
  hi: number;
  lo: number;
}

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;

/** h = (h ^ b) × 0x100000001b3 mod 2^64, where the prime is 2^40 + 0x1b3. */
function fnv1a(h: Fnv, bytes: Uint8Array): void {
  let { hi, lo } = h;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]!) >>> 0;
    const p = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(p / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = p >>> 0;
  }
  h.hi = hi;
  h.lo = lo;
}

/**
 * aptly's FilesHash: FNV-1a/64 over the files sorted by name, each contributing its name,
 * its size as a big-endian int64, then the md5, sha1 and sha256 hex strings (sha512 is not
 * part of it). Printed like Go's "%08x": lowercase, no padding beyond 8 digits.
 */
export function filesHash(files: PackageFileRef[]): string {
  // Go sorts by byte order of the (UTF-8) string, which differs from JS UTF-16 order for astral chars.
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.filename), Buffer.from(b.filename)));
  const h: Fnv = { hi: FNV_OFFSET_HI, lo: FNV_OFFSET_LO };
  const size = Buffer.alloc(8);
  for (const f of sorted) {
    if (!Number.isSafeInteger(f.size) || f.size < 0) throw new RangeError(`invalid size ${f.size} for ${f.filename}`);
    size.writeBigUInt64BE(BigInt(f.size));
    fnv1a(h, Buffer.from(f.filename));
    fnv1a(h, size);
    fnv1a(h, Buffer.from(f.md5));
    fnv1a(h, Buffer.from(f.sha1));
    fnv1a(h, Buffer.from(f.sha256));
  }
  // Go's %08x of a uint64: no leading zeros beyond the 8-digit minimum.
  const hex = h.hi === 0 ? h.lo.toString(16) : h.hi.toString(16) + h.lo.toString(16).padStart(8, '0');
  return hex.padStart(8, '0');
}

/**
 * "P<arch> <name> <version> <hash>", exactly aptly's Key(""). `prefix` is the whole leading
 * tag: aptly's Key("xD") corresponds to prefix "xDP".
 */
export function packageKey(p: PackageKeyParts, prefix = 'P'): string {
  for (const [what, v] of [['architecture', p.architecture], ['name', p.name], ['version', p.version], ['filesHash', p.filesHash]] as const) {
    // A space would make the key ambiguous to split back apart.
    if (v === '' || /\s/.test(v)) throw new Error(`invalid package ${what} '${v}' for a package key`);
  }
  return `${prefix}${p.architecture} ${p.name} ${p.version} ${p.filesHash}`;
}

/** Inverse of packageKey(); throws on anything that is not a well-formed key. */
export function parsePackageKey(key: string, prefix = 'P'): PackageKeyParts {
  const fail = (why: string) => new Error(`malformed package key '${key}': ${why}`);
  if (!key.startsWith(prefix)) throw fail(`does not start with '${prefix}'`);
  const parts = key.slice(prefix.length).split(' ');
  if (parts.length !== 4) throw fail('expected "<arch> <name> <version> <hash>"');
  const [architecture, name, version, hash] = parts as [string, string, string, string];
  if (!architecture || !name || !version) throw fail('empty architecture, name or version');
  if (!/^[0-9a-f]{8,16}$/.test(hash)) throw fail(`bad files hash '${hash}'`);
  return { architecture, name, version, filesHash: hash };
}
