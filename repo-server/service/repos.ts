// Local repositories: create/edit/drop, and adding packages from the upload area or by key.
// A request is all or nothing: one bad or conflicting file and nothing is stored.

import { parseUploaders } from './uploaders.js';
import { InvalidPackageError } from '../packages/inspect.js';
import { forEachLimit } from '../../lib/concurrency.js';
import { identity, type Op, type RepoRecord } from '../storage/store.js';
import { commitImport, type Inspected } from './import-commit.js';
import { inspectPackageFile, isPackageKind, uploadKind } from './package-files.js';
import { inspectSourceUploads } from './sources.js';
import type { Context } from './context.js';
import { Conflict, Invalid } from '../model/errors.js';
import { conflict, notFound } from './errors.js';
import { componentName, distributionName, objectName, safeSegment } from './names.js';
import { Uploads } from './uploads.js';

/** A new local repo (aptly's POST /api/repos); '' means "none" for every text field. */
export interface CreateRepoInput {
  name: string;
  comment: string;
  defaultDistribution: string;
  defaultComponent: string;
  /** Start with the packages of this snapshot. */
  fromSnapshot: string;
  /** aptly's uploaders.json value, unchecked (service/uploaders.ts checks it). */
  uploaders?: unknown;
}

/** The fields an edit changes; absent ones stay. */
export interface EditRepoInput {
  name?: string;
  comment?: string;
  defaultDistribution?: string;
  defaultComponent?: string;
  /** null removes the repo's rules. */
  uploaders?: unknown;
}

export function getRepo(ctx: Context, name: string): RepoRecord {
  const repo = ctx.store.repos.get(name);
  if (!repo) throw notFound(`local repo with name ${name} not found`);
  return repo;
}

/**
 * DefaultDistribution and DefaultComponent become a publish's Distribution and Component
 * (Release fields and paths), so they follow those grammars; aptly turns '/' in a default
 * distribution into '-' when it publishes. Empty means "none".
 */
