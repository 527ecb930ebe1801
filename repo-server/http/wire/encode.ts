// Domain records → the API's JSON (../wire.ts). The only place that spells aptly's field
// names for answers; the service returns records and reports in its own words.

import { sourceDetails } from '../../service/sources.js';
import { parseParagraph } from '../../../deb/control.js';
import { DEFAULT_CHECK, type Unit } from '../../colors/model.js';
import type { ServiceRecord } from '../../colors/registry.js';
import { checkWire, trafficWire } from './colors.js';
import type { ChangeReport, ImportReport } from '../../service/repos.js';
import type { DiffEntry } from '../../service/snapshots.js';
import type { PullDryRun } from '../../service/snapshot-pull.js';
import type { Task, TaskResult } from '../../service/tasks.js';
import type { PackageRecord, PublishRecord, PublishSource, RepoRecord, SnapshotRecord } from '../../storage/records.js';
import type {
  CopyReportWire,
  DiffEntryWire,
  ImportReportWire,
  PackageDetailsWire,
  PackageListWire,
  PublishedRepoWire,
  PullDryRunWire,
  RepoWire,
  ReportWire,
  ServiceSummaryWire,
  ServiceWire,
  SnapshotWire,
  SourceWire,
  TaskReturnValueWire,
  TaskWire,
  UnitWire,
} from '../wire.js';

export const repoWire = (r: RepoRecord): RepoWire => ({
  Name: r.name,
  Comment: r.comment,
  DefaultDistribution: r.defaultDistribution,
  DefaultComponent: r.defaultComponent,
  // Shown only when set, so a repo without rules has aptly's exact shape.
  ...(r.uploaders ? { Uploaders: r.uploaders } : {}),
});

export const snapshotWire = (s: SnapshotRecord): SnapshotWire => ({
  Name: s.name,
  CreatedAt: s.createdAt,
  SourceKind: s.sourceKind,
  Description: s.description,
  Origin: '',
  NotAutomatic: '',
  ButAutomaticUpgrades: '',
});

const byComponent = (a: PublishSource, b: PublishSource): number => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0);

/** A source list, by component (as aptly lists staged sources). */
export const sourcesWire = (sources: readonly PublishSource[]): SourceWire[] =>
  [...sources].sort(byComponent).map((s) => ({ Component: s.component, Name: s.name }));

export const publishWire = (p: PublishRecord): PublishedRepoWire => ({
  Prefix: p.prefix,
  Distribution: p.distribution,
  SourceKind: p.sourceKind,
  // Published order (not sorted): the components as the request listed them.
  Sources: p.sources.map((s) => ({ Component: s.component, Name: s.name })),
  Architectures: p.architectures.length > 0 ? p.architectures : (p.publishedArchitectures ?? []),
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
  Version: p.version ?? '',
  Storage: '',
  Path: p.prefix === '.' ? `./${p.distribution}` : `${p.prefix}/${p.distribution}`,
  'x-debpkg': { Generation: p.generation, Date: p.lastDate > 0 ? new Date(p.lastDate * 1000).toISOString().replace('.000Z', 'Z') : null },
});

/** aptly's format=details: the control fields plus Key, ShortKey, FilesHash and the file's digests. */
export function packageDetailsWire(p: PackageRecord): PackageDetailsWire {
  const fields: Record<string, string> = {};
  for (const [k, v] of parseParagraph(p.control)) fields[k] = v;
  const hash = p.key.split(' ')[3] ?? '';
  // A source package has several files: aptly lists them as the .dsc's own fields.
  if (p.sourceFiles) return { ...fields, Key: p.key, ShortKey: p.key.split(' ').slice(0, 3).join(' '), FilesHash: hash, ...sourceDetails(p.sourceFiles) };
  return {
    ...fields,
    Key: p.key,
    ShortKey: p.key.split(' ').slice(0, 3).join(' '),
    FilesHash: hash,
    Filename: p.file.filename,
    Size: String(p.file.size),
    MD5sum: p.file.md5,
    SHA1: p.file.sha1,
    SHA256: p.file.sha256,
    SHA512: p.file.sha512,
  };
}

/** aptly's package list answer: keys by default, full records with format=details. */
export const packageListWire = (pkgs: PackageRecord[], format: string | undefined): PackageListWire =>
  format === 'details' ? pkgs.map(packageDetailsWire) : pkgs.map((p) => p.key);

const reportWire = (r: ChangeReport): ReportWire => ({ Warnings: r.warnings, Added: r.added, Removed: r.removed });

export const importReportWire = (r: ImportReport): ImportReportWire => ({ FailedFiles: r.failedFiles, Report: reportWire(r) });

export const copyReportWire = (r: ChangeReport): CopyReportWire => ({ Report: reportWire(r) });

export const pullDryRunWire = (r: PullDryRun): PullDryRunWire => ({ added_packages: r.added, removed_packages: r.removed });

export const diffWire = (d: DiffEntry[]): DiffEntryWire[] => d.map((e) => ({ Left: e.left, Right: e.right }));

export const taskWire = (t: Task): TaskWire => ({ ID: t.id, Name: t.name, State: t.state });

/** aptly's /return_value: {"Code", "Value"} once finished, null before. */
export const taskReturnValueWire = (r: TaskResult | undefined): TaskReturnValueWire | null => (r ? { Code: r.code, Value: r.value } : null);

// ---- color groups

export const unitWire = (u: Unit, alive: boolean): UnitWire => ({
  Node: u.node,
  Address: u.address,
  Port: u.port,
  Color: u.color,
  Version: u.version,
  Package: u.package,
  Health: u.health,
  Weight: u.weight,
  HealthPath: u.healthPath,
  LastSeen: new Date(u.lastSeen).toISOString(),
  Alive: alive,
});

export const serviceSummaryWire = (s: ServiceRecord, alive: (u: Unit) => boolean): ServiceSummaryWire => ({
  Name: s.name,
  Active: s.active,
  Weights: { ...s.weights },
  Units: s.units.filter(alive).length,
});

export const serviceWire = (s: ServiceRecord, alive: (u: Unit) => boolean, ttlSeconds: number): ServiceWire => ({
  Name: s.name,
  Active: s.active,
  Weights: { ...s.weights },
  Previous: trafficWire(s.previous),
  Listen: s.listen ?? null,
  PreviewAllow: s.previewAllow,
  HealthPath: s.healthPath,
  MinHealthy: s.minHealthy ?? null,
  Check: checkWire(s.check ?? DEFAULT_CHECK),
  Ttl: ttlSeconds,
  Units: s.units.map((u) => unitWire(u, alive(u))),
});
