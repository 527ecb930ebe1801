// Published distributions (aptly's /api/publish): create from local repos or snapshots,
// update or switch, drop. One publish per prefix/distribution at a time; updates that queue
// meanwhile are folded into the next publish, in arrival order (see coalescer.ts).

import { PoolClashError } from '../publish/publisher.js';
import { SourceLists } from '../publish/source-lists.js';
import type { Signer } from '../pgp/signer.js';
import type { PackageRecord, PublishRecord } from '../storage/store.js';
import { publishId } from '../storage/store.js';
import { Coalescer, type Queued } from './coalescer.js';
import type { Context } from './context.js';
import { Conflict } from '../model/errors.js';
import { invalid, notFound } from './errors.js';
import { distributionName, publishPrefix } from './names.js';
import { agreed, applyChange, releaseVersion, architectureList, parseChange, releaseLine, resolveSources, rootDefaults, signedBy, suiteName, yesNo, type PublishChange, type PublishInput, type PublishUpdateInput, type SigningRequest } from './publish-options.js';
import { getSnapshot } from './snapshots.js';

/** A publish that would put two different files at one pool path; `paths` names them. */
export class PoolClash extends Conflict {
  constructor(
    message: string,
    readonly paths: string[],
  ) {
    super(message);
  }
}

export function getPublish(ctx: Context, prefix: string, distribution: string): PublishRecord {
  const p = ctx.store.publishes.get(publishId(prefix, distribution));
  if (!p) throw notFound(`published repo with prefix/distribution ${prefix}/${distribution} not found`);
  return p;
}

/** What each source held at its last publish (see publish/source-lists.ts). */
const sourceLists = new WeakMap<Context, SourceLists>();

function listsOf(ctx: Context): SourceLists {
  let l = sourceLists.get(ctx);
  if (!l) sourceLists.set(ctx, (l = new SourceLists()));
  return l;
}

function repoRecords(ctx: Context, name: string): PackageRecord[] {
  const order = ctx.store.repoOrder.get(name);
  if (!order) return [];
  return listsOf(ctx).read(order, ctx.store.packageDeletions, (k) => ctx.store.packages.get(k));
}

function snapshotRecords(ctx: Context, name: string): PackageRecord[] {
  const snap = getSnapshot(ctx, name);
  return listsOf(ctx).read(snap.packages, ctx.store.packageDeletions, (k) => ctx.store.packages.get(k));
}

/** The packages each component publishes, read in one synchronous pass (a consistent view). */
function componentPackages(ctx: Context, rec: PublishRecord): Map<string, PackageRecord[]> {
  const out = new Map<string, PackageRecord[]>();
  for (const s of rec.sources) out.set(s.component, rec.sourceKind === 'local' ? repoRecords(ctx, s.name) : snapshotRecords(ctx, s.name));
  return out;
}

