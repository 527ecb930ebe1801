// debpkg build vs dpkg-deb --root-owner-group -b on one 512 MiB file (half random bytes, half
// text), same compression and level, runs interleaved. Writes docs/benchmarks.md's build section.
// Then the per-file overhead: 20,000 files of 1-20 KB against dpkg-deb -z6 (and nfpm when an
// `nfpm` binary is on PATH or NFPM names one), and peak RSS at 200,000 files (build-files section).
//
//   npm run bench:build [-- --runs 3 --size-mib 512 --only startup|large|files --compression gzip6,gzip6-zlib,gzip9,xz6,zstd3,none]
// (--compression keeps the large-payload rows of those compressors: xz and gzip -9 take minutes
// per run on a loaded host). The gzip -6 row also times nfpm, the other peer of issue 18.

import { execFile } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { updateSection } from './report.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORK = join(ROOT, '.bench/build');
const CLI = join(ROOT, 'dist/cli/main.js');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const RUNS = arg('runs', 3);
const SIZE = arg('size-mib', 512) << 20;

/** Deterministic English-like text appended to `path`: compresses like real text, unlike repeated blocks. */
async function writeText(path: string, size: number): Promise<void> {
  const words = 'the of and to in is for on that with as package install service version repository debian node fleet color green blue swap health check server client build release upgrade config file system network request response error value'.split(' ');
  let seed = 42;
  const out = createWriteStream(path, { flags: 'a' });
  let written = 0;
  while (written < size) {
    let line = '';
    while (line.length < 72) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      line += `${words[seed % words.length]} `;
      if (seed % 17 === 0) line += `${seed % 100000} `;
    }
    const buf = Buffer.from(`${line.trimEnd()}\n`);
    written += buf.length;
    if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
}

/** One file: SIZE/2 random bytes, then SIZE/2 of text (the issue's "one 512 MiB file"). */
async function preparePayload(): Promise<string> {
  const root = join(WORK, `one-${SIZE >> 20}`);
  const marker = join(root, '.ready');
  if (await stat(marker).then(() => true, () => false)) return root;
  await rm(root, { recursive: true, force: true });
  const payload = join(root, 'usr/share/bench-payload');
  await mkdir(payload, { recursive: true });
  const half = SIZE / 2;
  const chunk = 16 << 20;
  const file = join(payload, 'payload.bin');
  for (let i = 0; i < half / chunk; i++) await writeFile(file, randomBytes(chunk), { flag: i === 0 ? 'w' : 'a' });
  await writeText(file, half);
  await mkdir(join(root, 'DEBIAN'));
  await writeFile(join(root, 'DEBIAN/control'), 'Package: bench-payload\nVersion: 1.0\nArchitecture: all\nMaintainer: Bench <bench@example.org>\nDescription: benchmark payload\n');
  await writeFile(marker, '');
  return root;
}

interface Sample {
  seconds: number;
  rssKiB: number;
  /** user + system CPU seconds (children included) */
  cpu?: number;
}

async function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Sample> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'BENCH %e %M %U %S', cmd, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 16 << 20,
  });
  const m = /BENCH ([0-9.]+) ([0-9]+) ([0-9.]+) ([0-9.]+)/.exec(stderr);
  if (!m) throw new Error(`no timing from ${cmd}: ${stderr}`);
  return { seconds: Number(m[1]), rssKiB: Number(m[2]), cpu: Number(m[3]) + Number(m[4]) };
}

/** The 1/5/15-minute load averages: on a shared machine they say how far to trust a wall time. */
function loadLine(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  label: string;
  dpkg: Sample;
  debpkg: Sample;
  nfpm?: Sample;
  dpkgSize: number;
  debpkgSize: number;
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  if (only === undefined || only === 'startup') await startup();
  if (only === undefined || only === 'large') await largePayload();
  if (only === undefined || only === 'files') await manyFiles();
}

