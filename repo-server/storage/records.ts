// The records the repo server keeps (aptly's model: packages, local repos, snapshots,
// published distributions) and where stored files live, plus the journal's unit of change (Op).
// Plain data shared by every metadata backend (storage/interfaces.ts): the journaled store
// writes them as JSON lines, another backend (etcd, issue 15) would write them as values.

export interface PackageFile {
  /** Canonical file name in the pool: name_version_arch.deb (no epoch). */
  filename: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

export interface PackageRecord {
  /** aptly's key: "P<arch> <name> <version> <fileshash>". */
  key: string;
  name: string;
  version: string;
  architecture: string;
  source: string;
  sourceVersion: string;
  /** The control paragraph exactly as in the package's control file. */
  control: string;
  /** The package's file; of a source package ("source" architecture), its .dsc. */
  file: PackageFile;
  /**
   * A source package's files: the .dsc, then every file it names (pool paths side by side).
   * Absent for a binary package (and in records written before source packages existed).
   */
  sourceFiles?: PackageFile[];
}

/** aptly's uploaders.json: who may include which .changes (service/uploaders.ts). */
export interface UploadersRules {
  groups: Record<string, string[]>;
  rules: { condition: string; allow: string[]; deny: string[] }[];
}

export interface RepoRecord {
  name: string;
  comment: string;
  defaultDistribution: string;
  defaultComponent: string;
  /** The repo's own uploaders rules (absent: the server's global ones, if any). */
  uploaders?: UploadersRules;
}

export interface SnapshotRecord {
  name: string;
  description: string;
  createdAt: string;
  sourceKind: 'local' | 'snapshot' | 'repo';
  sources: string[];
  packages: string[];
}

export interface PublishSource {
  component: string;
  name: string;
}

export interface PublishRecord {
  /** "." or a path like "debian/stable". */
  prefix: string;
  distribution: string;
  sourceKind: 'local' | 'snapshot';
  sources: PublishSource[];
  architectures: string[];
  origin: string;
  label: string;
  suite: string;
  codename: string;
  notAutomatic: string;
  butAutomaticUpgrades: string;
  acquireByHash: boolean;
  skipContents: boolean;
  multiDist: boolean;
  signedBy: string;
  /** Release's Version field (aptly 1.6); absent in records written before it. */
  version?: string;
  /** Publish generation and its Release Date (strictly increasing). */
  generation: number;
  lastDate: number;
  /** Architectures of the live generation (when none were fixed at creation). */
  publishedArchitectures?: string[];
  /** aptly 1.6's staged source list (/sources), applied by POST .../update. */
  staged?: PublishSource[];
}

/**
 * Where a blob's bytes are: a range of a pack file (small files, many per upload request), or a
 * file of its own in the loose pool (pack '').
 */
export interface BlobLocation {
  pack: string;
  offset: number;
  size: number;
}

export type Op =
  | { op: 'pkg'; rec: PackageRecord }
  | { op: 'pkg-del'; key: string }
  | { op: 'repo'; repo: RepoRecord }
  | { op: 'repo-del'; name: string }
  | { op: 'repo-add'; name: string; keys: string[] }
  | { op: 'repo-rm'; name: string; keys: string[] }
  | { op: 'snap'; snap: SnapshotRecord }
  | { op: 'snap-del'; name: string }
  | { op: 'pub'; pub: PublishRecord }
  | { op: 'pub-del'; prefix: string; distribution: string }
  /** Blobs written to a pack (sha256, offset, size); also moves blobs when a pack is compacted. */
  | { op: 'blobs'; pack: string; entries: [string, number, number][] }
  | { op: 'loose'; sha256: string; size: number }
  | { op: 'blob-del'; shas: string[] }
  /** Files of an upload directory (name → sha256); a name given again is replaced. */
  | { op: 'up'; dir: string; files: [string, string][] }
  /** Removes names from an upload directory (all of them when `names` is absent). */
  | { op: 'up-rm'; dir: string; names?: string[] }
  /** Pool paths of a published prefix (path under the prefix → sha256), recorded before they go live. */
  | { op: 'pool-pub'; prefix: string; files: [string, string][] }
  | { op: 'pool-unpub'; prefix: string };

/** Every file of a package: a binary's one, a source package's .dsc and the files it names. */
export function recordFiles(p: Pick<PackageRecord, 'file' | 'sourceFiles'>): PackageFile[] {
  return p.sourceFiles ?? [p.file];
}

/** "name version arch": packages sharing it conflict in one repo (aptly's conflict rule). */
export function identity(p: Pick<PackageRecord, 'name' | 'version' | 'architecture'>): string {
  return `${p.name} ${p.version} ${p.architecture}`;
}

/** The key of a published distribution: its prefix and distribution together. */
export function publishId(prefix: string, distribution: string): string {
  return `${prefix}\u0000${distribution}`;
}
