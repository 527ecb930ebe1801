// contents[] → the normalised entry list: sources expanded (sources.ts: files, directories, globs),
// trees walked, generated files (docs, units, color agent files) joined, parents added, /etc files
// marked as conffiles, modes/owners/mtimes fixed, duplicates refused, sorted. The one pass every
// packaged path goes through.

import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { SpecError } from './spec-error.js';
import type { ContentSpec, FileInfoSpec } from './spec-types.js';
import { makeEntry, type DiskRoot, type PackageEntry } from './entries.js';
import { EntryStore, type EntryList } from './entry-store.js';
import { expandSource, statOrThrow } from './sources.js';

export interface ContentsOptions {
  baseDir: string;
  /** mtime for entries without their own (SOURCE_DATE_EPOCH, spec mtime or newest input). */
  defaultMtime: number;
  /** When set, every entry without an explicit mtime gets it (reproducible builds). */
  forcedMtime?: number;
  disableGlobbing?: boolean;
  /** nfpm's umask: bits cleared from the modes debpkg derives (not from an explicit file_info.mode). */
  umask?: number;
  /**
   * Files the builder makes (docs, systemd units, color agent files, lintian overrides), asked for
   * once contents[] is expanded. The spec wins: a generated path the spec ships, or needs as a
   * directory, is left out.
   */
  generated?: () => Promise<GeneratedFile[]>;
}

export interface GeneratedFile {
  path: string;
  data: Buffer;
  mode?: number;
  origin: string;
}

export interface Ghost {
  path: string;
  origin: string;
  index: number;
}

export interface ResolvedContents {
  /** In archive order; iterating makes one entry object at a time (what the builder does). */
  list: EntryList;
  /** Every entry as an object at once: for small lists (tests, inspection), not for building. */
  readonly entries: PackageEntry[];
  ghosts: Ghost[];
}

const ROOT_OWNER = { owner: 'root', group: 'root', uid: 0, gid: 0 };

/** Debian practice (dh_installdeb): every file shipped under /etc is a conffile. */
/** A regular file from the build tree: mode from the spec or its executable bit. */
function fileEntry(
  base: Pick<PackageEntry, 'path' | 'owner' | 'group' | 'uid' | 'gid' | 'mtime' | 'origin'>,
  found: { abs: string; size: number; executable: boolean },
  mode: number | undefined,
  conffile: boolean,
  root?: DiskRoot,
  umask = 0,
): PackageEntry {
  return makeEntry({
    path: base.path,
    type: 'file',
    mode: mode ?? (found.executable ? 0o755 : 0o644) & ~umask,
    owner: base.owner,
    group: base.group,
    uid: base.uid,
    gid: base.gid,
    mtime: base.mtime,
    size: found.size,
    source: found.abs,
    conffile,
    origin: base.origin,
  }, root);
}

function underEtc(path: string): boolean {
  return path.startsWith('/etc/');
}

export function normaliseDst(dst: string, path: (string | number)[]): string {
  if (!dst.startsWith('/')) throw new SpecError(path, `'${dst}' must be an absolute path (start with /)`);
  if (dst.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new SpecError(path, `'${dst}' must not contain . or .. segments`);
  }
  if (dst.includes('\0') || /[\n\r]/.test(dst)) throw new SpecError(path, 'must not contain NUL or newline characters');
  const normal = posix.normalize(dst).replace(/\/+$/, '');
  return normal === '' ? '/' : normal;
}

export function parseMode(text: string): number {
  return parseInt(text.replace(/^0o/, ''), 8);
}

/** Seconds since the epoch or an RFC 3339 date. */
export function parseMtime(text: string, path: (string | number)[]): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new SpecError(path, `'${text}' is not a Unix time or an RFC 3339 date`);
  return Math.floor(ms / 1000);
}

function ownership(info: FileInfoSpec | undefined): Pick<PackageEntry, 'owner' | 'group' | 'uid' | 'gid'> {
  const owner = info?.owner ?? 'root';
  const group = info?.group ?? 'root';
  const numeric = (v: string): number => (/^[0-9]+$/.test(v) ? Number(v) : 0);
  return {
    // A numeric owner has no name; dpkg then uses the id as is.
    owner: /^[0-9]+$/.test(owner) ? '' : owner,
    group: /^[0-9]+$/.test(group) ? '' : group,
    uid: owner === 'root' ? 0 : numeric(owner),
    gid: group === 'root' ? 0 : numeric(group),
  };
}