/** What a build costs before its payload: a one-file build against `node -e 0`, interleaved. */
async function startup(): Promise<void> {
  const dir = join(WORK, 'one-file');
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'src/a.txt'), 'one\n');
  const spec = join(dir, 'debpkg.yaml');
  await writeFile(spec, `name: one-file\nversion: "1.0"\narch: all\nmaintainer: Bench <bench@example.org>\ndescription: one file\ncontents:\n  - { src: src/a.txt, dst: /usr/share/one-file/a.txt }\n`);
  const runs = Math.max(RUNS, 11);
  const node: Sample[] = [];
  const build: Sample[] = [];
  const loadBefore = loadLine();
  for (let i = 0; i < runs; i++) {
    node.push(await timed(process.execPath, ['-e', '0']));
    build.push(await timed(process.execPath, [CLI, 'build', '-f', spec, '-o', join(dir, 'out/')], { SOURCE_DATE_EPOCH: '1700000000' }));
  }
  const med = (xs: Sample[], k: 'seconds' | 'cpu'): number => median(xs.map((x) => x[k] ?? 0));
  const lines = [
    `A one-file \`debpkg build\` against \`node -e 0\`, ${runs} interleaved runs, median; load average ${loadBefore} before, ${loadLine()} after.`,
    '',
    '| command | wall s | CPU s (user+sys) | peak RSS |',
    '|---|---|---|---|',
    `| node -e 0 | ${med(node, 'seconds').toFixed(2)} | ${med(node, 'cpu').toFixed(2)} | ${mb(medianOf(node))} |`,
    `| debpkg build (1 file) | ${med(build, 'seconds').toFixed(2)} | ${med(build, 'cpu').toFixed(2)} | ${mb(medianOf(build))} |`,
    `| **over node** | **+${(med(build, 'seconds') - med(node, 'seconds')).toFixed(2)}** | **+${(med(build, 'cpu') - med(node, 'cpu')).toFixed(2)}** | |`,
  ];
  await updateSection(join(ROOT, 'docs/benchmarks.md'), 'build-startup', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function largePayload(): Promise<void> {
  const root = await preparePayload();
  const spec = join(WORK, 'debpkg.yaml');
  await writeFile(
    spec,
    `name: bench-payload
version: "1.0"
arch: all
maintainer: Bench <bench@example.org>
description: benchmark payload
deb:
  compression: \${BENCH_COMPRESSION}
contents:
  - { src: ${root}/usr/share/bench-payload, dst: /usr/share/bench-payload, type: tree }
`,
  );
  const cases: { id: string; label: string; kind: string; level: number; env?: Record<string, string> }[] = [
    { id: 'gzip6', label: 'gzip -6 (pigz engine, default)', kind: 'gzip', level: 6, env: { DEBPKG_GZIP: 'pigz' } },
    { id: 'gzip6-zlib', label: 'gzip -6 (in-process zlib engine)', kind: 'gzip', level: 6, env: { DEBPKG_GZIP: 'zlib' } },
    { id: 'gzip9', label: 'gzip -9', kind: 'gzip', level: 9, env: { DEBPKG_GZIP: 'pigz' } },
    { id: 'xz6', label: 'xz -6', kind: 'xz', level: 6 },
    { id: 'zstd3', label: 'zstd -3', kind: 'zstd', level: 3 },
    { id: 'none', label: 'none', kind: 'none', level: 0 },
  ];
  const kinds = process.argv.includes('--compression') ? process.argv[process.argv.indexOf('--compression') + 1]!.split(',') : undefined;
  const nfpm = nfpmBinary();
  const nfpmSpec = join(WORK, 'nfpm-large.yaml');
  await writeFile(nfpmSpec, `name: bench-payload\nversion: "1.0"\narch: all\nmaintainer: Bench <bench@example.org>\ndescription: benchmark payload\ncontents:\n  - { src: ${root}/usr/share/bench-payload, dst: /usr/share/bench-payload }\n`);
  const rows: Row[] = [];
  const loadBefore = loadLine();
  for (const c of cases.filter((c) => kinds === undefined || kinds.includes(c.id))) {
    const dpkg: Sample[] = [];
    const ours: Sample[] = [];
    const theirs: Sample[] = [];
    // nfpm's deb is gzip -6 only (its default): it joins that row
    const withNfpm = nfpm !== undefined && c.kind === 'gzip' && c.level === 6 && c.env?.DEBPKG_GZIP === 'pigz';
    const dpkgOut = join(WORK, 'dpkg.deb');
    const outDir = join(WORK, 'out');
    for (let i = 0; i < RUNS; i++) {
      dpkg.push(await timed('dpkg-deb', ['--root-owner-group', `-Z${c.kind}`, `-z${c.level}`, '-b', root, dpkgOut]));
      ours.push(
        await timed(process.execPath, [CLI, 'build', '--config', spec, '--output', outDir], {
          BENCH_COMPRESSION: c.kind === 'none' ? 'none' : `${c.kind}:${c.level}`,
          SOURCE_DATE_EPOCH: '1700000000',
          ...c.env,
        }),
      );
      if (withNfpm) theirs.push(await timed(nfpm, ['package', '-f', nfpmSpec, '-p', 'deb', '-t', join(WORK, 'nfpm-large.deb')], { SOURCE_DATE_EPOCH: '1700000000' }));
    }
    const deb = join(outDir, 'bench-payload_1.0_all.deb');
    // dpkg's own extractor must accept what we wrote (the same code path as dpkg -i).
    await run('sh', ['-c', `dpkg-deb --fsys-tarfile ${deb} | tar -t >/dev/null`]);
    rows.push({
      label: c.label,
      dpkg: { seconds: median(dpkg.map((s) => s.seconds)), rssKiB: median(dpkg.map((s) => s.rssKiB)) },
      debpkg: { seconds: median(ours.map((s) => s.seconds)), rssKiB: median(ours.map((s) => s.rssKiB)) },
      ...(theirs.length > 0 ? { nfpm: medianOf(theirs) } : {}),
      dpkgSize: (await stat(dpkgOut)).size,
      debpkgSize: (await stat(deb)).size,
    });
    process.stderr.write(`${c.label}: dpkg-deb ${rows.at(-1)!.dpkg.seconds}s, debpkg ${rows.at(-1)!.debpkg.seconds}s\n`);
  }
  const dpkgVersion = (await run('dpkg-deb', ['--version'])).stdout.split('\n')[0];
  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  const lines = [
    `Payload: one file of ${SIZE >> 20} MiB (half random bytes, half generated text), ${RUNS} interleaved runs each, median.${nfpm ? ` nfpm (gzip -6 row): ${nfpm}.` : ' nfpm: no binary (bench/build-nfpm.sh).'}`,
    `Machine: ${cpu}, ${(await run('nproc')).stdout.trim()} cores; ${dpkgVersion}; Node ${process.version}; load average ${loadBefore} before, ${loadLine()} after.`,
    '',
    '| compression | dpkg-deb s | nfpm s | debpkg s | time vs faster peer | dpkg-deb RSS | nfpm RSS | debpkg RSS | size vs dpkg-deb |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const fastest = r.nfpm && r.nfpm.seconds < r.dpkg.seconds ? r.nfpm : r.dpkg;
      return `| ${r.label} | ${r.dpkg.seconds.toFixed(2)} | ${r.nfpm ? r.nfpm.seconds.toFixed(2) : '—'} | ${r.debpkg.seconds.toFixed(2)} | **${(r.debpkg.seconds / fastest.seconds).toFixed(2)}×** | ${mb(r.dpkg)} | ${r.nfpm ? mb(r.nfpm) : '—'} | ${mb(r.debpkg)} | ${(r.debpkgSize / r.dpkgSize).toFixed(3)} |`;
    }),
    '',
    'debpkg also computes md5sums and Installed-Size while it writes (dpkg-deb -b does neither), and every package it wrote was read back by dpkg-deb --fsys-tarfile.',
  ];
  await updateSection(join(ROOT, 'docs/benchmarks.md'), 'build', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}