const defaultDistribution = (value: string): string => {
  if (value !== '') distributionName(value.replace(/\//g, '-'), 'DefaultDistribution');
  return value;
};
const defaultComponent = (value: string): string => {
  if (value !== '') componentName(value, 'DefaultComponent');
  return value;
};

export async function createRepo(ctx: Context, input: CreateRepoInput): Promise<RepoRecord> {
  const name = objectName(input.name, 'repo');
  const repo: RepoRecord = {
    name,
    comment: input.comment,
    defaultDistribution: defaultDistribution(input.defaultDistribution),
    defaultComponent: defaultComponent(input.defaultComponent),
    ...(input.uploaders !== undefined && input.uploaders !== null ? { uploaders: parseUploaders(input.uploaders) } : {}),
  };
  const from = input.fromSnapshot;
  return ctx.writes.run(async () => {
    if (ctx.store.repos.has(name)) throw conflict(`local repo with name ${name} already exists`);
    const ops: Op[] = [{ op: 'repo', repo }];
    if (from !== '') {
      const snap = ctx.store.snapshots.get(from);
      if (!snap) throw notFound(`source snapshot not found: ${from}`);
      ops.push({ op: 'repo-add', name, keys: snap.packages });
    }
    await ctx.store.commit(ops);
    return repo;
  });
}

export async function editRepo(ctx: Context, name: string, edit: EditRepoInput): Promise<RepoRecord> {
  return ctx.writes.run(async () => {
    const repo = getRepo(ctx, name);
    const next: RepoRecord = { ...repo };
    if (edit.comment !== undefined) next.comment = edit.comment;
    if (edit.defaultDistribution !== undefined) next.defaultDistribution = defaultDistribution(edit.defaultDistribution);
    if (edit.defaultComponent !== undefined) next.defaultComponent = defaultComponent(edit.defaultComponent);
    if (edit.uploaders === null) delete next.uploaders;
    else if (edit.uploaders !== undefined) next.uploaders = parseUploaders(edit.uploaders);
    const ops: Op[] = [];
    if (edit.name !== undefined && edit.name !== name) {
      const newName = objectName(edit.name, 'repo');
      if (ctx.store.repos.has(newName)) throw conflict(`local repo with name ${newName} already exists`);
      if (publishedFrom(ctx, 'local', name)) throw conflict('unable to rename, local repo is published');
      next.name = newName;
      ops.push({ op: 'repo', repo: next }, { op: 'repo-add', name: newName, keys: [...(ctx.store.repoPackages.get(name) ?? [])] }, { op: 'repo-del', name });
    } else {
      ops.push({ op: 'repo', repo: next });
    }
    await ctx.store.commit(ops);
    return next;
  });
}

function publishedFrom(ctx: Context, kind: 'local' | 'snapshot', name: string): boolean {
  for (const p of ctx.store.publishes.values()) if (p.sourceKind === kind && p.sources.some((s) => s.name === name)) return true;
  return false;
}

export async function dropRepo(ctx: Context, name: string, force: boolean): Promise<void> {
  await ctx.writes.run(async () => {
    getRepo(ctx, name);
    if (publishedFrom(ctx, 'local', name)) throw conflict('unable to drop, local repo is published');
    if (!force && [...ctx.store.snapshots.values()].some((s) => s.sourceKind === 'local' && s.sources.includes(name))) {
      throw conflict('unable to drop, local repo has snapshots, use ?force=1 to override');
    }
    await ctx.store.commit([{ op: 'repo-del', name }]);
  });
}

/** What an import or copy did, in aptly's words ("hello_1.0_amd64 added"). */
export interface ChangeReport {
  warnings: string[];
  added: string[];
  removed: string[];
}

export interface ImportReport extends ChangeReport {
  /** "dir/file" of each upload that could not be imported. */
  failedFiles: string[];
}

/** A refused import: the error carries the report (aptly sends it in the error body). */
export class ImportRefused extends Invalid {
  constructor(
    message: string,
    readonly report: ImportReport,
  ) {
    super(message);
  }
}

/** An import that conflicts with packages already stored; the report says which files. */
export class ImportConflict extends Conflict {
  constructor(
    message: string,
    readonly report: ImportReport,
  ) {
    super(message);
  }
}

/**
 * Adds the packages of an upload directory (or one of them) to a local repo, as aptly does:
 * every file that can be added is, and each that cannot (unreadable, refused by a check, a
 * different build of a name/version/architecture already in this repo) is listed in
 * FailedFiles with a warning and stays in the upload area. In a directory, files that are not
 * packages (.deb, .udeb, .dsc) nor named by an added .dsc are left alone; .buildinfo files
 * leave the upload area with the add, as aptly's "other files" do. Uniqueness is per repo, as
 * aptly's: another repo may hold a different build of the same name/version/architecture.
 * When nothing at all could be added and some file failed, the add is refused (400, or 409 when
 * every failure is such a conflict) with the same report: see "Known differences".
 */
export async function importUploads(
  ctx: Context,
  name: string,
  dir: string,
  file: string | undefined,
  opts: { forceReplace: boolean; noRemove: boolean },
): Promise<ImportReport> {
  getRepo(ctx, name);
  const uploads = new Uploads(ctx);
  const manifest = uploads.filesOf(dir);
  if (file !== undefined && !manifest.has(safeSegment(file, 'file name'))) throw notFound(`file ${dir}/${file} not found`);
  const files = (file !== undefined ? [file] : [...manifest.keys()].sort()).map((f) => ({ name: f, sha256: manifest.get(f)! }));
  const failed: string[] = [];
  const warnings: string[] = [];
  const results: (Inspected | undefined)[] = new Array(files.length);
  /** .buildinfo files: not packages, they leave the upload area with the add (aptly's "other files"). */
  const other: string[] = [];
  const sources = await inspectSourceUploads(ctx, manifest, files.map((f) => f.name));
  const inspectOne = async (i: number): Promise<void> => {
    const f = files[i]!;
    const kind = uploadKind(f.name);
    if (kind === 'buildinfo') other.push(f.name);
    if (!isPackageKind(kind)) {
      // aptly skips other files of a directory; a single named file must be a package (or a .buildinfo).
      if (file !== undefined && kind !== 'buildinfo' && !sources.companions.has(f.name)) {
        failed.push(`${dir}/${f.name}`);
        warnings.push(`Unknown file extension: ${dir}/${f.name}`);
      }
      return;
    }
    try {
      results[i] = { ...f, rec: await inspectPackageFile(ctx, f.name, f.sha256, sources) };
    } catch (err) {
      if (err instanceof InvalidPackageError) {
        failed.push(`${dir}/${f.name}`);
        warnings.push(`${dir}/${f.name}: ${err.message}`);
      } else throw err;
    }
  };
  // Small packages not inspected on arrival (or evicted since) are read from their packs and
  // go to the inspection workers in batches: many at once, so the batches are large. Large
  // ones are read from disk a few at a time.
  const small: number[] = [];
  const large: number[] = [];
  for (const [i, f] of files.entries()) (ctx.store.blobs.get(f.sha256)?.pack === '' ? large : small).push(i);
  await Promise.all([forEachLimit(small, 256, inspectOne), forEachLimit(large, 8, inspectOne)]);
  const inspected = results.filter((r): r is Inspected => r !== undefined);
  const refusedByCheck = failed.length;
  const outcome = await ctx.writes.run(async () => {
    getRepo(ctx, name);
    return commitImport(ctx, {
      repo: name,
      dir,
      manifest,
      inspected,
      forceReplace: opts.forceReplace,
      noRemove: opts.noRemove,
      whole: false,
      alsoProcessed: other,
      beforeCommit(out, processed) {
        if (out.added.length > 0 || processed > 0 || failed.length + out.failed.length === 0) return;
        const refused = { failedFiles: [...failed, ...out.failed].sort(), warnings: [...warnings, ...out.warnings], added: [], removed: [] };
        if (refusedByCheck === 0) throw new ImportConflict(`conflicting packages: ${out.conflicts.join('; ')}`, refused);
        throw new ImportRefused(`unable to import: ${refused.warnings.join('; ')}`, refused);
      },
    });
  });
  return { failedFiles: [...failed, ...outcome.failed].sort(), warnings: [...warnings, ...outcome.warnings], added: outcome.added, removed: outcome.removed };
}

/** Adds or removes packages by key (POST/DELETE /api/repos/:name/packages). */
export async function changeRefs(ctx: Context, name: string, keys: string[], action: 'add' | 'remove'): Promise<RepoRecord> {
  return ctx.writes.run(async () => {
    const repo = getRepo(ctx, name);
    for (const r of keys) if (!ctx.store.packages.has(r)) throw notFound(`packages ${r}: key not found`);
    if (action === 'add') {
      const members = ctx.store.repoPackages.get(name)!;
      for (const k of keys) {
        const rec = ctx.store.packages.get(k)!;
        for (const other of ctx.store.byIdentity.get(identity(rec)) ?? []) {
          if (other !== k && members.has(other)) throw conflict(`package ${k} conflicts with ${other} already in the repo`);
        }
      }
    }
    await ctx.store.commit([{ op: action === 'add' ? 'repo-add' : 'repo-rm', name, keys }]);
    return repo;
  });
}
