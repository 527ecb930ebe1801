// aptly's snapshots, /api/snapshots: create from package keys, merge, pull, edit, drop, list
// their packages, diff two of them. (A snapshot of a repo is POST /api/repos/:name/snapshots.)

import type { FastifyPluginAsync } from 'fastify';
import { showPackages } from '../service/packages.js';
import { pullIntoSnapshot } from '../service/snapshot-pull.js';
import { diffSnapshots, dropSnapshot, editSnapshot, getSnapshot, listSnapshots, mergeMode, mergeSnapshots, snapshotFromRefs } from '../service/snapshots.js';
import { ADMIN, READ } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { listOptions } from './packages.js';
import { body, flag, param, query, type ResourceOptions } from './request.js';
import { respond } from './respond.js';
import { editSnapshotInput, mergeDestination, mergeSources, pullInput, snapshotFromRefsInput } from './wire/decode.js';
import { diffWire, packageListWire, pullDryRunWire, snapshotWire } from './wire/encode.js';
import { asyncQuery, withSchema } from './schemas/schema.js';
import { DIFF_QUERY, EDIT_SNAPSHOT, FORCE_QUERY, MERGE, MERGE_QUERY, MERGE_TO, PACKAGE_LIST_QUERY, PULL, PULL_QUERY, SNAPSHOT_FROM_REFS, SNAPSHOT_LIST_QUERY } from './schemas/repos.js';

/** Registered with prefix /api/snapshots. */
export const snapshotsPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx, tasks }) => {
  acceptEmptyJsonBodies(app);
  app.get('', withSchema(READ, { querystring: SNAPSHOT_LIST_QUERY }), async (req) => listSnapshots(ctx, query(req).sort ?? '').map(snapshotWire));
  app.post('', withSchema(ADMIN, { body: SNAPSHOT_FROM_REFS, querystring: asyncQuery() }), async (req, reply) => {
    const input = snapshotFromRefsInput(body(req));
    return respond(req, reply, tasks, `Create snapshot ${input.name}`, async () => ({ code: 201, value: snapshotWire(await snapshotFromRefs(ctx, input)) }));
  });

  app.post('/:name/merge', withSchema(ADMIN, { body: MERGE, querystring: MERGE_QUERY }), async (req, reply) => {
    const name = param(req, 'name');
    const q = query(req);
    const mode = mergeMode(flag(q.latest), flag(q['no-remove']));
    const b = body(req);
    return respond(req, reply, tasks, `Merge snapshot ${name}`, async () => ({ code: 201, value: snapshotWire(await mergeSnapshots(ctx, name, mergeSources(b), mode)) }));
  });
  // The form the debpkg CLI used before aptly 1.6's :name/merge (Destination in the body).
  app.post('/merge', withSchema(ADMIN, { body: MERGE_TO, querystring: MERGE_QUERY }), async (req, reply) => {
    const q = query(req);
    const b = body(req);
    const destination = mergeDestination(b);
    const mode = mergeMode(flag(q.latest), flag(q['no-remove']) || flag(q.noRemove));
    return respond(req, reply, tasks, `Merge snapshot ${destination}`, async () => ({ code: 201, value: snapshotWire(await mergeSnapshots(ctx, destination, mergeSources(b), mode)) }));
  });

  app.post('/:name/pull', withSchema(ADMIN, { body: PULL, querystring: PULL_QUERY }), async (req, reply) => {
    const name = param(req, 'name');
    const q = query(req);
    const flags = { allMatches: flag(q['all-matches']), dryRun: flag(q['dry-run']), noDeps: flag(q['no-deps']), noRemove: flag(q['no-remove']) };
    const b = body(req);
    return respond(req, reply, tasks, `Pull into snapshot ${name}`, async () => {
      const r = await pullIntoSnapshot(ctx, name, pullInput(b), flags);
      return 'dryRun' in r ? { code: 200, value: pullDryRunWire(r.dryRun) } : { code: 201, value: snapshotWire(r.snapshot) };
    });
  });

  app.get('/:name', READ, async (req) => snapshotWire(getSnapshot(ctx, param(req, 'name'))));
  app.put('/:name', withSchema(ADMIN, { body: EDIT_SNAPSHOT, querystring: asyncQuery() }), async (req, reply) => {
    const name = param(req, 'name');
    const input = editSnapshotInput(body(req));
    getSnapshot(ctx, name); // aptly: 404 at once, not as a task
    return respond(req, reply, tasks, `Update snapshot ${name}`, async () => ({ code: 200, value: snapshotWire(await editSnapshot(ctx, name, input)) }));
  });
  app.delete('/:name', withSchema(ADMIN, { querystring: FORCE_QUERY }), async (req, reply) => {
    const name = param(req, 'name');
    return respond(req, reply, tasks, `Delete snapshot ${name}`, async () => {
      await dropSnapshot(ctx, name, flag(query(req).force));
      return { code: 200, value: {} };
    });
  });
  app.get('/:name/packages', withSchema(READ, { querystring: PACKAGE_LIST_QUERY }), async (req) => {
    const s = getSnapshot(ctx, param(req, 'name'));
    return packageListWire(showPackages(ctx.store, s.packages, listOptions(req)), query(req).format);
  });
  app.get('/:name/diff/:with', withSchema(READ, { querystring: DIFF_QUERY }), async (req) => diffWire(diffSnapshots(ctx, param(req, 'name'), param(req, 'with'), flag(query(req).onlyMatching))));
};
