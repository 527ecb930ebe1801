// aptly's local repos, /api/repos: create, edit, drop, list their packages, add packages from
// the upload area (files, or the packages of .changes files), by key, or copied from another
// repo, and snapshot them.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { showPackages } from '../service/packages.js';
import { includeChanges } from '../service/include.js';
import { copyPackages } from '../service/repo-copy.js';
import { changeRefs, createRepo, dropRepo, editRepo, getRepo, importUploads } from '../service/repos.js';
import { snapshotFromRepo } from '../service/snapshots.js';
import { ADMIN, READ } from './auth.js';
import { acceptEmptyJsonBodies } from './json-body.js';
import { listOptions } from './packages.js';
import { body, flag, param, query, type ResourceOptions } from './request.js';
import { respond } from './respond.js';
import { copyOptions, createRepoInput, editRepoInput, packageRefs, snapshotFromRepoInput } from './wire/decode.js';
import type { RepoWire } from './wire.js';
import { copyReportWire, importReportWire, packageListWire, repoWire, snapshotWire } from './wire/encode.js';
import { asyncQuery, withSchema } from './schemas/schema.js';
import { COPY, CREATE_REPO, EDIT_REPO, FORCE_QUERY, IMPORT_QUERY, INCLUDE_QUERY, PACKAGE_LIST_QUERY, PACKAGE_REFS, SNAPSHOT_FROM_REPO } from './schemas/repos.js';

/** Registered with prefix /api/repos. */
export const reposPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx, tasks }) => {
  acceptEmptyJsonBodies(app);
  const list = async (): Promise<RepoWire[]> => [...ctx.store.repos.values()].map(repoWire);
  // '/' under the prefix is both /api/repos and /api/repos/ (aptly answers both; clients join
  // base URL and path with a slash).
  app.get('/', READ, list);
  app.post('', withSchema(ADMIN, { body: CREATE_REPO, querystring: asyncQuery() }), async (req, reply) => {
    const input = createRepoInput(body(req));
    return respond(req, reply, tasks, `Create repo ${input.name}`, async () => ({ code: 201, value: repoWire(await createRepo(ctx, input)) }));
  });
  app.get('/:name', READ, async (req) => repoWire(getRepo(ctx, param(req, 'name'))));
  app.put('/:name', withSchema(ADMIN, { body: EDIT_REPO, querystring: asyncQuery() }), async (req, reply) => {
    const name = param(req, 'name');
    const input = editRepoInput(body(req));
    return respond(req, reply, tasks, `Edit repo ${name}`, async () => ({ code: 200, value: repoWire(await editRepo(ctx, name, input)) }));
  });
  app.delete('/:name', withSchema(ADMIN, { querystring: FORCE_QUERY }), async (req, reply) => {
    const name = param(req, 'name');
    return respond(req, reply, tasks, `Delete repo ${name}`, async () => {
      await dropRepo(ctx, name, flag(query(req).force));
      return { code: 200, value: {} };
    });
  });

  // aptly's own clients write …/packages/ (gin redirects or matches both): served under both spellings.
  for (const url of ['/:name/packages', '/:name/packages/']) {
    app.get(url, withSchema(READ, { querystring: PACKAGE_LIST_QUERY }), async (req) => {
      const repo = getRepo(ctx, param(req, 'name'));
      return packageListWire(showPackages(ctx.store, ctx.store.repoPackages.get(repo.name) ?? [], listOptions(req)), query(req).format);
    });
  }
  for (const [method, action, url] of [
    ['POST', 'add', '/:name/packages'],
    ['DELETE', 'remove', '/:name/packages'],
    ['POST', 'add', '/:name/packages/'],
    ['DELETE', 'remove', '/:name/packages/'],
  ] as const) {
    app.route({
      method,
      url,
      config: { access: 'admin' },
      schema: { body: PACKAGE_REFS, querystring: asyncQuery() },
      handler: async (req, reply) => {
        const name = param(req, 'name');
        return respond(req, reply, tasks, `${action === 'add' ? 'Add' : 'Delete'} packages to repo ${name}`, async () => ({
          code: 200,
          value: repoWire(await changeRefs(ctx, name, packageRefs(body(req)), action)),
        }));
      },
    });
  }

  const fromFile = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const name = param(req, 'name');
    const dir = param(req, 'dir');
    const file = (req.params as Record<string, string | undefined>).file;
    const q = query(req);
    return respond(req, reply, tasks, `Add packages from dir ${dir} to repo ${name}`, async (out) => {
      const report = await importUploads(ctx, name, dir, file, { forceReplace: flag(q.forceReplace), noRemove: flag(q.noRemove) });
      if (report.added.length > 0) out(`Added: ${report.added.join(', ')}`);
      return { code: 200, value: importReportWire(report) };
    });
  };
  app.post('/:name/file/:dir', withSchema(ADMIN, { querystring: IMPORT_QUERY }), fromFile);
  app.post('/:name/file/:dir/:file', withSchema(ADMIN, { querystring: IMPORT_QUERY }), fromFile);

  // aptly's include of .changes files; :name may be a template such as {{.Distribution}}.
  const include = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const name = param(req, 'name');
    const dir = param(req, 'dir');
    const file = (req.params as Record<string, string | undefined>).file;
    const q = query(req);
    const what = file === undefined ? `changes files in dir ${dir}` : `changes file ${file} from dir ${dir}`;
    return respond(req, reply, tasks, `Include packages from ${what} to repo matching template ${name}`, async (out) => {
      const report = await includeChanges(ctx, name, dir, file, {
        forceReplace: flag(q.forceReplace),
        noRemoveFiles: flag(q.noRemoveFiles),
        acceptUnsigned: flag(q.acceptUnsigned),
        ignoreSignature: flag(q.ignoreSignature),
      });
      if (report.added.length > 0) out(`Added: ${report.added.join(', ')}`);
      if (report.removed.length > 0) out(`Removed: ${report.removed.join(', ')}`);
      if (report.warnings.length > 0) out(`Warnings: ${report.warnings.join(', ')}`);
      if (report.failedFiles.length > 0) out(`Failed files: ${report.failedFiles.join(', ')}`);
      return { code: 200, value: importReportWire(report) };
    });
  };
  app.post('/:name/include/:dir', withSchema(ADMIN, { querystring: INCLUDE_QUERY }), include);
  app.post('/:name/include/:dir/:file', withSchema(ADMIN, { querystring: INCLUDE_QUERY }), include);

  app.post('/:name/copy/:src/:file', withSchema(ADMIN, { body: COPY, querystring: asyncQuery() }), async (req, reply) => {
    const name = param(req, 'name');
    const src = param(req, 'src');
    return respond(req, reply, tasks, `Copy packages from repo ${src} to repo ${name}`, async () => ({
      code: 200,
      value: copyReportWire(await copyPackages(ctx, name, src, param(req, 'file'), copyOptions(body(req)))),
    }));
  });
  app.post('/:name/snapshots', withSchema(ADMIN, { body: SNAPSHOT_FROM_REPO, querystring: asyncQuery() }), async (req, reply) => {
    const name = param(req, 'name');
    return respond(req, reply, tasks, `Create snapshot of repo ${name}`, async () => ({
      code: 201,
      value: snapshotWire(await snapshotFromRepo(ctx, name, snapshotFromRepoInput(body(req)))),
    }));
  });
};
