// aptly's include (POST /api/repos/:name/include/:dir[/:file]): each .changes of an upload
// directory is read from its blob, its signature verified against the trusted uploaders'
// keyring (packages/clearsigned.ts: unless ignoreSignature; unsigned only with acceptUnsigned),
// parsed (packages/changes.ts), and every file it lists is looked up by its plain name in the
// same upload directory and checked in size and every digest it gives. The listed packages
// (.deb, .udeb, .ddeb, .dsc with the files it names) must be the upload's own (aptly's
// restriction: an architecture of its Architecture field, the Source or a Binary name), and
// are added to the repo the template names in one commit with the .changes and its .buildinfo
// leaving the upload area. Unlike aptly, a .changes is added whole or not at all: one of its
// files refused (digest, check, restriction, conflict) and nothing of it is added or removed.
// The signers must pass the repo's uploaders rules, else the global ones (service/uploaders.ts).

import { ChangesError, MAX_CHANGES_BYTES, parseChanges, type Changes } from '../packages/changes.js';
import { signedText } from '../packages/clearsigned.js';
import { InvalidPackageError } from '../packages/inspect.js';
import type { PackageRecord } from '../storage/store.js';
import { join } from 'node:path';
import type { Context } from './context.js';
import { invalid, notFound } from './errors.js';
import { commitImport, shortName, type Inspected } from './import-commit.js';
import { safeSegment } from './names.js';
import { inspectPackageFile, isPackageKind, uploadKind } from './package-files.js';
import { getRepo, ImportConflict, ImportRefused, type ImportReport } from './repos.js';
import { blobDigests, inspectSourceUploads } from './sources.js';
import { Uploads } from './uploads.js';
import { globalUploaders, uploadRefusal } from './uploaders.js';
import type { UploadersRules } from '../storage/records.js';

export interface IncludeOptions {
  forceReplace: boolean;
  noRemoveFiles: boolean;
  acceptUnsigned: boolean;
  ignoreSignature: boolean;
}

/** Where the keys whose uploads are trusted live (gpgv's binary keyring format). */
export const uploadersKeyring = (ctx: Pick<Context, 'keysDir'>): string => join(ctx.keysDir, 'trusted-uploaders.gpg');

/**
 * aptly's repo name is a Go template over the .changes fields ("{{.Distribution}}"): only
 * field references are supported; anything else in braces is refused.
 */
export function repoTemplate(template: string): (fields: ReadonlyMap<string, string>) => string {
  const ref = /\{\{\s*\.([A-Za-z0-9][A-Za-z0-9-]*)\s*\}\}/g;
  if (template.replace(ref, '').includes('{{') || template.replace(ref, '').includes('}}')) {
    throw invalid(`error parsing repo template: only {{.Field}} references are supported in '${template.slice(0, 100)}'`);
  }
  return (fields) => template.replace(ref, (_, name: string) => fields.get(name)?.trim() ?? '');
}

/** aptly's PackageQuery of a .changes: its architectures, and its source or one of its binaries (or their -dbgsym). */
function matchesUpload(changes: Changes, p: PackageRecord): boolean {
  if (!changes.architectures.includes(p.architecture)) return false;
  if (p.architecture === 'source') return p.name === changes.source;
  return changes.binaries.some((b) => p.name === b || p.name === `${b}-dbgsym`);
}

/** Checks each listed file's bytes: present by its plain name, size and every digest the .changes gives. */
async function checkListed(ctx: Context, changes: Changes, manifest: ReadonlyMap<string, string>): Promise<void> {
  for (const f of changes.files) {
    const sha = manifest.get(f.name);
    if (sha === undefined || !ctx.store.blobs.has(sha)) throw new ChangesError(`${f.name}: listed in the .changes but not uploaded with it`);
    const got = await blobDigests(ctx, sha);
    if (got.size !== f.size) throw new ChangesError(`${f.name}: size mismatch: expected ${f.size} != obtained ${got.size}`);
    for (const [kind, label] of [['md5', 'MD5'], ['sha1', 'SHA1'], ['sha256', 'SHA256'], ['sha512', 'SHA512']] as const) {
      const want = f[kind];
      if (want !== undefined && want !== '' && want !== got[kind]) throw new ChangesError(`${f.name}: checksum mismatch ${label}: expected ${want} != obtained ${got[kind]}`);
    }
  }
}

