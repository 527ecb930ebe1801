// A real, tiny Debian source package made by `dpkg-source -b` (dpkg-dev): format 3.0 (quilt),
// so a .dsc with an .orig.tar.gz and a .debian.tar.xz, as a migrating aptly user uploads them.

import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, HOST_ENV, tail } from './fleet-node.js';

export interface SourceFixture {
  dir: string;
  /** File names in `dir`: the .dsc and the files it names. */
  files: string[];
  dsc: string;
  cleanup(): Promise<void>;
}

async function run(argv: string[], cwd: string): Promise<void> {
  const r = await exec(argv, { ...HOST_ENV, SOURCE_DATE_EPOCH: '1700000000' }, undefined, cwd);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}):\n${tail(r.stderr + r.stdout)}`);
}

export interface SourceOptions {
  /** The Debian revision (default 1). */
  revision?: number;
  /** An existing .orig.tar.gz to build on (a later revision of the same upstream); made otherwise. */
  orig?: string;
}

/** Builds source package `name` version `upstream`-<revision> whose program prints `greeting`. */
export async function buildSourcePackage(name: string, upstream: string, greeting: string, opts: SourceOptions = {}): Promise<SourceFixture> {
  const revision = opts.revision ?? 1;
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-src-'));
  const tree = join(dir, `${name}-${upstream}`);
  await mkdir(join(tree, 'debian', 'source'), { recursive: true });
  await writeFile(join(tree, name), `#!/bin/sh\necho "${greeting}"\n`, { mode: 0o755 });
  // The upstream tarball first (dpkg-source -b finds it beside the tree).
  if (opts.orig !== undefined) await copyFile(opts.orig, join(dir, `${name}_${upstream}.orig.tar.gz`));
  else await run(['tar', '--sort=name', '--mtime=@1700000000', '--owner=0', '--group=0', '-czf', `${name}_${upstream}.orig.tar.gz`, `${name}-${upstream}/${name}`], dir);
  const files: Record<string, string> = {
    'debian/source/format': '3.0 (quilt)\n',
    'debian/control': `Source: ${name}\nSection: misc\nPriority: optional\nMaintainer: Repo Tester <repo@example.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nRules-Requires-Root: no\n\nPackage: ${name}\nArchitecture: all\nDescription: source package served by the repo server tests\n It prints a greeting.\n`,
    'debian/changelog': `${name} (${upstream}-${revision}) unstable; urgency=medium\n\n  * Test upload.\n\n -- Repo Tester <repo@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n`,
    'debian/copyright': 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2023 Repo Tester\nLicense: MIT\n',
    'debian/rules': '#!/usr/bin/make -f\n%:\n\tdh $@\n',
    'debian/install': `${name} usr/bin\n`,
  };
  for (const [rel, content] of Object.entries(files)) await writeFile(join(tree, rel), content, { mode: rel === 'debian/rules' ? 0o755 : 0o644 });
  await run(['dpkg-source', '-b', `${name}-${upstream}`], dir);
  await rm(tree, { recursive: true });
  const names = (await readdir(dir)).sort();
  const dsc = names.find((n) => n.endsWith('.dsc'));
  if (!dsc) throw new Error(`dpkg-source -b made no .dsc (${names.join(', ')})`);
  return { dir, files: names, dsc, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
