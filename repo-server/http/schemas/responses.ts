// What each route answers, per status: the schemas of answers.ts and color-answers.ts for JSON,
// a media type for text, streams and files. One table for the whole API (the route files stay
// about handling; /api/openapi.json reads this beside each route's access and request schemas),
// and openapi.test.ts fails when a registered route has no entry here or an entry names no
// route. Errors are not listed per route: every route documents `{"error"}` (color-answers.ts's
// ERROR) as its default answer, 401/403 when it needs a token.
//
// These schemas are documentation only: fastify never serializes with them (a route's
// `schema.response` would make fast-json-stringify drop any field a schema does not list, and
// aptly's clients read every field sent), which is why they are not route schemas.

import {
  COPY_REPORT,
  DIFF_ENTRY,
  EMPTY,
  IMPORT_REPORT,
  PACKAGE_DETAILS,
  PACKAGE_LIST,
  PUBLISHED_REPO,
  PULL_DRY_RUN,
  REPO,
  SNAPSHOT,
  SOURCE,
  STATUS,
  STORAGE,
  TASK,
  TASK_RETURN_VALUE,
  UPLOADED,
  VERSION,
} from './answers.js';
import { ERROR, HEARTBEAT, SERVICE, SERVICE_SUMMARY, SWAP_PREVIEW, SWAP_RECORD } from './color-answers.js';
import type { Schema } from './schema.js';
import { tAny, tArray, tInteger, tNullable, tString } from './typed.js';

/** One status's answer: a JSON body, bodies of other media types, or none. */
export interface Answer {
  description: string;
  json?: Schema;
  media?: Record<string, Schema>;
}

/** Status code → answer. */
export type Responses = Record<string, Answer>;

const json = (schema: Schema, description: string): Answer => ({ description, json: schema });
const ok = (schema: Schema, description: string): Responses => ({ '200': json(schema, description) });
const BYTES: Schema = { type: 'string', format: 'binary' };
const TEXT: Schema = { type: 'string' };

const STARTED = json(TASK, 'started as a background task (?_async); its result: GET /api/tasks/{id}/return_value');
/** A write aptly can run as a task: `code` with its answer, or 202 with the task (`?_async`). */
const orTask = (code: string, schema: Schema, description: string): Responses => ({ [code]: json(schema, description), '202': STARTED });

const DONE = 'done; nothing to report';
const PUBLISHED = 'the publish as it is now live';

