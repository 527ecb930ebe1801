// The API's JSON shapes, as aptly 1.6 spells them (PascalCase), in one place: what the server
// sends and what the debpkg CLI reads. Each is derived from the schema /api/openapi.json
// documents it with (schemas/answers.ts, schemas/color-answers.ts), so the document and the
// encoders cannot drift apart. Types only, so the CLI can `import type` this file without
// loading any server code; the encoders (domain record → these shapes) are in wire/encode.ts,
// the decoders (request body → typed service input) in wire/decode.ts.

import type * as A from './schemas/answers.js';
import type * as C from './schemas/color-answers.js';
import type { Static } from './schemas/typed.js';

// ---- aptly resources

export type RepoWire = Static<typeof A.REPO>;
export type SnapshotWire = Static<typeof A.SNAPSHOT>;
export type SourceWire = Static<typeof A.SOURCE>;
/** Carries `x-debpkg`: the live publish generation and its Release file's Date. */
export type PublishedRepoWire = Static<typeof A.PUBLISHED_REPO>;
/** What a package list answers: keys, or with format=details each package's fields. */
export type PackageListWire = Static<typeof A.PACKAGE_LIST>;
/** A package's control fields plus aptly's Key, ShortKey, FilesHash and file fields. */
export type PackageDetailsWire = Static<typeof A.PACKAGE_DETAILS>;
export type ReportWire = Static<typeof A.REPORT>;
/** POST /api/repos/:name/file/:dir answers (and a refused import's error body carries). */
export type ImportReportWire = Static<typeof A.IMPORT_REPORT>;
/** POST /api/repos/:name/copy/:src/:file. */
export type CopyReportWire = Static<typeof A.COPY_REPORT>;
/** POST /api/snapshots/:name/pull with dry-run=1 (aptly's snake case). */
export type PullDryRunWire = Static<typeof A.PULL_DRY_RUN>;
export type DiffEntryWire = Static<typeof A.DIFF_ENTRY>;
/** POST /api/files/:dir and PUT /api/files/:dir/:file: the stored files as "dir/name". */
export type UploadAnswerWire = Static<typeof A.UPLOADED>;
export type TaskWire = Static<typeof A.TASK>;
export type TaskReturnValueWire = Static<typeof A.TASK_RETURN_VALUE>;
/** Exactly aptly's keys: clients compare the object. */
export type VersionWire = Static<typeof A.VERSION>;
export type ErrorWire = Static<typeof C.ERROR>;

// ---- color groups (docs/color-groups.md)

export type UnitWire = Static<typeof C.UNIT>;
/** PUT /api/units/:service/:node answers with the lease the agent keeps. */
export type HeartbeatWire = Static<typeof C.HEARTBEAT>;
export type TrafficWire = Static<typeof C.TRAFFIC>;
export type ServiceSummaryWire = Static<typeof C.SERVICE_SUMMARY>;
export type ServiceWire = Static<typeof C.SERVICE>;
export type GateUnitWire = Static<typeof C.GATE_UNIT>;
export type GateWire = Static<typeof C.GATE>;
export type SwapStepWire = Static<typeof C.SWAP_STEP>;
/** A swap or rollback record (also each entry of .../history). */
export type SwapWire = Static<typeof C.SWAP_RECORD>;
/** The extra fields of the 409 a refused swap answers with (beside "error"). */
export type GateRefusedWire = Required<Pick<ErrorWire, 'Code' | 'Record'>>;
/** POST /api/services/:service/swap/preview and .../rollback/preview: what would happen now. */
export type SwapPreviewWire = Static<typeof C.SWAP_PREVIEW>;