/** `count` files of `min`..`max` bytes of generated text, 500 per directory (fixed seed: the same tree every time). */
async function prepareFiles(count: number, min: number, max: number): Promise<string> {
  const root = join(WORK, `files-${count}-${min}-${max}`);
  const marker = join(root, '.ready');
  if (await stat(marker).then(() => true, () => false)) return root;
  await rm(root, { recursive: true, force: true });
  const words = 'the of and to in is for on that with as package install service version repository debian'.split(' ');
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const base = join(root, 'usr/share/bench-files');
  for (let i = 0; i < count; i++) {
    const dir = join(base, `d${String(Math.floor(i / 500)).padStart(3, '0')}`);
    if (i % 500 === 0) await mkdir(dir, { recursive: true });
    const size = min + (next() % (max - min + 1));
    let text = '';
    while (text.length < size) text += `${words[next() % words.length]}${next() % 13 === 0 ? '\n' : ' '}`;
    await writeFile(join(dir, `file-${i}.txt`), text.slice(0, size));
  }
  await mkdir(join(root, 'DEBIAN'));
  await writeFile(join(root, 'DEBIAN/control'), 'Package: bench-files\nVersion: 1.0\nArchitecture: all\nMaintainer: Bench <bench@example.org>\nDescription: benchmark payload\n');
  await writeFile(marker, '');
  return root;
}

function nfpmBinary(): string | undefined {
  if (process.env.NFPM) return process.env.NFPM;
  // built from source by bench/build-nfpm.sh (bench/setup-host.sh runs it when nfpm is missing)
  const built = join(ROOT, 'bench/.bin/nfpm');
  if (existsSync(built)) return built;
  const dir = (process.env.PATH ?? '').split(':').find((d) => existsSync(join(d || '.', 'nfpm')));
  return dir === undefined ? undefined : join(dir || '.', 'nfpm');
}

const mb = (s: Sample): string => `${(s.rssKiB / 1024).toFixed(0)} MB`;
const medianOf = (xs: Sample[]): Sample => ({ seconds: median(xs.map((x) => x.seconds)), rssKiB: median(xs.map((x) => x.rssKiB)) });