/** Keyed `METHOD url` as fastify registers it. A HEAD answers as its GET, without the body. */
export const RESPONSES: Readonly<Record<string, Responses>> = {
  // ---- status, storage, tasks
  'GET /api/version': ok(VERSION, 'the aptly API version'),
  'GET /api/ready': ok(STATUS, 'ready'),
  'GET /api/healthy': ok(STATUS, 'healthy'),
  'GET /api/storage': ok(STORAGE, 'space on the data directory\'s file system'),
  'GET /api/s3': ok(tArray(tString()), 'the S3 publish endpoints: always none (the server publishes to its own tree)'),
  'POST /api/db/cleanup': orTask('200', EMPTY, 'unreferenced packages and files removed (the counts are the task detail)'),
  'GET /api/tasks': ok(tArray(TASK), 'every task kept'),
  'POST /api/tasks-clear': ok(EMPTY, 'finished tasks forgotten'),
  'GET /api/tasks-wait': ok(EMPTY, 'every running task has finished'),
  'GET /api/tasks/:id': ok(TASK, 'the task'),
  'GET /api/tasks/:id/wait': ok(TASK, 'the task, once finished'),
  'GET /api/tasks/:id/output': ok(tString('the lines, ending Task succeeded or Task failed with error: …'), 'what the task wrote'),
  'GET /api/tasks/:id/detail': ok(tAny('the progress the task stored (a publish: {TotalNumberOfPackages, RemainingNumberOfPackages}); {} when none'), 'its progress'),
  'GET /api/tasks/:id/return_value': ok(tNullable(TASK_RETURN_VALUE, 'null while it runs'), 'what the request would have answered'),
  'DELETE /api/tasks/:id': ok(TASK, 'the task, forgotten'),
  'POST /api/tasks-dummy': orTask('418', tArray(tInteger()), 'aptly\'s self-test: [1, 2, 3]'),
  'GET /api/graph.:ext': {
    '200': {
      description: 'the repos, snapshots and publishes as a Graphviz graph: DOT source (dot, gv) or rendered by dot',
      media: { 'text/plain': TEXT, 'image/svg+xml': BYTES, 'image/png': BYTES, 'application/pdf': BYTES, 'image/jpeg': BYTES, 'image/gif': BYTES },
    },
  },
  'POST /api/gpg/key': ok(tString('gpg\'s output'), 'the key added to the trusted keyring'),
  'GET /api/openapi.json': ok({ type: 'object', description: 'an OpenAPI 3.0 document' }, 'this document'),
  'GET /api/metrics': { '200': { description: 'aptly\'s metrics, Prometheus text format', media: { 'text/plain': TEXT } } },
  'GET /metrics': { '200': { description: 'the server\'s metrics, Prometheus text format', media: { 'text/plain': TEXT } } },

  // ---- upload area
  'GET /api/files': ok(tArray(tString()), 'the upload directories'),
  'GET /api/files/:dir': ok(tArray(tString()), 'the files of a directory'),
  'POST /api/files/:dir': ok(UPLOADED, 'stored'),
  'PUT /api/files/:dir/:file': ok(UPLOADED, 'stored'),
  'DELETE /api/files/:dir': ok(EMPTY, 'the directory removed'),
  'DELETE /api/files/:dir/:file': ok(EMPTY, 'the file removed'),

  // ---- packages, repos
  'GET /api/packages': ok(PACKAGE_LIST, 'every stored package that matches'),
  'GET /api/packages/:key': ok(PACKAGE_DETAILS, 'the package'),
  'GET /api/repos': ok(tArray(REPO), 'every local repo'),
  'POST /api/repos': orTask('201', REPO, 'created'),
  'GET /api/repos/:name': ok(REPO, 'the repo'),
  'PUT /api/repos/:name': orTask('200', REPO, 'the repo as edited'),
  'DELETE /api/repos/:name': orTask('200', EMPTY, 'dropped'),
  'GET /api/repos/:name/packages': ok(PACKAGE_LIST, 'the repo\'s packages that match'),
  'GET /api/repos/:name/packages/': ok(PACKAGE_LIST, 'the repo\'s packages that match'),
  'POST /api/repos/:name/packages': orTask('200', REPO, 'added'),
  'POST /api/repos/:name/packages/': orTask('200', REPO, 'added'),
  'DELETE /api/repos/:name/packages': orTask('200', REPO, 'removed'),
  'DELETE /api/repos/:name/packages/': orTask('200', REPO, 'removed'),
  'POST /api/repos/:name/file/:dir': orTask('200', IMPORT_REPORT, 'what was added, and what failed'),
  'POST /api/repos/:name/file/:dir/:file': orTask('200', IMPORT_REPORT, 'what was added, and what failed'),
  'POST /api/repos/:name/include/:dir': orTask('200', IMPORT_REPORT, 'what was included, and what failed'),
  'POST /api/repos/:name/include/:dir/:file': orTask('200', IMPORT_REPORT, 'what was included, and what failed'),
  'POST /api/repos/:name/copy/:src/:file': orTask('200', COPY_REPORT, 'what was copied (or would be, with dry-run)'),
  'POST /api/repos/:name/snapshots': orTask('201', SNAPSHOT, 'the snapshot of the repo'),

  // ---- snapshots
  'GET /api/snapshots': ok(tArray(SNAPSHOT), 'every snapshot'),
  'POST /api/snapshots': orTask('201', SNAPSHOT, 'created'),
  'GET /api/snapshots/:name': ok(SNAPSHOT, 'the snapshot'),
  'PUT /api/snapshots/:name': orTask('200', SNAPSHOT, 'the snapshot as edited'),
  'DELETE /api/snapshots/:name': orTask('200', EMPTY, 'dropped'),
  'GET /api/snapshots/:name/packages': ok(PACKAGE_LIST, 'the snapshot\'s packages that match'),
  'GET /api/snapshots/:name/diff/:with': ok(tArray(DIFF_ENTRY), 'the packages that differ'),
  'POST /api/snapshots/:name/merge': orTask('201', SNAPSHOT, 'the merged snapshot'),
  'POST /api/snapshots/merge': orTask('201', SNAPSHOT, 'the merged snapshot'),
  'POST /api/snapshots/:name/pull': { ...orTask('201', SNAPSHOT, 'the new snapshot'), '200': json(PULL_DRY_RUN, 'with dry-run: what the pull would do') },

  // ---- publish
  'GET /api/publish': ok(tArray(PUBLISHED_REPO), 'every published distribution'),
  'POST /api/publish': orTask('201', PUBLISHED_REPO, PUBLISHED),
  'POST /api/publish/:prefix': orTask('201', PUBLISHED_REPO, PUBLISHED),
  'GET /api/publish/:prefix/:distribution': ok(PUBLISHED_REPO, 'the publish'),
  'PUT /api/publish/:prefix/:distribution': orTask('200', PUBLISHED_REPO, PUBLISHED),
  'DELETE /api/publish/:prefix/:distribution': orTask('200', EMPTY, 'dropped'),
  'POST /api/publish/:prefix/:distribution/update': orTask('200', PUBLISHED_REPO, PUBLISHED),
  'GET /api/publish/:prefix/:distribution/sources': ok(tArray(SOURCE), 'the staged sources, by component'),
  'POST /api/publish/:prefix/:distribution/sources': orTask('201', PUBLISHED_REPO, 'staged; the publish with what it has live'),
  'PUT /api/publish/:prefix/:distribution/sources': orTask('200', tArray(SOURCE), 'the staged sources now'),
  'DELETE /api/publish/:prefix/:distribution/sources': orTask('200', EMPTY, DONE),
  'PUT /api/publish/:prefix/:distribution/sources/:component': orTask('200', EMPTY, DONE),
  'DELETE /api/publish/:prefix/:distribution/sources/:component': orTask('200', EMPTY, DONE),

  // ---- color groups
  'PUT /api/units/:service/:node': ok(HEARTBEAT, 'registered, or its lease renewed'),
  'DELETE /api/units/:service/:node': ok(EMPTY, 'deregistered'),
  'GET /api/services': ok(tArray(SERVICE_SUMMARY), 'every service'),
  'GET /api/services/:service': ok(SERVICE, 'the service, its units included'),
  'PUT /api/services/:service': ok(SERVICE, 'the service as configured'),
  'DELETE /api/services/:service': ok(EMPTY, 'removed'),
  'POST /api/services/:service/swap': ok(SWAP_RECORD, 'done (a refused gate answers 409 with Code gate_refused and the Record)'),
  'POST /api/services/:service/swap/preview': ok(SWAP_PREVIEW, 'what the swap would do now (Passed false with the Reason when the gate would refuse)'),
  'POST /api/services/:service/rollback': ok(SWAP_RECORD, 'done (a refused gate answers 409 with Code gate_refused and the Record)'),
  'POST /api/services/:service/rollback/preview': ok(SWAP_PREVIEW, 'what the rollback would do now'),
  'GET /api/services/:service/history': ok(tArray(SWAP_RECORD), 'the recorded swaps and rollbacks, oldest first'),
  'GET /api/lb/config': { '200': { description: 'the load balancer configuration the registry renders', media: { 'text/plain': TEXT } } },
  'GET /api/events': {
    '200': {
      description: 'server-sent events: services (every summary), and with ?service= service, history, swap, removed; each data line one JSON value',
      media: { 'text/event-stream': TEXT },
    },
  },

  // ---- the dashboard, the archive key, the published tree
  'GET /ui': { '302': { description: 'to /ui/' } },
  'GET /ui/': { '200': { description: 'the dashboard', media: { 'text/html': TEXT } } },
  'GET /ui/:file': { '200': { description: 'a file of the dashboard bundle', media: { 'text/javascript': TEXT, 'text/css': TEXT } } },
  'GET /keys/archive.asc': { '200': { description: 'the archive signing key, armored', media: { 'application/pgp-keys': TEXT } } },
  'GET /keys/archive.gpg': { '200': { description: 'the archive signing key, binary (for /etc/apt/keyrings)', media: { 'application/octet-stream': BYTES } } },
  'GET /*': {
    '200': { description: 'a published file (dists/…, pool/…, a .sources snippet)', media: { '*/*': BYTES } },
    '206': { description: 'the requested range', media: { '*/*': BYTES } },
    '304': { description: 'not modified (If-None-Match, If-Modified-Since)' },
    '416': { description: 'the range is not satisfiable: an error body, or none at all for a pool file', json: ERROR },
  },
};

/** What `method url` answers (a HEAD: its GET's statuses, bodies left out); undefined if not listed. */
export function responsesOf(method: string, url: string): Responses | undefined {
  const own = RESPONSES[`${method} ${url}`];
  if (own || method !== 'HEAD') return own;
  const get = RESPONSES[`GET ${url}`] ?? RESPONSES[`GET ${url.replace(/\/$/, '')}`];
  return get && Object.fromEntries(Object.entries(get).map(([code, a]) => [code, { description: a.description }]));
}
