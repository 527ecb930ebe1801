// An uploaded file → a PackageRecord: the .deb is checked whole (ar layout, control, every
// data.tar entry decompresses) and hashed in one read, before anything is stored.

import { getField } from '../../deb/control.js';
import { digestFile } from '../../lib/digests.js';
import { hash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { readControlArchive, readDataArchive, readDebLayout, DebFormatError, type ControlArchive } from '../../deb/reader.js';
import { readDebBuffer } from '../../deb/reader-buffer.js';
import { DEFAULT_UNPACK_LIMITS, UnpackMeter, type UnpackLimits } from '../../deb/unpack-limits.js';
import { parseVersion, versionWithoutEpoch, VersionError } from '../../deb/version.js';
import type { PackageFile, PackageRecord } from '../storage/store.js';
import { filesHash, packageKey } from './package-key.js';
import { controlFilesProblem } from './control-files.js';
import { DataArchiveRules } from '../../deb/unpack-rules.js';
import { ruled } from '../../deb/reader-buffer.js';
import { controlProblem } from './control-check.js';

export class InvalidPackageError extends Error {}

const NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;
/** Bounds that keep names usable everywhere they go: the publish API's architecture bound, file names. */
const MAX_NAME = 128;
const MAX_ARCH = 64;
const MAX_FILENAME = 255;
/** Architecture values that name no binary architecture (dpkg-architecture's wildcards and source). */
const NOT_BINARY_ARCH = new Set(['source', 'any']);

/** Packages up to this size are read once into memory and checked there. */
const IN_MEMORY = 8 << 20;

// One-shot crypto.hash: half the cost of createHash for the small files most packages are.
const hashBuffer = (buf: Buffer, sha256?: string): Omit<PackageFile, 'filename'> => ({
  size: buf.length,
  md5: hash('md5', buf, 'hex'),
  sha1: hash('sha1', buf, 'hex'),
  sha256: sha256 ?? hash('sha256', buf, 'hex'),
  sha512: hash('sha512', buf, 'hex'),
});

/**
 * A package in a file of its own (a loose blob); small ones are read whole. Decompression
 * stops at `limits` (a bomb is an InvalidPackageError, not gigabytes of work).
 */
export async function inspectPackage(path: string, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<PackageRecord> {
  const st = await stat(path);
  if (st.size <= IN_MEMORY) {
    try {
      return await inspectBuffer(await readFile(path), undefined, limits);
    } catch (err) {
      if (err instanceof DebFormatError) throw new InvalidPackageError(err.message);
      throw err;
    }
  }
  let control;
  try {
    const layout = await readDebLayout(path);
    // One budget for both members: the limits are per package.
    const meter = new UnpackMeter(limits, layout.fileSize);
    control = await readControlArchive(path, layout, meter);
    // Walk the whole data archive: a corrupt or truncated payload is refused now, not on the node.
    const rules = new DataArchiveRules();
    await readDataArchive(path, (e) => ruled(layout.data.name, rules, e), layout, meter);
  } catch (err) {
    if (err instanceof DebFormatError) throw new InvalidPackageError(err.message);
    throw err;
  }
  return recordOf(control, await digestFile(path, ['md5', 'sha1', 'sha256', 'sha512']));
}

/**
 * A whole .deb in memory: layout, control and every data entry checked, hashed in one pass.
 * `sha256` is the file's digest when the caller has it already.
 */
export async function inspectBuffer(buf: Buffer, sha256?: string, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<PackageRecord> {
  let control;
  try {
    control = await readDebBuffer(buf, limits);
  } catch (err) {
    if (err instanceof DebFormatError) throw new InvalidPackageError(err.message);
    throw err;
  }
  return recordOf(control, hashBuffer(buf, sha256));
}

function recordOf(control: ControlArchive, hashes: Omit<PackageFile, 'filename'>): PackageRecord {
  const problem = controlProblem(control.controlText) ?? controlFilesProblem(control.files);
  if (problem !== null) throw new InvalidPackageError(problem);
  const field = (name: string): string => {
    const v = getField(control.control, name);
    if (v === undefined || v.trim() === '') throw new InvalidPackageError(`control file has no ${name} field`);
    return v.trim();
  };
  const name = field('Package');
  const version = field('Version');
  const architecture = field('Architecture');
  if (!NAME.test(name) || name.length > MAX_NAME) throw new InvalidPackageError(`control field Package: invalid package name '${name.slice(0, 200)}' (a-z0-9+.-, at most ${MAX_NAME} characters)`);
  if (!ARCH.test(architecture) || architecture.length > MAX_ARCH || NOT_BINARY_ARCH.has(architecture)) {
    throw new InvalidPackageError(`control field Architecture: invalid architecture '${architecture.slice(0, 200)}' for a binary package (a-z0-9-, at most ${MAX_ARCH} characters, not source or any)`);
  }
  try {
    parseVersion(version);
  } catch (err) {
    if (err instanceof VersionError) throw new InvalidPackageError(err.message);
    throw err;
  }
  const sourceField = getField(control.control, 'Source')?.trim();
  const m = sourceField ? /^([a-z0-9][a-z0-9+.-]+)(?:\s*\(([^)]+)\))?$/.exec(sourceField) : null;
  const file: PackageFile = { filename: `${name}_${versionWithoutEpoch(version)}_${architecture}.deb`, ...hashes };
  // apt keeps the file under this name (partial/, archives/) with ':' escaped as %3a: it must fit a file name.
  if (Buffer.byteLength(file.filename) + 8 > MAX_FILENAME) throw new InvalidPackageError(`control fields Package, Version, Architecture: the pool file name '${file.filename.slice(0, 80)}…' is over ${MAX_FILENAME - 8} bytes`);
  const fileHash = filesHash([{ filename: file.filename, size: file.size, md5: file.md5, sha1: file.sha1, sha256: file.sha256 }]);
  return {
    key: packageKey({ architecture, name, version, filesHash: fileHash }),
    name,
    version,
    architecture,
    source: m?.[1] ?? name,
    sourceVersion: m?.[2] ?? version,
    control: control.controlText.endsWith('\n') ? control.controlText : `${control.controlText}\n`,
    file,
  };
}
