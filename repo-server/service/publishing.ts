// Published distributions (aptly's /api/publish): create from local repos or snapshots,
// update or switch, drop. One publish per prefix/distribution at a time; the rest queue.

import type { PackageRecord, PublishRecord, PublishSource } from '../storage/store.js';
import { publishId } from '../storage/store.js';
import type { Context } from './context.js';
import { badRequest, conflict, notFound } from './errors.js';
import { componentName, distributionName, publishPrefix } from './names.js';
import { getRepo } from './repos.js';
import { getSnapshot } from './snapshots.js';

export function publishJson(p: PublishRecord): Record<string, unknown> {
  return {
    Prefix: p.prefix,
    Distribution: p.distribution,
    SourceKind: p.sourceKind,
    Sources: p.sources.map((s) => ({ Component: s.component, Name: s.name })),
    Architectures: p.architectures,
    Origin: p.origin,
    Label: p.label,
    Suite: p.suite,
    Codename: p.codename,
    NotAutomatic: p.notAutomatic,
    ButAutomaticUpgrades: p.butAutomaticUpgrades,
    AcquireByHash: p.acquireByHash,
    SkipContents: p.skipContents,
    MultiDist: p.multiDist,
    SignedBy: p.signedBy,
    Storage: '',
    Path: p.prefix === '.' ? `./${p.distribution}` : `${p.prefix}/${p.distribution}`,
  };
}

export function getPublish(ctx: Context, prefix: string, distribution: string): PublishRecord {
  const p = ctx.store.publishes.get(publishId(prefix, distribution));
  if (!p) throw notFound(`published repo with prefix/distribution ${prefix}/${distribution} not found`);
  return p;
}

