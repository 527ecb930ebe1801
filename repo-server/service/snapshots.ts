// Snapshots: immutable package lists taken from a repo (or merged from other snapshots).

import { compareVersions } from '../../deb/version.js';
import type { SnapshotRecord } from '../storage/store.js';
import type { Context } from './context.js';
import { badRequest, conflict, notFound } from './errors.js';
import { objectName } from './names.js';
import { getRepo } from './repos.js';

export function snapshotJson(s: SnapshotRecord): Record<string, unknown> {
  return { Name: s.name, CreatedAt: s.createdAt, Description: s.description, Origin: '', NotAutomatic: '', ButAutomaticUpgrades: '' };
}

export function getSnapshot(ctx: Context, name: string): SnapshotRecord {
  const s = ctx.store.snapshots.get(name);
  if (!s) throw notFound(`snapshot with name ${name} not found`);
  return s;
}

async function save(ctx: Context, snap: SnapshotRecord): Promise<SnapshotRecord> {
  return ctx.writes.run(async () => {
    if (ctx.store.snapshots.has(snap.name)) throw conflict(`snapshot with name ${snap.name} already exists`);
    await ctx.store.commit([{ op: 'snap', snap }]);
    return snap;
  });
}

/** POST /api/repos/:name/snapshots. */
export async function snapshotFromRepo(ctx: Context, repoName: string, body: Record<string, unknown>): Promise<SnapshotRecord> {
  const name = objectName(body.Name, 'snapshot');
  const repo = getRepo(ctx, repoName);
  const keys = [...(ctx.store.repoPackages.get(repo.name) ?? [])].sort();
  const description = typeof body.Description === 'string' ? body.Description : `Snapshot from local repo [${repo.name}]`;
  return save(ctx, { name, description, createdAt: new Date().toISOString(), sourceKind: 'local', sources: [repo.name], packages: keys });
}

/** POST /api/snapshots: from explicit SourceSnapshots + PackageRefs (aptly's "create from refs"). */
export async function snapshotFromRefs(ctx: Context, body: Record<string, unknown>): Promise<SnapshotRecord> {
  const name = objectName(body.Name, 'snapshot');
  const sources = Array.isArray(body.SourceSnapshots) ? (body.SourceSnapshots as unknown[]).map(String) : [];
  for (const s of sources) getSnapshot(ctx, s);
  const refs = Array.isArray(body.PackageRefs) ? (body.PackageRefs as unknown[]).map(String) : [];
  for (const r of refs) if (!ctx.store.packages.has(r)) throw notFound(`package ${r} not found`);
  const description = typeof body.Description === 'string' ? body.Description : 'Created as empty';
  return save(ctx, { name, description, createdAt: new Date().toISOString(), sourceKind: 'snapshot', sources, packages: [...new Set(refs)].sort() });
}

/** POST /api/snapshots/merge: later sources win per name/arch (aptly's default "latest"). */
export async function mergeSnapshots(ctx: Context, body: Record<string, unknown>, latest: boolean): Promise<SnapshotRecord> {
  const name = objectName(body.Destination, 'snapshot');
  const sources = Array.isArray(body.Sources) ? (body.Sources as unknown[]).map(String) : [];
  if (sources.length === 0) throw badRequest('Sources must name at least one snapshot');
  const chosen = new Map<string, string>();
  for (const s of sources) {
    for (const k of getSnapshot(ctx, s).packages) {
      const p = ctx.store.packages.get(k);
      if (!p) continue;
      const id = `${p.name} ${p.architecture}`;
      const prev = chosen.get(id);
      const prevRec = prev ? ctx.store.packages.get(prev) : undefined;
      if (!prevRec || !latest || compareVersions(p.version, prevRec.version) > 0) chosen.set(id, k);
    }
  }
  return save(ctx, {
    name,
    description: `Merged from sources: ${sources.map((s) => `'${s}'`).join(', ')}`,
    createdAt: new Date().toISOString(),
    sourceKind: 'snapshot',
    sources,
    packages: [...chosen.values()].sort(),
  });
}

export async function editSnapshot(ctx: Context, name: string, body: Record<string, unknown>): Promise<SnapshotRecord> {
  return ctx.writes.run(async () => {
    const s = getSnapshot(ctx, name);
    const next = { ...s };
    if (typeof body.Description === 'string') next.description = body.Description;
    if (body.Name !== undefined && body.Name !== name) {
      const newName = objectName(body.Name, 'snapshot');
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

/** GET /api/snapshots/:name/diff/:withSnapshot, in aptly's shape. */
export function diffSnapshots(ctx: Context, a: string, b: string, onlyMatching: boolean): { Left: string | null; Right: string | null }[] {
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
  const out: { Left: string | null; Right: string | null }[] = [];
  for (const id of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const l = left.get(id) ?? null;
    const r = right.get(id) ?? null;
    if (l === r) continue;
    if (onlyMatching && (l === null || r === null)) continue;
    out.push({ Left: l, Right: r });
  }
  return out;
}
