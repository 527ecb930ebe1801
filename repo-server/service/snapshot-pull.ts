// POST /api/snapshots/:name/pull (aptly 1.6): pull packages matching queries, and what they
// depend on, from a source snapshot into a copy of :name saved as Destination.

import type { PackageRecord, SnapshotRecord } from '../storage/store.js';
import type { Context } from './context.js';
import { architecturesOf, byNameNewestFirst, matchesArchitecture, PackageSet, withDependencies } from './dependencies.js';
import { invalid, conflict } from './errors.js';
import { objectName } from './names.js';
import { queryPredicate, recordsOf } from './packages.js';
import { getSnapshot, save } from './snapshots.js';

export interface PullFlags {
  /** Pull every matching version, not just the newest per name/architecture. */
  allMatches: boolean;
  dryRun: boolean;
  noDeps: boolean;
  /** Keep the versions :name already had of a pulled name/architecture. */
  noRemove: boolean;
}

/** What to pull: package queries matched in `source`, saved with the result as `destination`. */
export interface PullInput {
  source: string;
  destination: string;
  queries: string[];
  /** Architectures besides those :name already has. */
  architectures: string[];
}

/** What a pull would change ("name_version_arch" each). */
export interface PullDryRun {
  added: string[];
  removed: string[];
}

/** aptly's Package.String(): name_version_arch. */
const shortName = (p: PackageRecord): string => `${p.name}_${p.version}_${p.architecture}`;

export async function pullIntoSnapshot(
  ctx: Context,
  name: string,
  input: PullInput,
  flags: PullFlags,
): Promise<{ dryRun: PullDryRun } | { snapshot: SnapshotRecord }> {
  if (input.source === '') throw invalid('Source is required');
  const destination = objectName(input.destination, 'Destination snapshot');
  const queries = input.queries;
  if (queries.length === 0) throw invalid('Queries must name at least one package query');
  const extraArchs = input.architectures;
  const to = getSnapshot(ctx, name);
  const source = getSnapshot(ctx, input.source);
  const predicates = queries.map((q) => queryPredicate(q));

  const current = recordsOf(ctx.store, to.packages);
  const sourcePkgs = recordsOf(ctx.store, source.packages);
  const architectures = [...new Set([...architecturesOf(current), ...extraArchs])].sort();
  if (architectures.length === 0) throw invalid('unable to determine list of architectures, please specify explicitly');
  for (const a of architectures) if (!/^[a-z0-9][a-z0-9-]*$/.test(a)) throw invalid(`invalid architecture '${a}'`);

  const inArchs = (p: PackageRecord): boolean => architectures.some((a) => matchesArchitecture(p, a));
  const matched = sourcePkgs.filter((p) => inArchs(p) && predicates.some((test) => test(p)));
  const pulled = flags.noDeps ? matched : withDependencies(matched, new PackageSet(sourcePkgs), current, architectures);

  const result = new Map(current.map((p) => [p.key, p] as const));
  const added: string[] = [];
  const removed: string[] = [];
  const seen = new Set<string>();
  for (const p of [...new Set(pulled)].sort(byNameNewestFirst)) {
    const pair = `${p.architecture}_${p.name}`;
    if (!flags.noRemove && !seen.has(pair)) {
      for (const q of [...result.values()]) {
        if (q.name === p.name && q.architecture === p.architecture) {
          result.delete(q.key);
          removed.push(shortName(q));
        }
      }
    }
    if (!seen.has(pair) || flags.allMatches) {
      result.set(p.key, p);
      added.push(shortName(p));
    }
    seen.add(pair);
  }
  if (flags.dryRun) return { dryRun: { added, removed } };
  if (ctx.store.snapshots.has(destination)) throw conflict(`snapshot with name ${destination} already exists`);
  const snapshot = await save(ctx, {
    name: destination,
    description: `Pulled into '${to.name}' with '${source.name}' as source, pull request was: '${queries.join(', ')}'`,
    createdAt: new Date().toISOString(),
    sourceKind: 'snapshot',
    sources: [to.name, source.name],
    packages: [...result.keys()].sort(),
  });
  return { snapshot };
}
