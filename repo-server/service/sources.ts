// Source packages in an add from the upload area (POST /api/repos/:name/file/:dir[/:file]):
// each .dsc is read from its blob and checked (packages/dsc.ts), the files it names are
// looked up in the same upload directory by their plain names (never as paths) and hashed
// from their blobs, and the record is made only when sizes and every digest agree. Those
// files belong to the .dsc: they are not packages of their own, and leave the upload area with
// it, as aptly's ImportPackageFiles does. A file the upload lacks may already be in the pool
// (the .orig.tar.* of an earlier Debian revision, uploaded with `dpkg-genchanges -sd`): as
// aptly finds it there by checksum, it is taken from a stored source package's files when the
// name, the size and every digest the .dsc gives agree and its blob is still stored.

import { hash } from 'node:crypto';
import { digestFile } from '../../lib/digests.js';
import { DscError, MAX_DSC_BYTES, parseDsc, type DscFile } from '../packages/dsc.js';
import { InvalidPackageError } from '../packages/inspect.js';
import { sourceFileLists, sourceRecord, type FileDigests } from '../packages/source-package.js';
import type { PackageFile, PackageRecord } from '../storage/records.js';
import type { Context } from './context.js';
import { notFound } from './errors.js';

export interface SourceUploads {
  /** Files named by a .dsc of the add (not packages of their own). */
  companions: Set<string>;
  /** The record of a .dsc of the add; throws InvalidPackageError naming the file when it was refused. */
  record(dscName: string): PackageRecord;
}

const isDsc = (name: string): boolean => name.endsWith('.dsc');

/** Reads and checks every .dsc among `names` (upload names in `manifest`: name → sha256). */
export async function inspectSourceUploads(ctx: Pick<Context, 'store' | 'blobs'>, manifest: ReadonlyMap<string, string>, names: string[]): Promise<SourceUploads> {
  const companions = new Set<string>();
  const results = new Map<string, PackageRecord | string>();
  const digests = new Map<string, Promise<FileDigests>>();
  const digestsOf = (sha256: string): Promise<FileDigests> => {
    let d = digests.get(sha256);
    if (!d) digests.set(sha256, (d = blobDigests(ctx, sha256)));
    return d;
  };
  let pool: Map<string, PackageFile[]> | undefined;
  for (const name of names.filter(isDsc)) {
    try {
      const sha256 = manifest.get(name)!;
      const loc = ctx.store.blobs.get(sha256);
      if (!loc) throw notFound(`file ${name}: uploaded file is gone`);
      if (loc.size > MAX_DSC_BYTES) throw new DscError(`the .dsc is ${loc.size} bytes; at most ${MAX_DSC_BYTES} are allowed`);
      await ctx.blobs.ensureLocal(sha256, loc);
      const bytes = ctx.blobs.readSync(sha256, loc);
      const dsc = parseDsc(bytes);
      for (const f of dsc.files) companions.add(f.name);
      const known = new Map<string, FileDigests>();
      for (const f of dsc.files) {
        const sha = manifest.get(f.name);
        if (sha !== undefined && ctx.store.blobs.has(sha)) known.set(f.name, await digestsOf(sha));
        else if (sha === undefined) {
          const stored = (pool ??= storedSourceFiles(ctx)).get(f.name)?.find((p) => sameFile(p, f) && ctx.store.blobs.has(p.sha256));
          if (stored) known.set(f.name, { size: stored.size, md5: stored.md5, sha1: stored.sha1, sha256: stored.sha256, sha512: stored.sha512 });
        }
      }
      results.set(name, sourceRecord(dsc, name, digestsOfBuffer(bytes, sha256), (n) => known.get(n)));
    } catch (err) {
      if (err instanceof DscError) results.set(name, err.message);
      else throw err;
    }
  }
  return {
    companions,
    record(dscName) {
      const r = results.get(dscName);
      if (r === undefined) throw new InvalidPackageError(`${dscName}: not read as a .dsc`);
      if (typeof r === 'string') throw new InvalidPackageError(r);
      return r;
    },
  };
}

/** The files of every stored source package, by file name (built once per add, only when a .dsc names a file the upload lacks). */
function storedSourceFiles(ctx: Pick<Context, 'store'>): Map<string, PackageFile[]> {
  const byName = new Map<string, PackageFile[]>();
  for (const rec of ctx.store.packages.values()) {
    for (const f of rec.sourceFiles ?? []) {
      const list = byName.get(f.filename);
      if (list) list.push(f);
      else byName.set(f.filename, [f]);
    }
  }
  return byName;
}

/** A stored file is the one a .dsc names when the size and every digest the .dsc gives agree (MD5 at least: Files is required). */
function sameFile(stored: PackageFile, want: DscFile): boolean {
  if (stored.size !== want.size) return false;
  const given = (['md5', 'sha1', 'sha256', 'sha512'] as const).filter((k) => want[k] !== undefined && want[k] !== '');
  return given.length > 0 && given.every((k) => stored[k] === want[k]);
}

function digestsOfBuffer(buf: Buffer, sha256: string): FileDigests {
  return { size: buf.length, md5: hash('md5', buf, 'hex'), sha1: hash('sha1', buf, 'hex'), sha256, sha512: hash('sha512', buf, 'hex') };
}

/** A stored blob's digests: small ones from their pack in one read, loose ones streamed. */
export async function blobDigests(ctx: Pick<Context, 'store' | 'blobs'>, sha256: string): Promise<FileDigests> {
  const loc = ctx.store.blobs.get(sha256);
  if (!loc) throw notFound('uploaded file is gone');
  await ctx.blobs.ensureLocal(sha256, loc);
  if (loc.pack !== '') return digestsOfBuffer(ctx.blobs.readSync(sha256, loc), sha256);
  const d = await digestFile(ctx.blobs.loosePath(sha256), ['md5', 'sha1', 'sha256', 'sha512']);
  // The blob is content-addressed: a different digest means the stored file is damaged.
  if (d.sha256 !== sha256) throw new Error(`stored blob ${sha256} reads back as ${d.sha256}`);
  return d;
}

/** A source package's file lists in aptly's details shape (" <digest> <size> <name>\n" per file). */
export function sourceDetails(files: readonly PackageFile[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of sourceFileLists(files)) out[field] = `${value.slice(1)}\n`;
  return out;
}