export async function resolveContents(contents: ContentSpec[], opts: ContentsOptions): Promise<ResolvedContents> {
  const byPath = new EntryStore();
  const ghosts: Ghost[] = [];

  const add = (entry: PackageEntry, fieldPath: (string | number)[]): void => {
    const existing = byPath.get(entry.path);
    if (!existing) {
      byPath.set(entry.path, makeEntry(entry));
      return;
    }
    // Directories merge: an explicit one replaces an implied parent; otherwise the first stays.
    if (existing.type === 'directory' && entry.type === 'directory') {
      if (existing.implicit) byPath.set(entry.path, makeEntry(entry));
      return;
    }
    throw new SpecError(fieldPath, `duplicate destination '${entry.path}' (also produced by ${existing.origin})`);
  };

  for (let i = 0; i < contents.length; i++) {
    const item = contents[i]!;
    const at = ['contents', i];
    if (item.packager !== undefined && item.packager !== 'deb') continue;
    const type = item.type ?? 'file';
    const dst = normaliseDst(item.dst, [...at, 'dst']);
    const info = item.file_info;
    const explicitMtime = info?.mtime !== undefined ? parseMtime(info.mtime, [...at, 'file_info', 'mtime']) : undefined;
    const mtimeFor = (fsMtime: number | undefined): number =>
      explicitMtime ?? opts.forcedMtime ?? fsMtime ?? opts.defaultMtime;
    const mode = info?.mode !== undefined ? parseMode(info.mode) : undefined;
    const origin = `contents[${i}]`;
    const owners = ownership(info);
    const umask = opts.umask ?? 0;

    switch (type) {
      case 'dir':
        if (item.src !== undefined) throw new SpecError([...at, 'src'], 'a dir entry takes no src');
        add({ path: dst, type: 'directory', mode: mode ?? 0o755, ...owners, mtime: mtimeFor(undefined), size: 0, conffile: false, origin }, at);
        break;
      case 'symlink': {
        if (item.src === undefined || item.src === '') throw new SpecError([...at, 'src'], 'a symlink needs src (its target)');
        if (dst === '/') throw new SpecError([...at, 'dst'], 'cannot replace the root directory');
        const linkTarget = policySymlinkTarget(dst, item.src);
        add({ path: dst, type: 'symlink', mode: 0o777, ...owners, mtime: mtimeFor(undefined), size: 0, linkTarget, conffile: false, origin }, at);
        break;
      }
      case 'ghost':
        if (dst === '/') throw new SpecError([...at, 'dst'], 'cannot be the root directory');
        ghosts.push({ path: dst, origin, index: i });
        break;
      case 'tree':
      case 'config|tree':
      case 'config|noreplace|tree':
      case 'config|missingok|tree': {
        // nfpm: the config variants of tree make every regular file found a conffile.
        const configTree = type !== 'tree';
        const src = requireSrc(item, at, opts.baseDir);
        const top = await statOrThrow(src, [...at, 'src'], item.src ?? src);
        if (!top.isDirectory()) throw new SpecError([...at, 'src'], `'${item.src}' is not a directory (use type: file)`);
        add({ path: dst, type: 'directory', mode: 0o755 & ~umask, ...owners, mtime: mtimeFor(undefined), size: 0, conffile: false, origin }, at);
        const root = { disk: src, dst };
        await walkTree(src, (found) => {
          const path = dst === '/' ? `/${found.rel}` : `${dst}/${found.rel}`;
          const base = { path, ...owners, conffile: false, origin, mtime: mtimeFor(found.mtime) };
          if (found.kind === 'dir') add({ ...base, type: 'directory', mode: 0o755 & ~umask, size: 0 }, at);
          else if (found.kind === 'symlink') add({ ...base, type: 'symlink', mode: 0o777, size: 0, linkTarget: found.target }, at);
          else add(fileEntry(base, found, mode, configTree || underEtc(path), root, umask), at);
        });
        break;
      }
      case 'file':
      case 'config':
      case 'config|noreplace':
      // nfpm writes a missingok conffile into conffiles like any other (missingok is rpm's).
      case 'config|missingok': {
        if (item.src === undefined) throw new SpecError([...at, 'src'], 'is required for a file');
        const items = await expandSource({
          src: item.src,
          rawDst: item.dst,
          dst,
          baseDir: opts.baseDir,
          field: [...at, 'src'],
          ...(opts.disableGlobbing ? { disableGlobbing: true } : {}),
        });
        for (const f of items.splice(0)) {
          const base = { path: f.dst, ...owners, mtime: mtimeFor(f.mtime), origin };
          if (f.kind === 'symlink') add({ ...base, type: 'symlink', mode: 0o777, size: 0, linkTarget: f.target, conffile: false }, at);
          else add(fileEntry(base, f, mode, type !== 'file' || underEtc(f.dst), f.root, umask), at);
        }
        break;
      }
    }
  }

  const mtime = opts.forcedMtime ?? opts.defaultMtime;
  // The spec's paths are byPath's keys; only the directories they need are collected apart.
  const neededDirs = parentsOf(byPath.keys());
  const specPaths = { has: (p: string): boolean => byPath.has(p) || neededDirs.has(p) };
  for (const g of ghosts) {
    if (specPaths.has(g.path)) throw new SpecError(['contents', g.index, 'dst'], `ghost '${g.path}' is also shipped by ${byPath.get(g.path)?.origin ?? 'parent directory'}`);
  }
  for (const g of (await opts.generated?.()) ?? []) {
    if (specPaths.has(g.path) || byPath.has(g.path)) continue;
    byPath.set(g.path, makeEntry({
      path: g.path,
      type: 'file',
      mode: g.mode ?? 0o644,
      ...ROOT_OWNER,
      mtime,
      size: g.data.length,
      source: g.data,
      conffile: underEtc(g.path),
      origin: g.origin,
    }));
  }
  addParents(byPath, mtime);
  const list = byPath.sorted();
  return {
    list,
    get entries() {
      return list.toArray();
    },
    ghosts,
  };
}

