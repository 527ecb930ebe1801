// The baked foundation image, cached under ~/.cache/debpkg/vm/image-<hash>/ by the hash of
// everything that goes into it: the base disk (its cache directory is named by its own inputs'
// hash), the packer/ and ansible/ trees, the pinned package versions, the content of the .deb
// files the bake installs, and the Packer version. A bake takes 17-35 min under software
// emulation; a re-run with the same inputs boots from the cached image instead.
//
// Nothing run-specific is baked in that a booted VM keeps using: the repo server's URL and
// signing key of the bake run go stale with the cache, so every VM gets the current ones as
// first-boot data (Fleet.bootVm), as a user's own first-boot data would point a node at its repo.

import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execCollect } from '../support/image-root.js';
import { REPO_ROOT } from '../support/project.js';
import { vmCacheDir, type BaseDisk } from './base-disk.js';
import { packerBuild, type BakeOptions, type BakeResult } from './bake.js';

/** Cached images kept besides the one in use (each is ~1 GB). */
const KEEP_OTHERS = 1;
const TOOL_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8' };

export interface CachedBake extends BakeResult {
  /** True when the image came from the cache (seconds is then the original bake's). */
  cached: boolean;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** The cache key of a bake: hex sha256 over its inputs, each named so no two inputs can run together. */
export async function bakeKey(base: BaseDisk, packages: Record<string, string>, debs: string[]): Promise<string> {
  const h = createHash('sha256').update(`base\0${base.dir.split('/').pop()}\0`);
  for (const tree of ['packer', 'ansible']) {
    for (const f of await filesUnder(join(REPO_ROOT, tree))) h.update(`file\0${relative(REPO_ROOT, f)}\0`).update(await readFile(f));
  }
  for (const [name, version] of Object.entries(packages).sort()) h.update(`pin\0${name}=${version}\0`);
  for (const deb of [...debs].sort()) h.update(`deb\0`).update(createHash('sha256').update(await readFile(deb)).digest('hex'));
  const packer = await execCollect(['packer', 'version'], TOOL_ENV);
  h.update(`packer\0${packer.stdout.split('\n')[0] ?? ''}`);
  return h.digest('hex').slice(0, 16);
}

interface Stored {
  manifest: BakeResult['manifest'];
  packages: Array<[string, string]>;
  seconds: number;
  log: string;
}

/**
 * The foundation image for these inputs: from the cache, else baked by `packer build` (with the
 * repo server answering at o.repoUrl) and stored. debs are the files the bake can install.
 */
export async function ensureBake(o: BakeOptions, debs: string[]): Promise<CachedBake> {
  const key = await bakeKey(o.base, o.packages, debs);
  const dir = join(vmCacheDir(), `image-foundation-${key}`);
  const image = join(dir, 'image.qcow2');
  const stored = await readFile(join(dir, 'bake.json'), 'utf8').then(
    (t) => JSON.parse(t) as Stored,
    () => undefined,
  );
  if (stored && (await stat(image).catch(() => undefined))) {
    const now = new Date();
    await utimes(dir, now, now); // the most recently used image is the last one pruned
    await prune(dir);
    return { image, manifest: stored.manifest, packages: new Map(stored.packages), seconds: stored.seconds, log: stored.log, cached: true };
  }
  const bake = await packerBuild(o);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await moveFile(bake.image, join(partial, 'image.qcow2'));
  const record: Stored = { manifest: bake.manifest, packages: [...bake.packages], seconds: bake.seconds, log: bake.log.slice(-20_000) };
  await writeFile(join(partial, 'bake.json'), JSON.stringify(record));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  await prune(dir);
  return { ...bake, image, cached: false };
}

/** rename(2), or a copy where the work directory is on another file system (a tmpfs). */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

/** Drops all but the newest KEEP_OTHERS other cached images (the one in use stays). */
async function prune(keep: string): Promise<void> {
  const root = vmCacheDir();
  const others: Array<{ path: string; mtime: number }> = [];
  for (const name of await readdir(root)) {
    const path = join(root, name);
    if (!name.startsWith('image-') || path === keep || name.includes('.partial-')) continue;
    others.push({ path, mtime: (await stat(path)).mtimeMs });
  }
  others.sort((a, b) => b.mtime - a.mtime);
  for (const o of others.slice(KEEP_OTHERS)) await rm(o.path, { recursive: true, force: true });
}
