// Snapshots: immutable package lists taken from a repo (or merged from other snapshots).

import { compareVersions } from '../../deb/version.js';
import { identity, type PackageRecord, type SnapshotRecord } from '../storage/store.js';
import type { Context } from './context.js';
import { invalid, conflict, notFound } from './errors.js';
import { objectName } from './names.js';
import { recordsOf } from './packages.js';
import { getRepo } from './repos.js';

/** A snapshot of a local repo; without a description one is made up (as aptly). */
export interface SnapshotFromRepoInput {
  name: string;
  description?: string;
}

/** A snapshot from explicit source snapshots and package keys (aptly's "create from refs"). */
export interface SnapshotFromRefsInput {
  name: string;
  sourceSnapshots: string[];
  packageRefs: string[];
  description?: string;
}

export interface EditSnapshotInput {
  name?: string;
  description?: string;
}

/** One line of a diff: the key on each side, null where that side lacks the name/architecture. */
export interface DiffEntry {
  left: string | null;
  right: string | null;
}

export function getSnapshot(ctx: Context, name: string): SnapshotRecord {
  const s = ctx.store.snapshots.get(name);
  if (!s) throw notFound(`snapshot with name ${name} not found`);
  return s;
}

export async function save(ctx: Context, snap: SnapshotRecord): Promise<SnapshotRecord> {
  return ctx.writes.run(async () => {
    if (ctx.store.snapshots.has(snap.name)) throw conflict(`snapshot with name ${snap.name} already exists`);
    await ctx.store.commit([{ op: 'snap', snap }]);
    return snap;
  });
}

export async function snapshotFromRepo(ctx: Context, repoName: string, input: SnapshotFromRepoInput): Promise<SnapshotRecord> {
  const name = objectName(input.name, 'snapshot');
  const repo = getRepo(ctx, repoName);
  const keys = [...(ctx.store.repoPackages.get(repo.name) ?? [])].sort();
  const description = input.description ?? `Snapshot from local repo [${repo.name}]`;
  return save(ctx, { name, description, createdAt: new Date().toISOString(), sourceKind: 'local', sources: [repo.name], packages: keys });
}

/**
 * As aptly: the source snapshots' packages merged left to right (a later one replaces a
 * name/architecture), then the package keys on top; two different builds of one
 * name/version/architecture among the keys are refused. "Created as empty" only describes a
 * snapshot made from nothing.
 */
export async function snapshotFromRefs(ctx: Context, input: SnapshotFromRefsInput): Promise<SnapshotRecord> {
  const name = objectName(input.name, 'snapshot');
  const sources = input.sourceSnapshots;
  const lists = sources.map((s) => getSnapshot(ctx, s).packages);
  const refs = [...new Set(input.packageRefs)];
  const seen = new Map<string, string>();
  for (const r of refs) {
    const p = ctx.store.packages.get(r);
    if (!p) throw notFound(`package ${r}: key not found`);
    const other = seen.get(identity(p));
    if (other !== undefined) throw invalid(`package already exists and is different: ${r} (${other})`);
    seen.set(identity(p), r);
  }
  if (refs.length > 0) lists.push(refs);
  const description = input.description ?? (sources.length + refs.length === 0 ? 'Created as empty' : '');
  return save(ctx, { name, description, createdAt: new Date().toISOString(), sourceKind: 'snapshot', sources, packages: mergePackageLists(ctx, lists, 'override') });
}

/** aptly's GET /api/snapshots?sort=name|time (name when not given). */
export function listSnapshots(ctx: Context, sort: string): SnapshotRecord[] {
  const all = [...ctx.store.snapshots.values()];
  if (sort === '' || sort === 'name') return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sort === 'time') return all.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  throw invalid(`sorting method "${sort}" unknown`);
}

export type MergeMode = 'override' | 'no-remove' | 'latest';

/** aptly's merge query flags: latest=1 and no-remove=1 exclude each other. */
export function mergeMode(latest: boolean, noRemove: boolean): MergeMode {
  if (latest && noRemove) throw invalid('no-remove and latest are mutually exclusive');
  return latest ? 'latest' : noRemove ? 'no-remove' : 'override';
}

/**
 * aptly's RefList.Merge from left to right: by default a later source replaces every version
 * of a name/architecture the earlier ones had; "no-remove" keeps them all; "latest" keeps the
 * union, then only the newest version of each name/architecture. The same name, version and
 * architecture with different files: the later source wins in every mode.
 */
