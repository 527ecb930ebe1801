// The API's JSON shapes, as aptly 1.6 spells them (PascalCase), in one place: what the server
// sends and what the debpkg CLI reads. Types only, so the CLI can `import type` this file
// without loading any server code; the encoders (domain record → these shapes) are in
// wire/encode.ts, the decoders (request body → typed service input) in wire/decode.ts.

// ---- aptly resources

export interface RepoWire {
  Name: string;
  Comment: string;
  DefaultDistribution: string;
  DefaultComponent: string;
  /** aptly's uploaders.json (debpkg: settable through the API; aptly only by its CLI). */
  Uploaders?: { groups: Record<string, string[]>; rules: { condition: string; allow: string[]; deny: string[] }[] };
}

export interface SnapshotWire {
  Name: string;
  CreatedAt: string;
  SourceKind: string;
  Description: string;
  /** aptly's fields for snapshots of mirrors; always empty here. */
  Origin: string;
  NotAutomatic: string;
  ButAutomaticUpgrades: string;
}

export interface SourceWire {
  Component: string;
  Name: string;
}

export interface PublishedRepoWire {
  Prefix: string;
  Distribution: string;
  SourceKind: 'local' | 'snapshot';
  Sources: SourceWire[];
  Architectures: string[];
  Origin: string;
  Label: string;
  Suite: string;
  Codename: string;
  NotAutomatic: string;
  ButAutomaticUpgrades: string;
  AcquireByHash: boolean;
  SkipContents: boolean;
  MultiDist: boolean;
  SignedBy: string;
  Version: string;
  Storage: string;
  Path: string;
  /**
   * debpkg's own, beside aptly's fields (aptly's clients ignore unknown keys; no Go field name
   * can be spelled `x-…`): the live publish generation and when it was made — its Release
   * file's Date, ISO 8601 UTC (null before the first generation).
   */
  'x-debpkg': { Generation: number; Date: string | null };
}

/** What a package list answers: keys, or with format=details each package's fields. */
export type PackageListWire = string[] | PackageDetailsWire[];

/** A package's control fields plus aptly's Key, ShortKey, FilesHash and file fields. */
export type PackageDetailsWire = Record<string, string>;

export interface ReportWire {
  Warnings: string[];
  Added: string[];
  Removed: string[];
}

/** POST /api/repos/:name/file/:dir answers (and a refused import's error body carries). */
export interface ImportReportWire {
  FailedFiles: string[];
  Report: ReportWire;
}

/** POST /api/repos/:name/copy/:src/:file. */
export interface CopyReportWire {
  Report: ReportWire;
}

/** POST /api/snapshots/:name/pull with dry-run=1 (aptly's snake case). */
export interface PullDryRunWire {
  added_packages: string[];
  removed_packages: string[];
}

export interface DiffEntryWire {
  Left: string | null;
  Right: string | null;
}

/** POST /api/files/:dir and PUT /api/files/:dir/:file: the stored files as "dir/name". */
export type UploadAnswerWire = string[];

export interface TaskWire {
  ID: number;
  Name: string;
  /** 0 idle, 1 running, 2 succeeded, 3 failed (aptly's numbers). */
  State: number;
}

export interface TaskReturnValueWire {
  Code: number;
  Value: unknown;
}

/** Exactly aptly's keys: clients compare the object. */
export interface VersionWire {
  Version: string;
}

export interface ErrorWire {
  error: string;
  [detail: string]: unknown;
}

// ---- color groups (docs/color-groups.md)

export interface UnitWire {
  Node: string;
  Address: string;
  Port: number;
  Color: string;
  Version: string;
  Package: string;
  Health: string;
  Weight: number;
  HealthPath: string;
  LastSeen: string;
  Alive: boolean;
}

/** PUT /api/units/:service/:node answers with the lease the agent keeps. */
export interface HeartbeatWire {
  Unit: UnitWire;
  /** Seconds. */
  Ttl: number;
  Interval: number;
}

export interface TrafficWire {
  Active: string | null;
  Weights: Record<string, number>;
}

export interface ServiceSummaryWire {
  Name: string;
  Active: string | null;
  Weights: Record<string, number>;
  /** Units alive now. */
  Units: number;
}

export interface ServiceWire {
  Name: string;
  Active: string | null;
  Weights: Record<string, number>;
  Previous: TrafficWire | null;
  Listen: string | null;
  PreviewAllow: string[];
  HealthPath: string;
  MinHealthy: number | null;
  Ttl: number;
  Units: UnitWire[];
}

export interface GateUnitWire {
  Node: string;
  Alive: boolean;
  /** The health the unit's agent reported. */
  Reported: string;
  Probe: 'ok' | 'failed' | 'skipped';
  Detail?: string;
}

export interface GateWire {
  Color: string;
  Required: number;
  Healthy: number;
  Passed: boolean;
  Units: GateUnitWire[];
}

export interface SwapStepWire {
  Weight: number;
  At: string;
  Gate?: GateWire;
}

/** A swap or rollback record (also each entry of .../history). */
export interface SwapWire {
  Id: number;
  Service: string;
  Kind: 'swap' | 'rollback' | 'initial';
  User: string;
  Started: string;
  Finished: string;
  From: TrafficWire;
  To: string;
  Strategy: string;
  Steps: SwapStepWire[];
  Result: 'done' | 'refused' | 'reverted' | 'failed';
  Reason?: string;
}

/** The extra fields of the 409 a refused swap answers with (beside "error"). */
export interface GateRefusedWire {
  Code: 'gate_refused';
  Record: SwapWire;
}

/** POST /api/services/:service/swap/preview and .../rollback/preview: what would happen now. */
export interface SwapPreviewWire {
  Service: string;
  Kind: 'swap' | 'rollback';
  To: string;
  Strategy: string;
  From: TrafficWire;
  /** The traffic after each step. */
  Steps: Array<{ Weight: number; Traffic: TrafficWire }>;
  Gate: GateWire | null;
  /** Whether the real request would pass its first gate now. */
  Passed: boolean;
  Reason?: string;
}
