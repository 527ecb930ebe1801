// The normalised file list: the one contract between what the spec meant and the bytes written.

export type EntrySource = { kind: 'path'; path: string } | { kind: 'data'; data: Buffer };

export interface PackageEntry {
  /** Absolute, normalised path inside the package ("/" is the root directory). */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  owner: string;
  group: string;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  source?: EntrySource;
  linkTarget?: string;
  conffile: boolean;
  /** Where in the spec this entry came from ("contents[3]", "systemd[0]", "generated"). */
  origin: string;
  /** Parent directories added because a child needed them. */
  implicit?: boolean;
}

/** Byte-wise ordering so that every directory precedes its children and builds are stable. */
export function compareEntryPaths(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/** "/usr/bin/app" → "./usr/bin/app", "/" → "./" (how dpkg-deb names archive members). */
export function archivePath(path: string): string {
  return path === '/' ? './' : `.${path}`;
}
