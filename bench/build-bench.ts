// debpkg build vs dpkg-deb --root-owner-group -b on the same 512 MiB payload (half random,
// half text), same compression and level, in one run. Writes docs/benchmarks.md's build section.
//
//   npm run bench:build [-- --runs 3 --size-mib 512]

import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
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

/** Deterministic English-like text: compresses like real text, unlike repeated blocks. */
async function writeText(path: string, size: number): Promise<void> {
  const words = 'the of and to in is for on that with as package install service version repository debian node fleet color green blue swap health check server client build release upgrade config file system network request response error value'.split(' ');
  let seed = 42;
  const out = createWriteStream(path);
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

async function preparePayload(): Promise<string> {
  const root = join(WORK, `root-${SIZE >> 20}`);
  const marker = join(root, '.ready');
  if (await stat(marker).then(() => true, () => false)) return root;
  await rm(root, { recursive: true, force: true });
  const payload = join(root, 'usr/share/bench-payload');
  await mkdir(payload, { recursive: true });
  const half = SIZE / 2;
  const chunk = 16 << 20;
  for (let i = 0; i < half / chunk; i++) await writeFile(join(payload, `random-${i}.bin`), randomBytes(chunk));
  await writeText(join(payload, 'text.txt'), half);
  await mkdir(join(root, 'DEBIAN'));
  await writeFile(join(root, 'DEBIAN/control'), 'Package: bench-payload\nVersion: 1.0\nArchitecture: all\nMaintainer: Bench <bench@example.org>\nDescription: benchmark payload\n');
  await writeFile(marker, '');
  return root;
}

interface Sample {
  seconds: number;
  rssKiB: number;
}

async function timed(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Sample> {
  const { stderr } = await run('/usr/bin/time', ['-f', 'BENCH %e %M', cmd, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 16 << 20,
  });
  const m = /BENCH ([0-9.]+) ([0-9]+)/.exec(stderr);
  if (!m) throw new Error(`no timing from ${cmd}: ${stderr}`);
  return { seconds: Number(m[1]), rssKiB: Number(m[2]) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Row {
  label: string;
  dpkg: Sample;
  debpkg: Sample;
  dpkgSize: number;
  debpkgSize: number;
}

async function main(): Promise<void> {
  await mkdir(WORK, { recursive: true });
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
  const cases: { label: string; kind: string; level: number; env?: Record<string, string> }[] = [
    { label: 'gzip -6 (pigz engine, default)', kind: 'gzip', level: 6, env: { DEBPKG_GZIP: 'pigz' } },
    { label: 'gzip -6 (in-process zlib engine)', kind: 'gzip', level: 6, env: { DEBPKG_GZIP: 'zlib' } },
    { label: 'gzip -9', kind: 'gzip', level: 9, env: { DEBPKG_GZIP: 'pigz' } },
    { label: 'zstd -3', kind: 'zstd', level: 3 },
    { label: 'none', kind: 'none', level: 0 },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const dpkg: Sample[] = [];
    const ours: Sample[] = [];
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
    }
    const deb = join(outDir, 'bench-payload_1.0_all.deb');
    // dpkg's own extractor must accept what we wrote (the same code path as dpkg -i).
    await run('sh', ['-c', `dpkg-deb --fsys-tarfile ${deb} | tar -t >/dev/null`]);
    rows.push({
      label: c.label,
      dpkg: { seconds: median(dpkg.map((s) => s.seconds)), rssKiB: median(dpkg.map((s) => s.rssKiB)) },
      debpkg: { seconds: median(ours.map((s) => s.seconds)), rssKiB: median(ours.map((s) => s.rssKiB)) },
      dpkgSize: (await stat(dpkgOut)).size,
      debpkgSize: (await stat(deb)).size,
    });
    process.stderr.write(`${c.label}: dpkg-deb ${rows.at(-1)!.dpkg.seconds}s, debpkg ${rows.at(-1)!.debpkg.seconds}s\n`);
  }
  const dpkgVersion = (await run('dpkg-deb', ['--version'])).stdout.split('\n')[0];
  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  const lines = [
    `Payload: ${SIZE >> 20} MiB (half random bytes, half generated text), ${RUNS} runs each, median.`,
    `Machine: ${cpu}, ${(await run('nproc')).stdout.trim()} cores; ${dpkgVersion}; Node ${process.version}.`,
    '',
    '| compression | dpkg-deb s | debpkg s | time ratio | dpkg-deb RSS | debpkg RSS | size ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.dpkg.seconds.toFixed(2)} | ${r.debpkg.seconds.toFixed(2)} | **${(r.debpkg.seconds / r.dpkg.seconds).toFixed(2)}×** | ${(r.dpkg.rssKiB / 1024).toFixed(0)} MB | ${(r.debpkg.rssKiB / 1024).toFixed(0)} MB | ${(r.debpkgSize / r.dpkgSize).toFixed(3)} |`,
    ),
    '',
    'debpkg also computes md5sums and Installed-Size while it writes (dpkg-deb -b does neither), and every package it wrote was read back by dpkg-deb --fsys-tarfile.',
  ];
  await updateSection(join(ROOT, 'docs/benchmarks.md'), 'build', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
