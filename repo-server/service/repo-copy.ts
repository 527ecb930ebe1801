// POST /api/repos/:name/copy/:src/:file (aptly 1.6): copy the packages of local repo :src
// that match the query :file (and, with "with-deps", what they depend on) into repo :name.

import { identity, type PackageRecord } from '../storage/store.js';
import type { Context } from './context.js';
import { architecturesOf, PackageSet, withDependencies } from './dependencies.js';
import { Unsatisfiable } from '../model/errors.js';
import { invalid, conflict } from './errors.js';
import { queryPredicate, recordsOf } from './packages.js';
import type { ChangeReport } from './repos.js';

export interface CopyOptions {
  /** Also copy what the matches depend on (within the source repo). */
  withDeps: boolean;
  /** Report what would be copied; store nothing. */
  dryRun: boolean;
}

export async function copyPackages(ctx: Context, dstName: string, srcName: string, query: string, { withDeps, dryRun }: CopyOptions): Promise<ChangeReport> {
  // aptly answers 400 (not 404) for either repo missing, and 422 for a query that selects nothing.
  if (!ctx.store.repos.has(dstName)) throw invalid(`dest repo error: local repo with name ${dstName} not found`);
  if (!ctx.store.repos.has(srcName)) throw invalid(`src repo error: local repo with name ${srcName} not found`);
  if (srcName === dstName) throw invalid('dest and source are identical');
  const test = queryPredicate(query, Unsatisfiable);

  return ctx.writes.run(async () => {
    // Re-read inside the lock: the repos may have changed while this request queued.
    if (!ctx.store.repos.has(dstName) || !ctx.store.repos.has(srcName)) throw invalid('dest or src repo was dropped meanwhile');
    const dst = recordsOf(ctx.store, ctx.store.repoPackages.get(dstName) ?? []);
    const src = recordsOf(ctx.store, ctx.store.repoPackages.get(srcName) ?? []);
    let chosen = src.filter(test);
    if (withDeps) {
      const architectures = architecturesOf(dst);
      if (architectures.length === 0) throw new Unsatisfiable('unable to determine list of architectures, please specify explicitly');
      chosen = withDependencies(chosen, new PackageSet(src), dst, architectures);
    }
    if (chosen.length === 0) throw new Unsatisfiable(`no package found for filter: '${query}'`);

    // aptly's PackageList.Add: an identical package is fine, a different build of the same
    // name/version/architecture is a conflict.
    const present = new Map<string, PackageRecord>(dst.map((p) => [identity(p), p]));
    const toAdd: string[] = [];
    const added: string[] = [];
    for (const p of chosen) {
      const there = present.get(identity(p));
      if (there && there.key !== p.key) throw conflict(`package ${p.key} conflicts with ${there.key} already in repo ${dstName}`);
      if (!there) {
        toAdd.push(p.key);
        present.set(identity(p), p);
      }
      added.push(`added ${p.name}-${p.version}(${p.architecture})`);
    }
    const warnings: string[] = [];
    if (dryRun) warnings.push('Changes not saved, as dry run has been requested');
    else if (toAdd.length > 0) await ctx.store.commit([{ op: 'repo-add', name: dstName, keys: toAdd }]);
    return { warnings, added, removed: [] };
  });
}
