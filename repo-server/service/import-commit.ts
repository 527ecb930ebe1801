// The commit of an import into a local repo, shared by the add from an upload directory and
// the .changes include: inspected packages are checked against the repo as it will be after
// the add (aptly's rule: a different build of a name/version/architecture already there fails,
// forceReplace replaces it), then one store commit adds the records, changes the repo's list
// and removes the added files from the upload area. `whole` makes the import all or nothing
// (one .changes is one upload: half of it is not added).

import { identity, type Op, type PackageRecord } from '../storage/store.js';
import { recordFiles } from '../storage/records.js';
import type { Context } from './context.js';
import { notFound } from './errors.js';

export interface Inspected {
  /** Its upload name. */
  name: string;
  sha256: string;
  rec: PackageRecord;
}

export interface ImportInput {
  repo: string;
  dir: string;
  /** The upload directory's manifest as it was inspected (name → sha256). */
  manifest: ReadonlyMap<string, string>;
  inspected: Inspected[];
  forceReplace: boolean;
  noRemove: boolean;
  /** All or nothing: one conflict and nothing is added nor removed from the upload area. */
  whole: boolean;
  /** More upload names that leave the upload area when the import adds (a .changes, its .buildinfo). */
  alsoProcessed: string[];
  /** Called before anything is committed (with the files that would leave the upload area); may refuse by throwing. */
  beforeCommit?(out: ImportOutcome, processed: number): void;
}

export interface ImportOutcome {
  added: string[];
  removed: string[];
  /** Conflicts and "already in the repo" notes, in aptly's words. */
  warnings: string[];
  /** Upload names refused by a conflict. */
  failed: string[];
  /** Conflicts only (for the refusal message). */
  conflicts: string[];
  /** Whether anything was committed. */
  committed: boolean;
}

export const shortName = (p: Pick<PackageRecord, 'name' | 'version' | 'architecture'>): string => `${p.name}_${p.version}_${p.architecture}`;

/** Runs under ctx.writes; the caller holds it. */
export async function commitImport(ctx: Context, input: ImportInput): Promise<ImportOutcome> {
  const { repo: name, dir, manifest, inspected, forceReplace } = input;
  // The upload may have been replaced or deleted while it was being inspected.
  const now = ctx.store.uploads.get(dir);
  for (const f of inspected) if (now?.get(f.name) !== f.sha256 || !recordFiles(f.rec).every((x) => ctx.store.blobs.has(x.sha256))) throw notFound(`file ${dir}/${f.name} changed or was deleted during the import`);
  for (const n of input.alsoProcessed) if (now?.get(n) !== manifest.get(n)) throw notFound(`file ${dir}/${n} changed or was deleted during the import`);
  const members = ctx.store.repoPackages.get(name) ?? new Set<string>();
  const out: ImportOutcome = { added: [], removed: [], warnings: [], failed: [], conflicts: [], committed: false };
  const notes: string[] = [];
  const ops: Op[] = [];
  const toAdd: string[] = [];
  const toRemove = new Set<string>();
  const processed = new Set<string>();
  // name/version/arch → key, for this repo as it will be after the add (aptly's PackageList).
  const inRepo = new Map<string, string>();
  for (const { rec } of inspected) {
    for (const k of ctx.store.byIdentity.get(identity(rec)) ?? []) if (members.has(k)) inRepo.set(identity(rec), k);
  }
  for (const { name: fileName, rec } of inspected) {
    const other = inRepo.get(identity(rec));
    if (other !== undefined && other !== rec.key) {
      if (!forceReplace) {
        out.failed.push(`${dir}/${fileName}`);
        out.conflicts.push(`Unable to add package: package already exists and is different: ${shortName(rec)} (${other})`);
        continue;
      }
      if (members.has(other)) toRemove.add(other);
      const i = toAdd.indexOf(other);
      if (i >= 0) toAdd.splice(i, 1);
      out.removed.push(`${shortName(rec)} removed due to conflict with package being added`);
    }
    inRepo.set(identity(rec), rec.key);
    if (!ctx.store.packages.has(rec.key) && !ops.some((o) => o.op === 'pkg' && o.rec.key === rec.key)) ops.push({ op: 'pkg', rec });
    if (!members.has(rec.key) || toRemove.has(rec.key)) {
      if (!toAdd.includes(rec.key)) toAdd.push(rec.key);
      out.added.push(`${shortName(rec)} added`);
    } else {
      notes.push(`${shortName(rec)} already in the repo`);
    }
    // The added file leaves the upload area with the files its .dsc names.
    processed.add(fileName);
    for (const x of recordFiles(rec)) if (manifest.has(x.filename)) processed.add(x.filename);
  }
  out.warnings.push(...notes, ...out.conflicts);
  if (input.whole && out.failed.length > 0) return { ...out, added: [], removed: [], warnings: out.conflicts };
  input.beforeCommit?.(out, processed.size);
  for (const n of input.alsoProcessed) processed.add(n);
  for (const k of toAdd) toRemove.delete(k);
  if (toRemove.size > 0) ops.push({ op: 'repo-rm', name, keys: [...toRemove] });
  if (toAdd.length > 0) ops.push({ op: 'repo-add', name, keys: toAdd });
  // The blobs stay (the records name them); the upload entries go in the same commit.
  if (!input.noRemove && processed.size > 0) ops.push({ op: 'up-rm', dir, names: [...processed] });
  if (ops.length > 0) await ctx.store.commit(ops);
  out.committed = toAdd.length > 0 || processed.size > 0;
  return out;
}
