// A checked .dsc plus the bytes' digests of every file it names → a source package record.
// The digests are ours (computed from the stored blobs); the .dsc's lists must agree with them
// in size and every digest they give, so the Sources index we write names exactly what apt
// (and dpkg-source) will fetch and verify.

import type { PackageFile, PackageRecord } from '../storage/records.js';
import { DscError, SUM_FIELDS, SUM_KIND, type Dsc, type SumField } from './dsc.js';
import { filesHash, packageKey } from './package-key.js';

/** Digests of a stored file (without its name). */
export type FileDigests = Omit<PackageFile, 'filename'>;

/**
 * `dscName` is the .dsc's own upload name and `dscDigests` its digests; `digestsOf(name)` the
 * digests of a file the .dsc names, or undefined when the upload has no such file.
 */
export function sourceRecord(dsc: Dsc, dscName: string, dscDigests: FileDigests, digestsOf: (name: string) => FileDigests | undefined): PackageRecord {
  // The upload name becomes the pool name and a Sources line: the same rule as the names it lists.
  if (!/^[A-Za-z0-9][A-Za-z0-9.+~_-]*\.dsc$/.test(dscName) || Buffer.byteLength(dscName) > 247) {
    throw new DscError(`${dscName.slice(0, 80)}: not a plain .dsc file name (A-Za-z0-9.+~_-, at most 247 bytes)`);
  }
  if (dsc.files.some((f) => f.name === dscName)) throw new DscError(`${dscName}: the .dsc names itself`);
  const files: PackageFile[] = [{ filename: dscName, ...dscDigests }];
  for (const want of dsc.files) {
    const got = digestsOf(want.name);
    if (!got) throw new DscError(`${want.name}: named by the .dsc but not uploaded with it (nor in the pool with the .dsc's size and checksums)`);
    if (got.size !== want.size) throw new DscError(`${want.name}: size ${got.size}, the .dsc says ${want.size}`);
    for (const field of Object.keys(SUM_FIELDS) as SumField[]) {
      const kind = SUM_KIND[field];
      const expected = want[kind];
      if (expected !== undefined && expected !== got[kind]) throw new DscError(`${want.name}: ${kind} ${got[kind]} does not match the .dsc's ${field} (${expected})`);
    }
    files.push({ filename: want.name, ...got });
  }
  // aptly's FilesHash covers every file, the .dsc included.
  const hash = filesHash(files.map((f) => ({ filename: f.filename, size: f.size, md5: f.md5, sha1: f.sha1, sha256: f.sha256 })));
  return {
    key: packageKey({ architecture: 'source', name: dsc.source, version: dsc.version, filesHash: hash }),
    name: dsc.source,
    version: dsc.version,
    architecture: 'source',
    source: dsc.source,
    sourceVersion: dsc.version,
    control: dsc.control,
    file: files[0]!,
    sourceFiles: files,
  };
}

/**
 * The file lists of a source package's stanza, as Debian's Sources index writes them (the
 * .dsc included): Files (MD5), Checksums-Sha1, -Sha256, -Sha512; each value starts with a
 * line break and has one " <digest> <size> <name>" line per file.
 */
export function sourceFileLists(files: readonly PackageFile[]): [string, string][] {
  const list = (pick: (f: PackageFile) => string): string => files.map((f) => `\n ${pick(f)} ${f.size} ${f.filename}`).join('');
  return [
    ['Files', list((f) => f.md5)],
    ['Checksums-Sha1', list((f) => f.sha1)],
    ['Checksums-Sha256', list((f) => f.sha256)],
    ['Checksums-Sha512', list((f) => f.sha512)],
  ];
}
