// Local repositories: create/edit/drop, and adding packages from the upload area or by key.
// A request is all or nothing: one bad or conflicting file and nothing is stored.

import { InvalidPackageError, inspectPackage } from '../packages/inspect.js';
import { forEachLimit } from '../../lib/concurrency.js';
import { identity, type Op, type PackageRecord, type RepoRecord } from '../storage/store.js';
import { recordFiles } from '../storage/records.js';
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
}

/** The fields an edit changes; absent ones stay. */
export interface EditRepoInput {
  name?: string;
  comment?: string;
  defaultDistribution?: string;
  defaultComponent?: string;
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

const shortName = (p: PackageRecord): string => `${p.name}_${p.version}_${p.architecture}`;

/** The record of an uploaded .deb: from the inspection made on arrival, else read from its blob. */
async function inspectUpload(ctx: Context, sha256: string): Promise<PackageRecord> {
  const known = await ctx.inspections.take(sha256);
  if (known) return known;
  const loc = ctx.store.blobs.get(sha256);
  if (!loc) throw notFound('uploaded file is gone');
  if (loc.pack === '') return inspectPackage(ctx.blobs.loosePath(sha256), ctx.inspections.limits);
  // A small blob in a pack: one pread on the pack's cached descriptor, in the same tick as the
  // location lookup (a compaction moves locations before it drops the old pack).
  return ctx.inspections.inspect(ctx.blobs.readSync(sha256, loc), sha256);
}

/**
 * Adds the packages of an upload directory (or one of them) to a local repo, as aptly does:
 * every file that can be added is, and each that cannot (unreadable, refused by a check, a
 * different build of a name/version/architecture already in this repo) is listed in
 * FailedFiles with a warning and stays in the upload area. In a directory, files that are not
 * packages (.deb, .dsc) nor named by an added .dsc are left alone. Uniqueness is per repo, as
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
  const results: ({ name: string; sha256: string; rec: PackageRecord } | undefined)[] = new Array(files.length);
  const sources = await inspectSourceUploads(ctx, manifest, files.map((f) => f.name));
  const inspectOne = async (i: number): Promise<void> => {
    const f = files[i]!;
    if (!f.name.endsWith('.deb') && !f.name.endsWith('.dsc')) {
      // aptly skips other files of a directory; a single named file must be a package.
      if (file !== undefined && !sources.companions.has(f.name)) {
        failed.push(`${dir}/${f.name}`);
        warnings.push(`Unknown file extension: ${dir}/${f.name}`);
      }
      return;
    }
    try {
      results[i] = { ...f, rec: f.name.endsWith('.dsc') ? sources.record(f.name) : await inspectUpload(ctx, f.sha256) };
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
  const inspected = results.filter((r): r is { name: string; sha256: string; rec: PackageRecord } => r !== undefined);
  const refusedByCheck = failed.length;
  const report = await ctx.writes.run(async () => {
    const repo = getRepo(ctx, name);
    // The upload may have been replaced or deleted while it was being inspected.
    const now = ctx.store.uploads.get(dir);
    for (const f of inspected) if (now?.get(f.name) !== f.sha256 || !recordFiles(f.rec).every((x) => ctx.store.blobs.has(x.sha256))) throw notFound(`file ${dir}/${f.name} changed or was deleted during the import`);
    const members = ctx.store.repoPackages.get(repo.name) ?? new Set<string>();
    const added: string[] = [];
    const removed: string[] = [];
    const ops: Op[] = [];
    const toAdd: string[] = [];
    const toRemove = new Set<string>();
    const processed = new Set<string>();
    const conflicts: string[] = [];
    // name/version/arch → key, for this repo as it will be after the add (aptly's PackageList).
    const inRepo = new Map<string, string>();
    for (const { rec } of inspected) {
      for (const k of ctx.store.byIdentity.get(identity(rec)) ?? []) if (members.has(k)) inRepo.set(identity(rec), k);
    }
    for (const { name: fileName, rec } of inspected) {
      const other = inRepo.get(identity(rec));
      if (other !== undefined && other !== rec.key) {
        if (!opts.forceReplace) {
          failed.push(`${dir}/${fileName}`);
          conflicts.push(`Unable to add package: package already exists and is different: ${shortName(rec)} (${other})`);
          continue;
        }
        if (members.has(other)) toRemove.add(other);
        const i = toAdd.indexOf(other);
        if (i >= 0) toAdd.splice(i, 1);
        removed.push(`${shortName(rec)} removed due to conflict with package being added`);
      }
      inRepo.set(identity(rec), rec.key);
      if (!ctx.store.packages.has(rec.key) && !ops.some((o) => o.op === 'pkg' && o.rec.key === rec.key)) ops.push({ op: 'pkg', rec });
      if (!members.has(rec.key) || toRemove.has(rec.key)) {
        if (!toAdd.includes(rec.key)) toAdd.push(rec.key);
        added.push(`${shortName(rec)} added`);
      } else {
        warnings.push(`${shortName(rec)} already in the repo`);
      }
      // The added file leaves the upload area with the files its .dsc names.
      processed.add(fileName);
      for (const x of recordFiles(rec)) if (manifest.has(x.filename)) processed.add(x.filename);
    }
    warnings.push(...conflicts);
    if (toAdd.length === 0 && processed.size === 0 && failed.length > 0) {
      failed.sort();
      const refused = { failedFiles: failed, warnings, added: [], removed: [] };
      if (refusedByCheck === 0) throw new ImportConflict(`conflicting packages: ${conflicts.join('; ')}`, refused);
      throw new ImportRefused(`unable to import: ${warnings.join('; ')}`, refused);
    }
    for (const k of toAdd) toRemove.delete(k);
    if (toRemove.size > 0) ops.push({ op: 'repo-rm', name, keys: [...toRemove] });
    if (toAdd.length > 0) ops.push({ op: 'repo-add', name, keys: toAdd });
    // The blobs stay (the records name them); the upload entries go in the same commit.
    if (!opts.noRemove && processed.size > 0) ops.push({ op: 'up-rm', dir, names: [...processed] });
    if (ops.length > 0) await ctx.store.commit(ops);
    return { added, removed };
  });
  failed.sort();
  return { failedFiles: failed, warnings, added: report.added, removed: report.removed };
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