/** The ancestor directories of the given paths (not the paths themselves). */
function parentsOf(paths: Iterable<string>): Set<string> {
  const out = new Set<string>(['/']);
  for (const p of paths) {
    for (let dir = posix.dirname(p); !out.has(dir); dir = posix.dirname(dir)) out.add(dir);
  }
  return out;
}

/**
 * Policy 10.5 (what dh_link does): a link within one top-level directory is relative,
 * one across top-level directories is absolute.
 */
export function policySymlinkTarget(link: string, target: string): string {
  if (!target.startsWith('/')) return target;
  const top = (p: string): string => p.split('/')[1] ?? '';
  const normal = posix.normalize(target);
  if (top(link) !== top(normal) || normal === '/') return normal;
  return posix.relative(posix.dirname(link), normal) || '.';
}

/** Adds every missing ancestor directory (root:root 0755), including "/". */
function addParents(byPath: EntryStore, mtime: number): void {
  const checked = new Set<string>();
  // Entries added below are directories whose parents the loop adds too: a Map iterator visits
  // them as well, which is harmless, so no snapshot of all values is taken.
  for (const entry of byPath.values()) {
    let dir = posix.dirname(entry.path);
    if (checked.has(dir)) continue;
    checked.add(dir);
    while (true) {
      const existing = byPath.get(dir);
      if (existing && existing.type !== 'directory') {
        throw new SpecError([], `'${dir}' is a ${existing.type} (${existing.origin}) but '${entry.path}' (${entry.origin}) needs it to be a directory`);
      }
      if (!existing) {
        byPath.set(dir, makeEntry({ path: dir, type: 'directory', mode: 0o755, ...ROOT_OWNER, mtime, size: 0, conffile: false, origin: 'parent directory', implicit: true }));
      }
      if (dir === '/') break;
      dir = posix.dirname(dir);
    }
  }
  if (!byPath.has('/')) {
    byPath.set('/', makeEntry({ path: '/', type: 'directory', mode: 0o755, ...ROOT_OWNER, mtime, size: 0, conffile: false, origin: 'parent directory', implicit: true }));
  }
}

function requireSrc(item: ContentSpec, at: (string | number)[], baseDir: string): string {
  if (item.src === undefined) throw new SpecError([...at, 'src'], 'is required');
  return isAbsolute(item.src) ? item.src : resolve(baseDir, item.src);
}

interface TreeItem {
  rel: string;
  abs: string;
  kind: 'dir' | 'file' | 'symlink';
  size: number;
  mtime: number;
  executable: boolean;
  target?: string;
}

/** Visits everything below root in name order, depth first; stat'ed synchronously (one syscall per item). */
async function walkTree(root: string, visitItem: (item: TreeItem) => void): Promise<void> {
  const visit = (dir: string, relDir: string): void => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isSymbolicLink()) visitItem({ rel, abs, kind: 'symlink', size: 0, mtime, executable: false, target: readlinkSync(abs) });
      else if (st.isDirectory()) {
        visitItem({ rel, abs, kind: 'dir', size: 0, mtime, executable: false });
        visit(abs, rel);
      } else if (st.isFile()) visitItem({ rel, abs, kind: 'file', size: st.size, mtime, executable: (st.mode & 0o111) !== 0 });
      // Sockets, fifos and devices have no place in a package.
    }
  };
  visit(root, '');
}