/** How many packages a publish of `rec` lists (aptly's TotalNumberOfPackages: all components). */
export function publishPackageCount(ctx: Context, rec: PublishRecord): number {
  let n = 0;
  for (const pkgs of componentPackages(ctx, rec).values()) n += pkgs.length;
  return n;
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

/** The keys a publish signs with (none: Signing.Skip); a rejection is handled where awaited. */
function keysOf(ctx: Context, sign: boolean, signing: SigningRequest | undefined): Promise<Signer | undefined> {
  const keys = sign ? ctx.keyring.signerFor(signing) : Promise.resolve(undefined);
  keys.catch(() => undefined);
  return keys;
}

/**
 * The signer of a publish: undefined publishes unsigned (Signing.Skip). `forceOverwrite`: a rebuild
 * whose pool paths hold other bytes is published beside them (publish/pool-check.ts) instead of refused.
 */
async function run(ctx: Context, rec: PublishRecord, signer: Signer | undefined, forceOverwrite: boolean): Promise<PublishRecord> {
  await waitForNextSecond(rec.lastDate);
  const t0 = performance.now();
  const components = componentPackages(ctx, rec);
  const collectMs = Math.round(performance.now() - t0);
  const result = await ctx.publisher.publish(rec, components, signer ? { signer, forceOverwrite } : { sign: false, forceOverwrite }).catch((err: unknown) => {
    if (err instanceof PoolClashError) throw new PoolClash(err.message, err.paths);
    throw err;
  });
  const next: PublishRecord = { ...rec, generation: result.generation, lastDate: result.date, publishedArchitectures: result.architectures };
  await ctx.writes.run(() => ctx.store.commit([{ op: 'pub', pub: next }]));
  ctx.log.info({ prefix: rec.prefix, distribution: rec.distribution, generation: result.generation, packages: result.packages, ms: { collect: collectMs, ...result.ms } }, 'published');
  return next;
}

/** Publishes local repos or snapshots as a new distribution under `prefixParam`. */
export async function createPublish(ctx: Context, prefixParam: string, input: PublishInput): Promise<PublishRecord> {
  const prefix = publishPrefix(prefixParam);
  const kind = input.sourceKind;
  if (kind !== 'local' && kind !== 'snapshot') throw invalid(`SourceKind must be "local" or "snapshot"`);
  // As aptly: a missing Component or Distribution comes from the DefaultComponent and
  // DefaultDistribution of the local repos behind the sources (through snapshots), when they agree.
  const count = input.sources.length;
  const sources = resolveSources(ctx, kind, input.sources, 'Sources', (name) => {
    const component = agreed(rootDefaults(ctx, kind, name).components) ?? (count === 1 ? 'main' : undefined);
    if (component === undefined) throw invalid(`unable to figure out component name for ${name}: give Component`);
    return component;
  });
  let distribution = input.distribution;
  if (distribution === '') {
    distribution = agreed(sources.flatMap((s) => rootDefaults(ctx, kind, s.name).distributions)) ?? '';
    if (distribution === '') throw invalid('unable to guess distribution name, please specify explicitly');
  }
  distributionName(distribution, 'Distribution');
  const architectures = architectureList(input.architectures);
  const rec: PublishRecord = {
    prefix,
    distribution,
    sourceKind: kind,
    sources,
    architectures,
    // apt pins by Origin/Label, so they get stable, non-empty defaults.
    // Every value that lands in Release/InRelease is checked against its grammar (400 naming the field).
    origin: releaseLine(input.origin, 'Origin', prefix === '.' ? 'debpkg' : prefix),
    label: releaseLine(input.label, 'Label', prefix === '.' ? 'debpkg' : prefix),
    suite: suiteName(input.suite, 'Suite', distribution),
    codename: suiteName(input.codename, 'Codename', distribution),
    notAutomatic: yesNo(input.notAutomatic, 'NotAutomatic'),
    butAutomaticUpgrades: yesNo(input.butAutomaticUpgrades, 'ButAutomaticUpgrades'),
    acquireByHash: input.acquireByHash ?? true,
    skipContents: input.skipContents ?? false,
    multiDist: input.multiDist ?? false,
    signedBy: signedBy(input.signedBy),
    ...(input.version !== '' ? { version: releaseVersion(input.version) } : {}),
    generation: 0,
    lastDate: 0,
  };
  // Started now, awaited in turn: the barrier keeps its place in arrival order (a key the
  // server does not hold is a 400 all the same).
  const signing = keysOf(ctx, input.sign, input.signing);
  const id = publishId(prefix, distribution);
  queueOf(ctx).barrier(id);
  return ctx.publishLocks.run(id, async () => {
    const signer = await signing;
    // aptly answers 400 here (not 409).
    if (ctx.store.publishes.has(id) && !input.forceOverwrite) {
      throw invalid(`prefix/distribution already used by another published repo: ${prefix}/${distribution}`);
    }
    return run(ctx, rec, signer, input.forceOverwrite);
  });
}

/** The queue of updates per published distribution, one per server. */
const queues = new WeakMap<Context, Coalescer<PublishChange, PublishRecord>>();

export function queueOf(ctx: Context): Coalescer<PublishChange, PublishRecord> {
  let q = queues.get(ctx);
  if (!q) {
    q = new Coalescer(ctx.publishLocks, (id, batch) => publishBatch(ctx, id, batch));
    queues.set(ctx, q);
  }
  return q;
}

/** All changes that queued for one distribution, applied in order, then one publish. */
async function publishBatch(ctx: Context, id: string, batch: Queued<PublishChange, PublishRecord>[]): Promise<void> {
  let rec = ctx.store.publishes.get(id);
  if (!rec) throw notFound('published repository was dropped while the update queued');
  const applied: Queued<PublishChange, PublishRecord>[] = [];
  for (const item of batch) {
    try {
      item.change.signer = item.change.sign ? ((await item.change.signing) ?? ctx.signer) : undefined;
      rec = applyChange(ctx, rec, item.change);
      applied.push(item);
    } catch (err) {
      item.reject(err);
    }
  }
  if (applied.length === 0) return;
  // The last request decides about signing: the tree reflects the last update.
  const last = applied[applied.length - 1]!.change;
  // ForceOverwrite asked by any folded update applies to the one publish.
  const published = await run(ctx, rec, last.signer, applied.some((a) => a.change.forceOverwrite));
  for (const item of applied) item.resolve(published);
}

/**
 * Re-publishes a distribution (a local repo's current packages, or snapshots switched) or,
 * with `applyStaged`, applies its staged sources. Validated now, so a bad request fails at
 * once and alone; then queued.
 */
export function updatePublish(ctx: Context, prefixParam: string, distribution: string, input: PublishUpdateInput, applyStaged = false): Promise<PublishRecord> {
  const prefix = publishPrefix(prefixParam);
  const rec = getPublish(ctx, prefix, distribution);
  const change = parseChange(ctx, rec, input, applyStaged);
  // Submitted in this tick (arrival order); the keys are awaited when the batch runs and a
  // key the server does not hold fails this request alone (400).
  change.signing = keysOf(ctx, input.sign, input.signing);
  return queueOf(ctx).submit(publishId(prefix, distribution), change);
}

/** Removes a published distribution (and its prefix's pool paths with the last one). */
export async function dropPublish(ctx: Context, prefixParam: string, distribution: string): Promise<void> {
  const prefix = publishPrefix(prefixParam);
  queueOf(ctx).barrier(publishId(prefix, distribution));
  await ctx.publishLocks.run(publishId(prefix, distribution), async () => {
    getPublish(ctx, prefix, distribution);
    // The record goes first: a failure after it leaves files no record names (harmless, removed
    // by the next publish of that name), never a record naming deleted files.
    await ctx.writes.run(async () => {
      const last = ![...ctx.store.publishes.values()].some((p) => p.prefix === prefix && p.distribution !== distribution);
      // The prefix's pool paths go with its last distribution (the blobs stay: package records name them).
      await ctx.store.commit([{ op: 'pub-del', prefix, distribution }, ...(last ? [{ op: 'pool-unpub' as const, prefix }] : [])]);
    });
    await ctx.publisher.unpublish({ prefix, distribution }).catch((err: unknown) => {
      ctx.log.warn({ err, prefix, distribution }, 'distribution dropped; some of its files could not be deleted and are left for the next publish of that name');
    });
  });
}