export async function includeChanges(ctx: Context, template: string, dir: string, file: string | undefined, opts: IncludeOptions): Promise<ImportReport> {
  const repoOf = repoTemplate(template);
  if (!template.includes('{{')) getRepo(ctx, template);
  const manifest = new Uploads(ctx).filesOf(dir);
  if (file !== undefined && !manifest.has(safeSegment(file, 'file name'))) throw notFound(`file ${dir}/${file} not found`);
  // aptly takes the .changes files of the directory (or the one named; another named file is no .changes and does nothing).
  const changesFiles = (file !== undefined ? [file] : [...manifest.keys()].sort()).filter((n) => n.endsWith('.changes'));
  const report: ImportReport = { failedFiles: [], warnings: [], added: [], removed: [] };
  let committed = false;
  let conflictsOnly = true;
  let global: Promise<UploadersRules | undefined> | undefined;
  const globalRules = (): Promise<UploadersRules | undefined> => (global ??= globalUploaders(ctx.keysDir));
  const policy = { acceptUnsigned: opts.acceptUnsigned, ignoreSignature: opts.ignoreSignature, keyring: uploadersKeyring(ctx) };
  for (const changesName of changesFiles) {
    const failed: string[] = [];
    try {
      const sha = manifest.get(changesName)!;
      const loc = ctx.store.blobs.get(sha);
      if (!loc) throw notFound(`file ${dir}/${changesName}: uploaded file is gone`);
      if (loc.size > MAX_CHANGES_BYTES) throw new ChangesError(`the .changes is ${loc.size} bytes; at most ${MAX_CHANGES_BYTES} are allowed`);
      await ctx.blobs.ensureLocal(sha, loc);
      const { text, signers } = await signedText(ctx.blobs.readSync(sha, loc), '.changes', policy);
      const changes = parseChanges(text);
      const repo = repoOf(changes.fields);
      const repoRec = ctx.store.repos.get(repo);
      if (!repoRec) throw new ChangesError(`local repo with name ${repo} not found`);
      // aptly: the repo's own rules replace the global ones.
      const rules = repoRec.uploaders ?? (await globalRules());
      const refusal = rules && uploadRefusal(rules, changes.fields, signers);
      if (refusal) throw new ChangesError(`changes file skipped due to uploaders config: ${changesName}, keys [${signers.join(', ')}]: ${refusal}`);
      await checkListed(ctx, changes, manifest);
      const listed = changes.files.map((f) => f.name);
      const packages = listed.filter((n) => isPackageKind(uploadKind(n)));
      const sources = await inspectSourceUploads(ctx, manifest, packages);
      const inspected: Inspected[] = [];
      const refusals: string[] = [];
      for (const name of packages) {
        try {
          const rec = await inspectPackageFile(ctx, name, manifest.get(name)!, sources);
          if (!matchesUpload(changes, rec)) throw new InvalidPackageError(`${shortName(rec)} has been ignored as it doesn't match restriction`);
          inspected.push({ name, sha256: manifest.get(name)!, rec });
        } catch (err) {
          if (!(err instanceof InvalidPackageError)) throw err;
          failed.push(`${dir}/${name}`);
          refusals.push(`${dir}/${name}: ${err.message}`);
        }
      }
      if (refusals.length > 0) {
        conflictsOnly = false;
        report.warnings.push(...refusals);
        throw new ChangesError('a file it lists was refused; nothing of it was added');
      }
      const outcome = await ctx.writes.run(async () =>
        commitImport(ctx, {
          repo,
          dir,
          manifest,
          inspected,
          forceReplace: opts.forceReplace,
          noRemove: opts.noRemoveFiles,
          whole: true,
          alsoProcessed: [changesName, ...listed.filter((n) => uploadKind(n) === 'buildinfo')],
        }),
      );
      report.warnings.push(...outcome.warnings);
      if (outcome.failed.length > 0) {
        report.failedFiles.push(...outcome.failed, `${dir}/${changesName}`);
        report.warnings.push(`unable to process file ${changesName}: conflicts with the repo; nothing of it was added`);
        continue;
      }
      committed ||= outcome.committed;
      report.added.push(...outcome.added);
      report.removed.push(...outcome.removed);
    } catch (err) {
      if (!(err instanceof ChangesError)) throw err;
      conflictsOnly = false;
      report.failedFiles.push(...failed, `${dir}/${changesName}`);
      report.warnings.push(`unable to process file ${changesName}: ${err.message}`);
    }
  }
  report.failedFiles.sort();
  // As an add from a directory: nothing done and something refused is an error carrying the report.
  if (!committed && report.failedFiles.length > 0) {
    if (conflictsOnly) throw new ImportConflict(`conflicting packages: ${report.warnings.join('; ')}`, report);
    throw new ImportRefused(`unable to include: ${report.warnings.join('; ')}`, report);
  }
  return report;
}
