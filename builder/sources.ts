// contents[].src of a file/config entry → the files and symlinks it ships, and where, with nfpm's
// path semantics (the tool specs migrate from):
//   - a plain file goes to dst; a dst ending in "/" is a directory: the file goes inside it;
//   - a directory packs every file and symlink below it at dst/<path below the directory>;
//   - a glob packs what it matches (a matched directory with all it holds) at dst/<path below
//     the glob's static directory>, or, with a dst ending in "/", flat at dst/<file name>;
//   - symlinks found by a glob or in a directory stay symlinks (like type: tree), and empty
//     directories are not shipped (type: dir or tree does that).
// Deliberate differences from nfpm (docs/spec.md): a named file that is a symlink is followed (its
// content is what was asked for, a link into the build tree would dangle on the target); a
// directory keeps its layout even with dst "…/"; a glob's paths are taken below its static
// directory, not below the longest directory all matches happen to share, so adding one file
// can never move the others.

import { access, constants, readdir, stat } from 'node:fs/promises';
import { accessSync, lstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { compileGlob, GlobSyntaxError, isGlob, unquote, type CompiledGlob } from './glob.js';
import { SpecError, type FieldPath } from './spec-error.js';
import type { DiskRoot } from './entries.js';

export type SourceItem =
  | { kind: 'file'; abs: string; dst: string; size: number; mtime: number; executable: boolean; root?: DiskRoot | undefined }
  | { kind: 'symlink'; abs: string; dst: string; mtime: number; target: string };

export interface SourceRequest {
  /** src as the spec wrote it. */
  src: string;
  /** dst as the spec wrote it (a trailing "/" matters). */
  rawDst: string;
  /** dst normalised (no trailing "/", "/" for the root). */
  dst: string;
  baseDir: string;
  /** The spec's src field, for errors. */
  field: FieldPath;
  disableGlobbing?: boolean;
}

/** What is kept of a found file until it becomes an entry (not its Stats: many may be pending at once). */
interface Found {
  abs: string;
  /** Path below the directory the destination is computed from. */
  rel: string;
  symlink: boolean;
  size: number;
  mtime: number;
  executable: boolean;
}

/** Found files are stat'ed synchronously: one syscall each, no thread-pool round trip per file. */
function found(abs: string, rel: string, st: Stats): Found {
  return { abs, rel, symlink: st.isSymbolicLink(), size: st.size, mtime: seconds(st), executable: (st.mode & 0o111) !== 0 };
}

const under = (dir: string, rel: string): string => (dir === '/' ? `/${rel}` : `${dir}/${rel}`);
const seconds = (st: Stats): number => Math.floor(st.mtimeMs / 1000);

/** Errors name the path as the spec wrote it, and where it was looked for. */
export async function statOrThrow(path: string, field: FieldPath, written: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${code ?? String(err)})`;
    throw new SpecError(field, `'${written}' ${why}${written !== path ? ` (looked for ${path})` : ''}`);
  }
}

async function assertReadable(path: string, field: FieldPath, written: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new SpecError(field, `'${written}' is not readable (permission denied)`);
  }
}

function readableOrThrow(path: string, field: FieldPath): void {
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new SpecError(field, `'${path}' is not readable (permission denied)`);
  }
}

/** Files and symlinks below dir (symlinks not followed; fifos, sockets and devices skipped). */
async function everythingBelow(dir: string, relPrefix: string, out: Found[]): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const abs = join(dir, name);
    const rel = relPrefix === '' ? name : `${relPrefix}/${name}`;
    const st = lstatSync(abs);
    if (st.isDirectory()) await everythingBelow(abs, rel, out);
    else if (st.isFile() || st.isSymbolicLink()) out.push(found(abs, rel, st));
  }
}

/** What a glob matches below its static directory; a matched directory contributes all it holds. */
async function matchBelow(root: string, glob: CompiledGlob): Promise<Found[]> {
  const out: Found[] = [];
  const visit = async (dir: string, relPrefix: string, depth: number): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      const rel = relPrefix === '' ? entry.name : `${relPrefix}/${entry.name}`;
      const matched = glob.matcher.test(rel);
      // Only matches are stat'ed: a wide static directory costs one readdir per level.
      if (entry.isDirectory()) {
        if (matched) await everythingBelow(abs, rel, out);
        else if (depth + 1 < glob.maxDepth) await visit(abs, rel, depth + 1);
      } else if (matched && (entry.isFile() || entry.isSymbolicLink())) out.push(found(abs, rel, lstatSync(abs)));
    }
  };
  await visit(root, '', 0);
  return out;
}

/** A directory that cannot be listed is the spec's problem, named as such. */
async function walking<T>(walk: () => Promise<T>, field: FieldPath, src: string): Promise<T> {
  try {
    return await walk();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === undefined || e.path === undefined) throw err;
    throw new SpecError(field, `'${src}': ${e.path} cannot be read (${e.code})`);
  }
}

async function toItems(found: Found[], req: SourceRequest, place: (f: Found) => string, root?: DiskRoot): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  const seen = new Map<string, string>();
  for (const f of found) {
    const dst = place(f);
    const other = seen.get(dst);
    if (other !== undefined) {
      throw new SpecError(req.field, `'${other}' and '${f.abs}' would both be installed as '${dst}' (a dst ending in / keeps only file names)`);
    }
    seen.set(dst, f.abs);
    if (f.symlink) {
      items.push({ kind: 'symlink', abs: f.abs, dst, mtime: f.mtime, target: readlinkSync(f.abs) });
    } else {
      readableOrThrow(f.abs, req.field);
      items.push({ kind: 'file', abs: f.abs, dst, size: f.size, mtime: f.mtime, executable: f.executable, root });
    }
  }
  return items;
}

export async function expandSource(req: SourceRequest): Promise<SourceItem[]> {
  const { src, field } = req;
  const intoDir = req.rawDst.endsWith('/');
  const globbing = !req.disableGlobbing && isGlob(src);
  const absOf = (p: string): string => (isAbsolute(p) ? p : resolve(req.baseDir, p === '' ? '.' : p));

  if (!globbing) {
    const path = req.disableGlobbing ? src : unquote(src);
    const abs = absOf(path);
    const st = await statOrThrow(abs, field, src);
    if (st.isDirectory()) {
      const found: Found[] = [];
      await walking(() => everythingBelow(abs, '', found), field, src);
      if (found.length === 0) throw new SpecError(field, `'${src}' is an empty directory (use type: dir to ship an empty directory)`);
      return toItems(found, req, (f) => under(req.dst, f.rel), { disk: abs, dst: req.dst });
    }
    if (!st.isFile()) throw new SpecError(field, `'${src}' is not a regular file`);
    await assertReadable(abs, field, src);
    const dst = intoDir ? under(req.dst, posix.basename(abs)) : req.dst;
    return [{ kind: 'file', abs, dst, size: st.size, mtime: seconds(st), executable: (st.mode & 0o111) !== 0 }];
  }

  let glob: CompiledGlob;
  try {
    glob = compileGlob(src);
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw new SpecError(field, `'${src}' is not a valid glob: ${err.message}`);
    throw err;
  }
  const root = absOf(glob.staticDir);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new SpecError(field, `no file matches '${src}' (${root} ${rootStat ? 'is not a directory' : 'does not exist'})`);
  }
  const found = await walking(() => matchBelow(root, glob), field, src);
  if (found.length === 0) throw new SpecError(field, `no file matches '${src}' (looked in ${root})`);
  return toItems(found, req, (f) => under(req.dst, intoDir ? posix.basename(f.rel) : f.rel), intoDir ? undefined : { disk: root, dst: req.dst });
}