async function manyFiles(): Promise<void> {
  const root = await prepareFiles(20000, 1024, 20 * 1024);
  const spec = join(WORK, 'files.yaml');
  const specText = (dir: string): string => `name: bench-files
version: "1.0"
arch: all
maintainer: Bench <bench@example.org>
description: benchmark payload
contents:
  - { src: ${dir}/usr/share/bench-files, dst: /usr/share/bench-files, type: tree }
`;
  await writeFile(spec, specText(root));
  const nfpm = nfpmBinary();
  const nfpmSpec = join(WORK, 'nfpm.yaml');
  await writeFile(nfpmSpec, `name: bench-files\nversion: "1.0"\narch: all\nmaintainer: Bench <bench@example.org>\ndescription: benchmark payload\ncontents:\n  - { src: ${root}/usr/share/bench-files, dst: /usr/share/bench-files }\n`);
  const outDir = join(WORK, 'out-files');
  const dpkgOut = join(WORK, 'dpkg-files.deb');
  const samples: Record<'dpkg' | 'debpkg' | 'nfpm', Sample[]> = { dpkg: [], debpkg: [], nfpm: [] };
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const loadBefore = loadLine();
  // Interleaved, so load from elsewhere on the machine falls on every tool alike.
  for (let i = 0; i < RUNS; i++) {
    samples.dpkg.push(await timed('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '-b', root, dpkgOut]));
    samples.debpkg.push(await timed(process.execPath, [CLI, 'build', '--config', spec, '--output', outDir], env));
    if (nfpm) samples.nfpm.push(await timed(nfpm, ['package', '-f', nfpmSpec, '-p', 'deb', '-t', join(WORK, 'nfpm-files.deb')], env));
  }
  const deb = join(outDir, 'bench-files_1.0_all.deb');
  await run('sh', ['-c', `dpkg-deb --fsys-tarfile ${deb} | tar -t >/dev/null`]);
  const control = (await run('sh', ['-c', `ar p ${deb} control.tar.gz | wc -c`])).stdout.trim();
  const dpkg = medianOf(samples.dpkg);
  const ours = medianOf(samples.debpkg);
  const peers = [{ name: 'dpkg-deb -z6', s: dpkg }, ...(nfpm ? [{ name: 'nfpm', s: medianOf(samples.nfpm) }] : [])];
  const fastest = peers.reduce((a, b) => (b.s.seconds < a.s.seconds ? b : a));

  // Peak RSS only: 200,000 files of 10-100 bytes (the entry list, not the payload, is what grows).
  const bigRoot = await prepareFiles(200000, 10, 100);
  const bigSpec = join(WORK, 'files-200k.yaml');
  await writeFile(bigSpec, specText(bigRoot));
  const big = medianOf(await (async () => {
    const xs: Sample[] = [];
    for (let i = 0; i < RUNS; i++) xs.push(await timed(process.execPath, [CLI, 'build', '--config', bigSpec, '--output', outDir], env));
    return xs;
  })());

  const lines = [
    `20,000 files of 1-20 KB of generated text (235 MB), gzip -6, ${RUNS} interleaved runs, median; control.tar.gz of debpkg's package: ${control} bytes. Load average ${loadBefore} before, ${loadLine()} after.`,
    nfpm ? `nfpm: ${nfpm}.` : 'nfpm: not benchmarked — no nfpm binary (set NFPM=…, or let bench/build-nfpm.sh build v2.41.1 from source: it needs the git snapshots it names); the faster peer is dpkg-deb -z6.',
    '',
    '| payload | tool | wall s | peak RSS | time vs fastest peer |',
    '|---|---|---|---|---|',
    ...peers.map((p) => `| 20,000 files | ${p.name} | ${p.s.seconds.toFixed(2)} | ${mb(p.s)} | ${(p.s.seconds / fastest.s.seconds).toFixed(2)}× |`),
    `| 20,000 files | debpkg | ${ours.seconds.toFixed(2)} | ${mb(ours)} | **${(ours.seconds / fastest.s.seconds).toFixed(2)}×** |`,
    `| 200,000 files of 10-100 B | debpkg | ${big.seconds.toFixed(2)} | **${mb(big)}** | — |`,
    '',
    `Goals: time ≤ 1.00× the fastest peer (${(ours.seconds / fastest.s.seconds).toFixed(2)}×: ${ours.seconds <= fastest.s.seconds ? 'met' : 'not met'}); RSS ≤ 120 MB at 20,000 files (${mb(ours)}: ${ours.rssKiB <= 120 * 1024 ? 'met' : 'not met'}) and at 200,000 files (${mb(big)}: ${big.rssKiB <= 120 * 1024 ? 'met' : 'not met'}).`,
  ];
  await updateSection(join(ROOT, 'docs/benchmarks.md'), 'build-files', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