export function mergePackageLists(ctx: Context, lists: string[][], mode: MergeMode): string[] {
  const byIdentity = new Map<string, string>(); // "name version arch" → key
  for (const [i, keys] of lists.entries()) {
    const incoming = recordsOf(ctx.store, keys);
    if (i > 0 && mode === 'override') {
      const replaced = new Set(incoming.map((p) => `${p.name} ${p.architecture}`));
      for (const [id, k] of byIdentity) {
        const p = ctx.store.packages.get(k)!;
        if (replaced.has(`${p.name} ${p.architecture}`)) byIdentity.delete(id);
      }
    }
    for (const p of incoming) byIdentity.set(identity(p), p.key);
  }
  let keys = [...byIdentity.values()];
  if (mode === 'latest') {
    const newest = new Map<string, PackageRecord>();
    for (const p of recordsOf(ctx.store, keys)) {
      const id = `${p.name} ${p.architecture}`;
      const prev = newest.get(id);
      if (!prev || compareVersions(p.version, prev.version) > 0) newest.set(id, p);
    }
    keys = [...newest.values()].map((p) => p.key);
  }
  return keys.sort();
}

/** A new snapshot `name` merged from `sources`, left to right. */
export async function mergeSnapshots(ctx: Context, name: string, sources: string[], mode: MergeMode): Promise<SnapshotRecord> {
  objectName(name, 'snapshot');
  if (sources.length === 0) throw invalid('minimum one source snapshot is required');
  if (ctx.store.snapshots.has(name)) throw conflict(`unable to create snapshot: snapshot with name ${name} already exists`);
  const lists = sources.map((s) => getSnapshot(ctx, s).packages);
  return save(ctx, {
    name,
    description: `Merged from sources: ${sources.map((s) => `'${s}'`).join(', ')}`,
    createdAt: new Date().toISOString(),
    sourceKind: 'snapshot',
    sources,
    packages: mergePackageLists(ctx, lists, mode),
  });
}

export async function editSnapshot(ctx: Context, name: string, edit: EditSnapshotInput): Promise<SnapshotRecord> {
  return ctx.writes.run(async () => {
    const s = getSnapshot(ctx, name);
    const next = { ...s };
    if (edit.description !== undefined) next.description = edit.description;
    // As aptly: a new name that is taken fails, the snapshot's own name included.
    if (edit.name !== undefined && edit.name !== '') {
      const newName = objectName(edit.name, 'snapshot');
      if (ctx.store.snapshots.has(newName)) throw conflict(`snapshot with name ${newName} already exists`);
      next.name = newName;
      await ctx.store.commit([{ op: 'snap', snap: next }, { op: 'snap-del', name }]);
    } else await ctx.store.commit([{ op: 'snap', snap: next }]);
    return next;
  });
}

export async function dropSnapshot(ctx: Context, name: string, force: boolean): Promise<void> {
  await ctx.writes.run(async () => {
    getSnapshot(ctx, name);
    for (const p of ctx.store.publishes.values()) {
      if (p.sourceKind === 'snapshot' && p.sources.some((s) => s.name === name)) throw conflict('unable to drop: snapshot is published');
    }
    if (!force && [...ctx.store.snapshots.values()].some((s) => s.sourceKind === 'snapshot' && s.sources.includes(name))) {
      throw conflict('unable to drop: snapshot was used as source of other snapshots, use ?force=1 to override');
    }
    await ctx.store.commit([{ op: 'snap-del', name }]);
  });
}

/** What differs between two snapshots, per name/architecture (aptly's diff). */
export function diffSnapshots(ctx: Context, a: string, b: string, onlyMatching: boolean): DiffEntry[] {
  const index = (name: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const k of getSnapshot(ctx, name).packages) {
      const p = ctx.store.packages.get(k);
      if (p) m.set(`${p.name} ${p.architecture}`, k);
    }
    return m;
  };
  const left = index(a);
  const right = index(b);
  const out: DiffEntry[] = [];
  for (const id of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const l = left.get(id) ?? null;
    const r = right.get(id) ?? null;
    if (l === r) continue;
    if (onlyMatching && (l === null || r === null)) continue;
    out.push({ left: l, right: r });
  }
  return out;
}
