// The files of an upload as aptly's importer sees them (deb/import.go CollectPackageFiles):
// packages (.deb, .udeb, .ddeb, .dsc), .buildinfo files (not packages: they leave the upload area
// with an add, as aptly's "other files" do) and the rest. A .udeb is a binary package that
// apt's debian-installer reads from its own index; its record differs from a .deb's only in
// the pool file name (name_version_arch.udeb), which also marks it for the publisher.

import { InvalidPackageError, inspectPackage } from '../packages/inspect.js';
import { filesHash, packageKey } from '../packages/package-key.js';
import type { PackageRecord } from '../storage/store.js';
import type { Context } from './context.js';
import { notFound } from './errors.js';
import type { SourceUploads } from './sources.js';

export type UploadKind = 'deb' | 'udeb' | 'ddeb' | 'dsc' | 'buildinfo' | 'other';

export function uploadKind(name: string): UploadKind {
  if (name.endsWith('.deb')) return 'deb';
  if (name.endsWith('.udeb')) return 'udeb';
  if (name.endsWith('.ddeb')) return 'ddeb';
  if (name.endsWith('.dsc')) return 'dsc';
  if (name.endsWith('.buildinfo')) return 'buildinfo';
  return 'other';
}

export const isPackageKind = (k: UploadKind): k is 'deb' | 'udeb' | 'ddeb' | 'dsc' => k === 'deb' || k === 'udeb' || k === 'ddeb' || k === 'dsc';

/**
 * A binary record read from a .udeb or .ddeb (an Ubuntu debug package, a .deb under another
 * name, as aptly takes it): its pool name keeps that extension, and the key's files hash follows.
 */
function renamed(rec: PackageRecord, ext: '.udeb' | '.ddeb'): PackageRecord {
  const file = { ...rec.file, filename: rec.file.filename.replace(/\.deb$/, ext) };
  const hash = filesHash([{ filename: file.filename, size: file.size, md5: file.md5, sha1: file.sha1, sha256: file.sha256 }]);
  return { ...rec, file, key: packageKey({ architecture: rec.architecture, name: rec.name, version: rec.version, filesHash: hash }) };
}

/** The record of an uploaded binary: from the inspection made on arrival, else read from its blob. */
async function inspectUpload(ctx: Context, sha256: string): Promise<PackageRecord> {
  const known = await ctx.inspections.take(sha256);
  if (known) return known;
  const loc = ctx.store.blobs.get(sha256);
  if (!loc) throw notFound('uploaded file is gone');
  await ctx.blobs.ensureLocal(sha256, loc); // another server's upload: into the local cache first
  if (loc.pack === '') return inspectPackage(ctx.blobs.loosePath(sha256), ctx.inspections.limits);
  // A small blob in a pack: one pread on the pack's cached descriptor, in the same tick as the
  // location lookup (a compaction moves locations before it drops the old pack).
  return ctx.inspections.inspect(ctx.blobs.readSync(sha256, loc), sha256);
}

/** The record of one uploaded package file; InvalidPackageError when a check refuses it. */
export async function inspectPackageFile(ctx: Context, name: string, sha256: string, sources: SourceUploads): Promise<PackageRecord> {
  const kind = uploadKind(name);
  if (kind === 'dsc') return sources.record(name);
  if (kind === 'deb') return inspectUpload(ctx, sha256);
  if (kind === 'udeb' || kind === 'ddeb') return renamed(await inspectUpload(ctx, sha256), `.${kind}`);
  throw new InvalidPackageError(`${name}: not a package (.deb, .udeb, .ddeb, .dsc)`);
}
