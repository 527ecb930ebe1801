// aptly 1.6's staged source list of a published distribution (/api/publish/:prefix/:dist/sources):
// edited in steps, independent of what is published, until POST .../update applies it (or
// DELETE .../sources drops it). Edits queue behind the distribution's publishes, in order.

import { publishId, type PublishRecord, type PublishSource } from '../storage/store.js';
import type { Context } from './context.js';
import { invalid, notFound } from './errors.js';
import { componentName, publishPrefix } from './names.js';
import { checkSource, resolveSource, type SourceRef } from './publish-options.js';
import { getPublish, queueOf } from './publishing.js';

/** The staged list, by component; NotFound while nothing is staged (as aptly). */
export function stagedSources(ctx: Context, prefixParam: string, distribution: string): PublishSource[] {
  const rec = getPublish(ctx, publishPrefix(prefixParam), distribution);
  if (!rec.staged) throw notFound('unable to show: No source changes exist');
  return rec.staged;
}

/** A staged source's new component and/or name. */
export interface StagedSourceEdit {
  component?: string;
  name?: string;
}

/** Runs an edit of the staged list (starting from the published sources) and stores it. */
async function editStaged(
  ctx: Context,
  prefixParam: string,
  distribution: string,
  edit: (staged: PublishSource[], rec: PublishRecord) => PublishSource[] | undefined,
): Promise<PublishRecord> {
  const prefix = publishPrefix(prefixParam);
  getPublish(ctx, prefix, distribution);
  const id = publishId(prefix, distribution);
  // Ordered after updates already queued: a later POST .../update must see this edit.
  queueOf(ctx).barrier(id);
  return ctx.publishLocks.run(id, () =>
    ctx.writes.run(async () => {
      const rec = getPublish(ctx, prefix, distribution);
      const staged = edit([...(rec.staged ?? rec.sources)], rec);
      const next: PublishRecord = { ...rec };
      if (staged) next.staged = staged;
      else delete next.staged;
      await ctx.store.commit([{ op: 'pub', pub: next }]);
      return next;
    }),
  );
}

const component = (value: string): string => componentName(value);

/** Stages one more source; Invalid if its component is already staged. */
export function addStagedSource(ctx: Context, prefixParam: string, distribution: string, ref: SourceRef): Promise<PublishRecord> {
  const rec = getPublish(ctx, publishPrefix(prefixParam), distribution);
  const source = resolveSource(ctx, rec.sourceKind, ref, 'source', () => '');
  return editStaged(ctx, prefixParam, distribution, (staged) => {
    if (staged.some((s) => s.component === source.component)) throw invalid(`unable to create: Component '${source.component}' already exists`);
    return [...staged, source];
  });
}

/** Replaces the staged list. */
export function replaceStagedSources(ctx: Context, prefixParam: string, distribution: string, refs: SourceRef[]): Promise<PublishRecord> {
  const rec = getPublish(ctx, publishPrefix(prefixParam), distribution);
  const seen = new Set<string>();
  const list = refs.map((ref) => {
    const source = resolveSource(ctx, rec.sourceKind, ref, 'sources[]', () => '');
    if (seen.has(source.component)) throw invalid(`component ${source.component} is listed twice`);
    seen.add(source.component);
    return source;
  });
  return editStaged(ctx, prefixParam, distribution, () => list);
}

/** Changes a staged source's component or name; NotFound unless the component is staged. */
export function updateStagedSource(ctx: Context, prefixParam: string, distribution: string, comp: string, edit: StagedSourceEdit): Promise<PublishRecord> {
  const rec = getPublish(ctx, publishPrefix(prefixParam), distribution);
  const newComponent = edit.component === undefined ? undefined : component(edit.component);
  const newName = edit.name;
  if (newName !== undefined) checkSource(ctx, rec.sourceKind, newName);
  return editStaged(ctx, prefixParam, distribution, (staged) => {
    const current = staged.find((s) => s.component === comp);
    if (!current) throw notFound(`unable to update: Component '${comp}' does not exist`);
    const updated = { component: newComponent ?? current.component, name: newName ?? current.name };
    if (updated.component !== comp && staged.some((s) => s.component === updated.component)) {
      throw invalid(`unable to update: Component '${updated.component}' already exists`);
    }
    return [...staged.filter((s) => s.component !== comp), updated];
  });
}

/** Unstages a component; NotFound unless it is staged. */
export function removeStagedSource(ctx: Context, prefixParam: string, distribution: string, comp: string): Promise<PublishRecord> {
  return editStaged(ctx, prefixParam, distribution, (staged) => {
    if (!staged.some((s) => s.component === comp)) throw notFound(`unable to delete: Component '${comp}' does not exist`);
    return staged.filter((s) => s.component !== comp);
  });
}

/** Drops the staged list; the published sources stay. */
export function dropStagedSources(ctx: Context, prefixParam: string, distribution: string): Promise<PublishRecord> {
  return editStaged(ctx, prefixParam, distribution, () => undefined);
}
