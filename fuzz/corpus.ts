// The seed corpus: real packages, built by the real `dpkg-deb --build -Z<kind>` in a temp
// dir, so mutations start from exactly what Debian's tools produce. Seeds are deterministic
// (fixed contents, SOURCE_DATE_EPOCH), which keeps `--seed S --case N` reproducible.
//   tiny    – one file, every compression (gzip, xz, zstd, none)
//   scripts – maintainer scripts, conffiles, md5sums, a control file with many field kinds
//   mid     – a couple of MB of incompressible data (the in-memory path's upper range)
//   large   – > 8 MiB, so the server takes its streaming path
// Each seed has its own package name so seeds never collide in the repo.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Kind } from './codec.js';
import { Rng } from './prng.js';

export type SeedClass = 'tiny' | 'scripts' | 'mid' | 'large';

export interface Seed {
  id: string;
  cls: SeedClass;
  kind: Kind;
  package: string;
  version: string;
  architecture: string;
  deb: Buffer;
}

const EPOCH = 1700000000;

function controlFor(cls: SeedClass, pkg: string, arch: string, version: string): string {
  const base = `Package: ${pkg}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Fuzz Tester <fuzz@example.org>\n`;
  if (cls !== 'scripts') return `${base}Section: misc\nPriority: optional\nDescription: fuzz seed ${pkg}\n A ${cls} seed package for the repo server fuzzer.\n`;
  return (
    base +
    `Source: fz-src (1.0-1)
Installed-Size: 12
Pre-Depends: dpkg (>= 1.15.6~)
Depends: libc6 (>= 2.17), sed | busybox, dpkg (>= 1.19) | fz-absent-alt
Recommends: fz-absent-recommend
Suggests: fz-absent-suggest (>= 2)
Conflicts: fz-conflict (<< 0.5)
Breaks: fz-old (<< 1.0)
Replaces: fz-old (<< 1.0)
Provides: fz-virtual (= 1.0)
Built-Using: glibc (= 2.36-9)
Section: utils
Priority: optional
Multi-Arch: foreign
Homepage: https://example.org/fuzz
X-Fuzz-Custom: custom field value
Description: fuzz seed with maintainer scripts and conffiles
 Exercises every control-file feature the repository indexes carry.
 .
  * a verbatim line
 and a last paragraph line.
`
  );
}

const SCRIPT = '#!/bin/sh\nset -e\n# fuzz seed maintainer script\ncase "$1" in *) : ;; esac\nexit 0\n';

async function put(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
  await chmod(path, mode);
}

async function buildOne(work: string, cls: SeedClass, kind: Kind, payload: number): Promise<Seed> {
  const pkg = `fz-${cls}-${kind}`;
  const arch = cls === 'scripts' ? 'amd64' : 'all';
  const version = cls === 'scripts' ? '1:1.0~rc1+dfsg-1' : '1.0-1';
  const root = join(work, pkg);
  const files: [string, Buffer][] = [[`usr/share/doc/${pkg}/README`, Buffer.from(`seed ${pkg}\n`)]];
  if (payload > 0) files.push([`usr/share/${pkg}/payload.bin`, new Rng(0x5eed, payload).bytes(payload)]);
  if (cls === 'scripts') files.push([`etc/${pkg}/fz.conf`, Buffer.from('# a conffile\nkey = value\n')]);
  for (const [p, d] of files) await put(join(root, p), d);
  await put(join(root, 'DEBIAN/control'), controlFor(cls, pkg, arch, version));
  await put(join(root, 'DEBIAN/md5sums'), files.map(([p, d]) => `${createHash('md5').update(d).digest('hex')}  ${p}\n`).join(''));
  if (cls === 'scripts') {
    for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) await put(join(root, 'DEBIAN', s), SCRIPT, 0o755);
    await put(join(root, 'DEBIAN/conffiles'), `/etc/${pkg}/fz.conf\n`);
  }
  const out = join(work, `${pkg}.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', `-Z${kind}`, '--build', root, out], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SOURCE_DATE_EPOCH: String(EPOCH), LC_ALL: 'C.UTF-8' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`dpkg-deb -Z${kind} --build ${pkg} failed: ${r.stderr || r.error?.message}`);
  return { id: pkg, cls, kind, package: pkg, version, architecture: arch, deb: await readFile(out) };
}

/** Builds every seed (about 3 s) and removes the build tree again. */
export async function buildCorpus(tmpBase = process.env.DEBPKG_TEST_TMP ?? tmpdir()): Promise<Seed[]> {
  const work = await mkdtemp(join(tmpBase, 'debpkg-fuzz-corpus-'));
  try {
    const plan: [SeedClass, Kind, number][] = [
      ['tiny', 'gzip', 0],
      ['tiny', 'xz', 0],
      ['tiny', 'zstd', 0],
      ['tiny', 'none', 0],
      ['scripts', 'gzip', 300],
      ['scripts', 'xz', 300],
      ['scripts', 'zstd', 300],
      ['mid', 'gzip', 2 << 20],
      ['mid', 'none', (5 << 19) + 123],
      ['large', 'none', (9 << 20) + 4321],
      ['large', 'gzip', (9 << 20) + 777],
    ];
    const seeds: Seed[] = [];
    for (const [cls, kind, payload] of plan) seeds.push(await buildOne(work, cls, kind, payload));
    return seeds;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