const text = (v: unknown, field: string, fallback = ''): string => {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`);
  return v;
};

function parseSources(ctx: Context, kind: 'local' | 'snapshot', raw: unknown, fallbackComponent: (name: string) => string): PublishSource[] {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest('Sources must list at least one {Component, Name}');
  const seen = new Set<string>();
  return raw.map((s: unknown) => {
    const o = (s ?? {}) as Record<string, unknown>;
    const name = text(o.Name, 'Sources[].Name');
    if (kind === 'local') getRepo(ctx, name);
    else getSnapshot(ctx, name);
    const component = componentName(text(o.Component, 'Sources[].Component') || fallbackComponent(name));
    if (seen.has(component)) throw badRequest(`component ${component} is listed twice`);
    seen.add(component);
    return { component, name };
  });
}

/** The packages each component publishes, read in one synchronous pass (a consistent view). */
function componentPackages(ctx: Context, rec: PublishRecord): Map<string, PackageRecord[]> {
  const out = new Map<string, PackageRecord[]>();
  for (const s of rec.sources) {
    const keys = rec.sourceKind === 'local' ? ctx.store.repoPackages.get(s.name) ?? new Set<string>() : getSnapshot(ctx, s.name).packages;
    const pkgs: PackageRecord[] = [];
    for (const k of keys) {
      const p = ctx.store.packages.get(k);
      if (p) pkgs.push(p);
    }
    out.set(s.component, pkgs);
  }
  return out;
}

/**
 * Release Dates must strictly increase (apt ignores an older Release) yet never run ahead of
 * the clock (apt rejects a Release that is "not valid yet"). With one-second resolution that
 * allows one publish per second per distribution: wait for the next second when needed.
 */
async function waitForNextSecond(lastDate: number): Promise<void> {
  const wait = (lastDate + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

async function run(ctx: Context, rec: PublishRecord, sign: boolean): Promise<PublishRecord> {
  await waitForNextSecond(rec.lastDate);
  const components = componentPackages(ctx, rec);
  const result = await ctx.publisher.publish(rec, components, { sign });
  const next: PublishRecord = { ...rec, generation: result.generation, lastDate: result.date };
  await ctx.writes.run(() => ctx.store.commit([{ op: 'pub', pub: next }]));
  ctx.log.info({ prefix: rec.prefix, distribution: rec.distribution, generation: result.generation, packages: result.packages }, 'published');
  return next;
}

function signingSkipped(body: Record<string, unknown>): boolean {
  const signing = body.Signing as Record<string, unknown> | undefined;
  return signing?.Skip === true;
}

/** POST /api/publish/:prefix. */
export async function createPublish(ctx: Context, prefixParam: string, body: Record<string, unknown>): Promise<PublishRecord> {
  const prefix = publishPrefix(prefixParam);
  const kind = text(body.SourceKind, 'SourceKind', 'local');
  if (kind !== 'local' && kind !== 'snapshot') throw badRequest(`SourceKind must be "local" or "snapshot"`);
  const sources = parseSources(ctx, kind, body.Sources, (name) => (kind === 'local' ? getRepo(ctx, name).defaultComponent : '') || 'main');
  let distribution = text(body.Distribution, 'Distribution');
  if (distribution === '' && kind === 'local') distribution = getRepo(ctx, sources[0]!.name).defaultDistribution;
  if (distribution === '') throw badRequest('Distribution is required (or set DefaultDistribution on the repo)');
  distributionName(distribution);
  const architectures = Array.isArray(body.Architectures) ? (body.Architectures as unknown[]).map((a) => String(a)) : [];
  for (const a of architectures) if (!/^[a-z0-9][a-z0-9-]*$/.test(a)) throw badRequest(`invalid architecture '${a}'`);
  const rec: PublishRecord = {
    prefix,
    distribution,
    sourceKind: kind,
    sources,
    architectures,
    // apt pins by Origin/Label, so they get stable, non-empty defaults.
    origin: text(body.Origin, 'Origin', prefix === '.' ? 'debpkg' : prefix),
    label: text(body.Label, 'Label', prefix === '.' ? 'debpkg' : prefix),
    suite: text(body.Suite, 'Suite', distribution),
    codename: text(body.Codename, 'Codename', distribution),
    notAutomatic: text(body.NotAutomatic, 'NotAutomatic'),
    butAutomaticUpgrades: text(body.ButAutomaticUpgrades, 'ButAutomaticUpgrades'),
    acquireByHash: body.AcquireByHash === undefined ? true : body.AcquireByHash === true,
    skipContents: body.SkipContents === true,
    multiDist: body.MultiDist === true,
    signedBy: text(body.SignedBy, 'SignedBy'),
    generation: 0,
    lastDate: 0,
  };
  return ctx.publishLocks.run(publishId(prefix, distribution), async () => {
    if (ctx.store.publishes.has(publishId(prefix, distribution)) && body.ForceOverwrite !== true) {
      throw conflict(`prefix/distribution already used by another published repo: ${prefix}/${distribution}`);
    }
    return run(ctx, rec, !signingSkipped(body));
  });
}

/** Plain re-publishes waiting for the same distribution share one run (queued updates coalesce). */
const waitingByServer = new WeakMap<Context, Map<string, Promise<PublishRecord>>>();

function isPlainUpdate(body: Record<string, unknown>): boolean {
  return Object.keys(body).every((k) => k === 'ForceOverwrite' || k === 'SkipCleanup');
}

/** PUT /api/publish/:prefix/:distribution: re-publish a local repo, or switch snapshots. */
export async function updatePublish(ctx: Context, prefixParam: string, distribution: string, body: Record<string, unknown>): Promise<PublishRecord> {
  const prefix = publishPrefix(prefixParam);
  const id = publishId(prefix, distribution);
  let waitingUpdates = waitingByServer.get(ctx);
  if (!waitingUpdates) {
    waitingUpdates = new Map();
    waitingByServer.set(ctx, waitingUpdates);
  }
  if (isPlainUpdate(body)) {
    const waiting = waitingUpdates.get(id);
    if (waiting) return waiting;
    const mine = ctx.publishLocks.run(id, async () => {
      // From here on this run is under way: later requests queue a new one, which will see
      // every change committed after this point.
      waitingUpdates!.delete(id);
      return republish(ctx, prefix, distribution, body);
    });
    waitingUpdates.set(id, mine);
    mine.catch(() => waitingUpdates!.delete(id));
    return mine;
  }
  return ctx.publishLocks.run(id, () => republish(ctx, prefix, distribution, body));
}

async function republish(ctx: Context, prefix: string, distribution: string, body: Record<string, unknown>): Promise<PublishRecord> {
  const rec = getPublish(ctx, prefix, distribution);
  const next: PublishRecord = { ...rec };
  if (rec.sourceKind === 'snapshot' && body.Snapshots !== undefined) {
    const switched = parseSources(ctx, 'snapshot', body.Snapshots, () => 'main');
    const byComponent = new Map(rec.sources.map((s) => [s.component, s] as const));
    for (const s of switched) {
      if (!byComponent.has(s.component)) throw badRequest(`component ${s.component} is not in this publish`);
      byComponent.set(s.component, s);
    }
    next.sources = [...byComponent.values()];
  }
  if (typeof body.AcquireByHash === 'boolean') next.acquireByHash = body.AcquireByHash;
  if (typeof body.SkipContents === 'boolean') next.skipContents = body.SkipContents;
  if (typeof body.MultiDist === 'boolean') next.multiDist = body.MultiDist;
  if (typeof body.SignedBy === 'string') next.signedBy = body.SignedBy;
  return run(ctx, next, !signingSkipped(body));
}

/** DELETE /api/publish/:prefix/:distribution. */
export async function dropPublish(ctx: Context, prefixParam: string, distribution: string): Promise<void> {
  const prefix = publishPrefix(prefixParam);
  await ctx.publishLocks.run(publishId(prefix, distribution), async () => {
    getPublish(ctx, prefix, distribution);
    await ctx.publisher.unpublish({ prefix, distribution });
    await ctx.writes.run(() => ctx.store.commit([{ op: 'pub-del', prefix, distribution }]));
  });
}
