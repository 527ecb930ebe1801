// debpkg's repo server vs Debian's aptly and reprepro, in one run on this machine:
//   1. ingest + publish N generated packages (server start-up measured apart),
//   2. add 1 package + publish into that N-package repo (and, with --big, debpkg into 10×N),
//   3. peak RSS of each tool during ingest,
//   4. static serving req/s (wrk) of debpkg's server vs nginx on the same files.
// Writes docs/benchmarks.md's repo section.
//
//   npm run bench:repo [-- --packages 10000 --runs 5 --big --wrk-seconds 10 --batch 500
//                          --upload-concurrency 2 --skip-signing --cpu-prof]
//
// --big adds debpkg into a 10×N repo (10k → 100k: several more minutes); --cpu-prof profiles
// an extra, unmeasured debpkg ingest and prints the server's top self-time functions.
//
// Needs aptly, reprepro, wrk and nginx (apt-get install aptly reprepro wrk nginx-light).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { ensureDebSet } from '../test/support/deb-fixture.js';
import { updateSection } from './report.js';
import { freePort } from '../test/support/ports.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORK = join(ROOT, '.bench/repo');
const RUN = join(WORK, 'run');
const CLI = join(ROOT, 'dist/cli/main.js');
const TOKEN = 'bench-admin-token';
const DIST = 'bench';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const N = arg('packages', 10_000);
const RUNS = arg('runs', 5);
const BIG = flag('big');
const WRK_SECONDS = arg('wrk-seconds', 10);
const BATCH = arg('batch', 500);
const UPLOAD_CONCURRENCY = arg('upload-concurrency', 2);
const SIGN = !flag('skip-signing');
const CPU_PROF = flag('cpu-prof');

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sec = (ms: number): number => ms / 1000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ---------------------------------------------------------------- processes

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; stdout is kept only when asked (aptly prints a line per package). */
function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; keepStdout?: boolean } = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (opts.keepStdout) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 20) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function must(cmd: string, args: string[], opts: Parameters<typeof exec>[2] = {}): Promise<Exit> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' ...' : ''} failed (${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

interface Timed {
  seconds: number;
  rssKiB: number;
}

/** Wall time (hrtime, around the whole process) and peak RSS (from GNU time) of one command. */
async function timed(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Timed> {
  const out = join(RUN, 'time.txt');
  const t0 = performance.now();
  await must('/usr/bin/time', ['-f', '%M', '-o', out, cmd, ...args], opts);
  const seconds = sec(performance.now() - t0);
  const rssKiB = Number((await readFile(out, 'utf8')).trim().split('\n').pop());
  return { seconds, rssKiB };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Servers this script started; killed if it dies half-way, so none outlives it. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

// ---------------------------------------------------------------- a minimal HTTP client

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

interface Response {
  status: number;
  body: Buffer;
}

function http(base: string, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    // No client timeout: a 100k-package add or publish may take minutes in one request.
    const req = httpRequest(`${base}${path}`, { method, agent, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function api(base: string, method: string, path: string, json?: unknown, want = [200, 201]): Promise<unknown> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  let body: Buffer | undefined;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = Buffer.from(JSON.stringify(json));
  }
  const res = await http(base, method, path, body, headers);
  const text = res.body.toString();
  if (!want.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 2000)}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

async function upload(base: string, dir: string, files: string[]): Promise<void> {
  const boundary = `----debpkg-bench-${Math.random().toString(36).slice(2)}`;
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${basename(f)}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      // Sync on purpose: fs/promises readFile is four thread-pool round trips per file, which
      // made building a 500-file body take ~170 ms here instead of ~5 ms.
      readFileSync(f),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await http(base, 'POST', `/api/files/${dir}`, Buffer.concat(parts), {
    authorization: `Bearer ${TOKEN}`,
    'content-type': `multipart/form-data; boundary=${boundary}`,
  });
  if (res.status !== 200) throw new Error(`upload to ${dir}: ${res.status} ${res.body.toString().slice(0, 2000)}`);
}

/** Uploads in batches of BATCH files, UPLOAD_CONCURRENCY requests at a time. */
async function uploadAll(base: string, dir: string, files: string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const batch = files.slice(next, next + BATCH);
      next += BATCH;
      await upload(base, dir, batch);
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
}

// ---------------------------------------------------------------- debpkg server (child process)

class DebpkgServer {
  private exited: Promise<number | null>;

  private constructor(
    readonly pid: number,
    readonly base: string,
    readonly dataDir: string,
    readonly startSeconds: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(dataDir: string, extraNodeArgs: string[] = []): Promise<DebpkgServer> {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logFile = createWriteStream(`${dataDir}.log`);
    const t0 = performance.now();
    const child = track(
      spawn(process.execPath, [...extraNodeArgs, CLI, 'serve', '--data', dataDir, '--listen', `127.0.0.1:${port}`], {
        // warn: no per-request access log lines (aptly and reprepro run without an HTTP layer at all).
        env: { ...process.env, DEBPKG_ADMIN_TOKEN: TOKEN, DEBPKG_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    child.stdout!.pipe(logFile);
    child.stderr!.pipe(logFile);
    let dead = false;
    child.once('exit', () => (dead = true));
    for (;;) {
      if (dead) throw new Error(`debpkg serve exited during start-up; see ${dataDir}.log`);
      const ok = await http(base, 'GET', '/api/version').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(5);
    }
    const startSeconds = sec(performance.now() - t0);
    return new DebpkgServer(child.pid!, base, dataDir, startSeconds, child);
  }

  /** Resets the kernel's peak-RSS counter (VmHWM) so the next reading covers only what follows. */
  async resetPeak(): Promise<void> {
    await writeFile(`/proc/${this.pid}/clear_refs`, '5');
  }

  async peakKiB(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- the three tools

interface Ingest {
  tool: string;
  seconds: number;
  rssKiB: number;
  parts: [string, number][];
  /** Index files its Release lists for main/binary-amd64. */
  indexes?: string[];
}

interface AddOne {
  tool: string;
  runs: number[];
  parts: [string, number][];
  indexes?: string[];
}

const publishBody = {
  SourceKind: 'local',
  Sources: [{ Component: 'main', Name: 'bench' }],
  Distribution: DIST,
  Architectures: ['amd64'],
  ...(SIGN ? {} : { Signing: { Skip: true } }),
};

async function debpkgIngest(server: DebpkgServer, debs: string[]): Promise<Ingest> {
  await server.resetPeak();
  const t0 = performance.now();
  await api(server.base, 'POST', '/api/repos', { Name: 'bench', DefaultDistribution: DIST, DefaultComponent: 'main' });
  await uploadAll(server.base, 'ingest', debs);
  const t1 = performance.now();
  const report = (await api(server.base, 'POST', '/api/repos/bench/file/ingest')) as { Report: { Added: string[] } };
  if (report.Report.Added.length !== debs.length) throw new Error(`debpkg added ${report.Report.Added.length} of ${debs.length}`);
  const t2 = performance.now();
  await api(server.base, 'POST', '/api/publish/:.', publishBody);
  const t3 = performance.now();
  return {
    tool: 'debpkg',
    seconds: sec(t3 - t0),
    rssKiB: await server.peakKiB(),
    parts: [
      ['upload', sec(t1 - t0)],
      ['add', sec(t2 - t1)],
      ['publish', sec(t3 - t2)],
    ],
  };
}

/**
 * Untimed pause before each single-package add: debpkg publishes at most once per second per
 * distribution (Release dates have one-second resolution and must increase), so back-to-back
 * runs would measure that wait rather than the work. The same pause is given to every tool;
 * debpkg's back-to-back figure is measured separately.
 */
const PAUSE_MS = 1100;

async function debpkgAddOne(server: DebpkgServer, extras: string[], pause = true): Promise<AddOne> {
  const runs: number[] = [];
  const up: number[] = [];
  const add: number[] = [];
  const pub: number[] = [];
  for (const deb of extras) {
    if (pause) await sleep(PAUSE_MS);
    const dir = `one-${basename(deb, '.deb')}`;
    const t0 = performance.now();
    await upload(server.base, dir, [deb]);
    const t1 = performance.now();
    await api(server.base, 'POST', `/api/repos/bench/file/${dir}`);
    const t2 = performance.now();
    await api(server.base, 'PUT', `/api/publish/:./${DIST}`, SIGN ? {} : { Signing: { Skip: true } });
    const t3 = performance.now();
    runs.push(sec(t3 - t0));
    up.push(sec(t1 - t0));
    add.push(sec(t2 - t1));
    pub.push(sec(t3 - t2));
  }
  return { tool: 'debpkg', runs, parts: [['upload', median(up)], ['add', median(add)], ['publish', median(pub)]] };
}

interface Gpg {
  env: NodeJS.ProcessEnv;
  fingerprint: string;
}

/** One unprotected ed25519 signing key for aptly and reprepro (debpkg makes its own). */
async function gpgKey(): Promise<Gpg> {
  const home = join(WORK, 'gnupg');
  const env = { ...process.env, GNUPGHOME: home };
  const list = async (): Promise<string | undefined> =>
    /^fpr:+([0-9A-F]{40}):/m.exec((await exec('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env, keepStdout: true })).stdout)?.[1];
  let fpr = await list().catch(() => undefined);
  if (!fpr) {
    await rm(home, { recursive: true, force: true });
    await mkdir(home, { recursive: true, mode: 0o700 });
    await must('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'debpkg bench <bench@example.org>', 'ed25519', 'sign', 'never'], { env });
    fpr = await list();
  }
  if (!fpr) throw new Error('could not create a gpg key');
  return { env, fingerprint: fpr };
}

function aptlyCommands(conf: string, gpg: Gpg): { create: string[]; add: (what: string) => string[]; publish: string[]; update: string[] } {
  const sign = SIGN ? ['-batch', `-gpg-key=${gpg.fingerprint}`] : ['-skip-signing'];
  return {
    create: [`-config=${conf}`, 'repo', 'create', `-distribution=${DIST}`, '-component=main', 'bench'],
    add: (what) => [`-config=${conf}`, 'repo', 'add', 'bench', what],
    // -skip-contents: debpkg writes no Contents indexes either.
    publish: [`-config=${conf}`, 'publish', 'repo', '-architectures=amd64', `-distribution=${DIST}`, '-skip-contents', ...sign, 'bench'],
    update: [`-config=${conf}`, 'publish', 'update', '-skip-contents', ...sign, DIST],
  };
}

async function aptlySetup(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'aptly.conf');
  await writeFile(conf, JSON.stringify({ rootDir: dir, architectures: ['amd64'], gpgProvider: 'gpg' }, null, 2));
  return conf;
}

async function aptlyIngest(dir: string, debDir: string, gpg: Gpg): Promise<Ingest> {
  const c = aptlyCommands(await aptlySetup(dir), gpg);
  const create = await timed('aptly', c.create, { env: gpg.env });
  const add = await timed('aptly', c.add(debDir), { env: gpg.env });
  const pub = await timed('aptly', c.publish, { env: gpg.env });
  return {
    tool: 'aptly',
    seconds: create.seconds + add.seconds + pub.seconds,
    rssKiB: Math.max(create.rssKiB, add.rssKiB, pub.rssKiB),
    parts: [
      ['repo create', create.seconds],
      ['repo add', add.seconds],
      ['publish repo', pub.seconds],
    ],
  };
}

async function aptlyAddOne(dir: string, extras: string[], gpg: Gpg): Promise<AddOne> {
  const c = aptlyCommands(join(dir, 'aptly.conf'), gpg);
  const runs: number[] = [];
  const add: number[] = [];
  const pub: number[] = [];
  for (const deb of extras) {
    await sleep(PAUSE_MS);
    const a = await timed('aptly', c.add(deb), { env: gpg.env });
    const p = await timed('aptly', c.update, { env: gpg.env });
    runs.push(a.seconds + p.seconds);
    add.push(a.seconds);
    pub.push(p.seconds);
  }
  return { tool: 'aptly', runs, parts: [['repo add', median(add)], ['publish update', median(pub)]] };
}

/**
 * Two reprepro set-ups: the full set of indexes debpkg writes for small repositories
 * (Packages, .gz, .xz), and .gz only, what debpkg writes for large ones: the peer figure in
 * each goal is the faster of the two.
 */
interface RepreproVariant {
  tool: string;
  dir: string;
  indices: string;
}

async function repreproSetup(v: RepreproVariant, gpg: Gpg): Promise<void> {
  const dir = v.dir;
  await mkdir(join(dir, 'conf'), { recursive: true });
  await writeFile(
    join(dir, 'conf/distributions'),
    [
      `Codename: ${DIST}`,
      `Suite: ${DIST}`,
      'Architectures: amd64',
      'Components: main',
      `DebIndices: Packages Release ${v.indices}`,
      ...(SIGN ? [`SignWith: ${gpg.fingerprint}`] : []),
      '',
    ].join('\n'),
  );
}

/** File names per includedeb call: a 100k list would pass ARG_MAX. */
const REPREPRO_CHUNK = 20_000;

async function repreproIngest(v: RepreproVariant, debDir: string, debs: string[], gpg: Gpg): Promise<Ingest> {
  await repreproSetup(v, gpg);
  const dir = v.dir;
  const names = debs.map((d) => basename(d));
  let includeSeconds = 0;
  let rss = 0;
  for (let i = 0; i < names.length; i += REPREPRO_CHUNK) {
    const t = await timed('reprepro', ['-b', dir, '--export=never', 'includedeb', DIST, ...names.slice(i, i + REPREPRO_CHUNK)], { cwd: debDir, env: gpg.env });
    includeSeconds += t.seconds;
    rss = Math.max(rss, t.rssKiB);
  }
  const exp = await timed('reprepro', ['-b', dir, 'export', DIST], { env: gpg.env });
  return {
    tool: v.tool,
    seconds: includeSeconds + exp.seconds,
    rssKiB: Math.max(rss, exp.rssKiB),
    parts: [
      ['includedeb', includeSeconds],
      ['export', exp.seconds],
    ],
  };
}

async function repreproAddOne(v: RepreproVariant, extras: string[], gpg: Gpg): Promise<AddOne> {
  const dir = v.dir;
  const runs: number[] = [];
  for (const deb of extras) {
    await sleep(PAUSE_MS);
    // includedeb exports the changed distribution itself (--export=changed, the default).
    runs.push((await timed('reprepro', ['-b', dir, 'includedeb', DIST, deb], { env: gpg.env })).seconds);
  }
  return { tool: v.tool, runs, parts: [] };
}

/** Reads a file of a published tree relative to its root (dists/..., pool/...); undefined if absent. */
type TreeReader = (rel: string) => Promise<Buffer | undefined>;

const diskTree =
  (root: string): TreeReader =>
  (rel) =>
    readFile(join(root, rel)).catch(() => undefined);

const httpTree =
  (base: string): TreeReader =>
  async (rel) => {
    const r = await http(base, 'GET', `/${rel}`);
    return r.status === 200 ? r.body : undefined;
  };

/**
 * Each tool must have published the same packages: count the stanzas of whichever Packages
 * index it wrote, and return the index files its Release lists (they differ between tools).
 */
async function checkPublished(tool: string, tree: TreeReader, want: number): Promise<string[]> {
  const dir = `dists/${DIST}/main/binary-amd64`;
  const plain = await tree(`${dir}/Packages`);
  const gz = plain ? undefined : await tree(`${dir}/Packages.gz`);
  if (!plain && !gz) throw new Error(`${tool} published neither Packages nor Packages.gz`);
  const text = (plain ?? gunzipSync(gz!)).toString();
  const n = (text.match(/^Package: /gm) ?? []).length;
  if (n !== want) throw new Error(`${tool} published ${n} packages, expected ${want}`);
  const release = (await tree(`dists/${DIST}/Release`))?.toString() ?? '';
  const names = new Set<string>();
  for (const m of release.matchAll(/^ [0-9a-f]{64} +\d+ main\/binary-amd64\/(Packages\S*)$/gm)) names.add(m[1]!);
  return [...names].sort();
}

// ---------------------------------------------------------------- static serving

interface WrkResult {
  rps: number;
  transfer: string;
}

async function wrk(url: string): Promise<WrkResult> {
  const r = await must('wrk', ['-t2', '-c32', `-d${WRK_SECONDS}s`, url], { keepStdout: true });
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(r.stdout)?.[1]);
  const transfer = /Transfer\/sec:\s+(\S+)/.exec(r.stdout)?.[1] ?? '?';
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
  const errors = /Socket errors: (.*)/.exec(r.stdout);
  if (bad || !Number.isFinite(rps)) throw new Error(`wrk ${url}: ${r.stdout}`);
  if (errors) log(`wrk ${url}: socket errors: ${errors[1]}`);
  return { rps, transfer };
}

async function startNginx(root: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const dir = join(RUN, 'nginx');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
}
`,
  );
  const child = track(spawn('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const base = `http://127.0.0.1:${port}`;
  for (;;) {
    if (dead) throw new Error(`nginx exited: ${stderr}`);
    if (await http(base, 'GET', '/').then(() => true, () => false)) break;
    await sleep(5);
  }
  return {
    base,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------- CPU profile of the server

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Top self-time functions of a V8 .cpuprofile. */
async function topSelfTime(path: string, count = 20): Promise<string[]> {
  const prof = JSON.parse(await readFile(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n] as const));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const f = byId.get(id)?.callFrame;
    if (!f) return;
    const where = f.url ? `${f.url.replace(`file://${ROOT}`, '').replace(/^node:/, 'node:')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [
    `profiled time ${(total / 1e6).toFixed(2)} s`,
    ...[...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`),
  ];
}

async function profileIngest(debs: string[]): Promise<string[]> {
  const dir = join(RUN, 'debpkg-prof');
  const profDir = join(WORK, 'prof');
  await rm(dir, { recursive: true, force: true });
  await rm(profDir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const server = await DebpkgServer.start(dir, ['--cpu-prof', '--cpu-prof-dir', profDir]);
  const r = await debpkgIngest(server, debs);
  await server.stop();
  const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return ['(no profile written)'];
  const path = join(profDir, files[0]!);
  return [`profiled ingest (slower than unprofiled): ${r.seconds.toFixed(2)} s; ${path}`, ...(await topSelfTime(path))];
}

// ---------------------------------------------------------------- main

async function versions(): Promise<Record<string, string>> {
  const first = (r: Exit): string => `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '?';
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    debpkg: pkg.version,
    aptly: first(await exec('aptly', ['version'], { keepStdout: true })).replace(/^aptly version:\s*/, ''),
    reprepro: first(await exec('reprepro', ['--version'], { keepStdout: true })).replace(/^reprepro: This is reprepro version\s*/, ''),
    nginx: first(await exec('nginx', ['-v'], { keepStdout: true })).replace(/^nginx version:\s*/, ''),
    wrk: first(await exec('wrk', ['-v'], { keepStdout: true })).replace(/ Copyright.*/, ''),
    node: process.version,
  };
}

async function readAll(files: string[]): Promise<void> {
  for (let i = 0; i < files.length; i += 512) await Promise.all(files.slice(i, i + 512).map((f) => readFile(f)));
}

const fmtS = (s: number): string => (s < 10 ? s.toFixed(3) : s.toFixed(1));
const fmtMB = (kib: number): string => `${(kib / 1024).toFixed(0)} MB`;
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const indexList = (names: string[] | undefined): string => (names?.length ? names.join(', ') : '?');

async function main(): Promise<void> {
  for (const tool of ['aptly', 'reprepro', 'wrk', 'nginx', 'gpg']) {
    if ((await exec('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is not installed (apt-get install aptly reprepro wrk nginx-light)`);
  }
  await mkdir(WORK, { recursive: true });
  await rm(RUN, { recursive: true, force: true });
  await mkdir(RUN, { recursive: true });

  const loadBefore = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  let t = performance.now();
  const debDir = join(WORK, `debs-${N}`);
  const debs = await ensureDebSet(debDir, N);
  const allExtras = await ensureDebSet(join(WORK, 'extra'), 2 * RUNS, { prefix: 'bench-extra' });
  const extras = allExtras.slice(0, RUNS);
  await readAll(debs); // warm page cache: nobody pays for the first read
  log(`${N} packages ready in ${debDir} (${sec(performance.now() - t).toFixed(1)} s)`);
  const gpg = await gpgKey();
  const vers = await versions();

  // ---- ingest + publish
  const variants: RepreproVariant[] = [
    { tool: 'reprepro', dir: join(RUN, 'reprepro'), indices: '. .gz .xz' },
    { tool: 'reprepro (.gz only)', dir: join(RUN, 'reprepro-gz'), indices: '.gz' },
  ];
  const rps: Ingest[] = [];
  for (const v of variants) {
    await must('sync', []);
    const r = await repreproIngest(v, debDir, debs, gpg);
    r.indexes = await checkPublished(v.tool, diskTree(v.dir), N);
    rps.push(r);
    log(`${v.tool} ingest+publish: ${r.seconds.toFixed(2)} s`);
  }
  await must('sync', []);
  const ap = await aptlyIngest(join(RUN, 'aptly'), debDir, gpg);
  const apTree = diskTree(join(RUN, 'aptly/public'));
  ap.indexes = await checkPublished('aptly', apTree, N);
  log(`aptly ingest+publish: ${ap.seconds.toFixed(2)} s`);
  await must('sync', []);
  const dataDir = join(RUN, 'debpkg');
  await mkdir(dataDir, { recursive: true });
  const server = await DebpkgServer.start(dataDir);
  log(`debpkg server up in ${server.startSeconds.toFixed(2)} s`);
  const dp = await debpkgIngest(server, debs);
  const packagesUrl = `/dists/${DIST}/main/binary-amd64/Packages`;
  const dpTree = httpTree(server.base);
  dp.indexes = await checkPublished('debpkg', dpTree, N);
  log(`debpkg ingest+publish: ${dp.seconds.toFixed(2)} s (${dp.parts.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`);

  // ---- add 1 + publish
  // Each series starts with the page cache flushed (untimed), so it does not pay for the
  // writeback of the bulk writes before it (an ingest, or another tool's series).
  const rp1s: AddOne[] = [];
  for (const v of variants) {
    await must('sync', []);
    rp1s.push(await repreproAddOne(v, extras, gpg));
  }
  await must('sync', []);
  const ap1 = await aptlyAddOne(join(RUN, 'aptly'), extras, gpg);
  await must('sync', []);
  const dp1 = await debpkgAddOne(server, extras);
  const dpBack = await debpkgAddOne(server, allExtras.slice(RUNS), false);
  dp1.indexes = await checkPublished('debpkg', dpTree, N + 2 * RUNS);
  ap1.indexes = await checkPublished('aptly', apTree, N + RUNS);
  for (const [i, v] of variants.entries()) rp1s[i]!.indexes = await checkPublished(v.tool, diskTree(v.dir), N + RUNS);
  for (const r of [...rp1s, ap1, dp1]) log(`${r.tool} add 1 + publish: ${r.runs.map((x) => x.toFixed(3)).join(', ')} s`);
  log(`debpkg add 1 + publish, back-to-back: ${dpBack.runs.map((x) => x.toFixed(3)).join(', ')} s`);

  // ---- static serving: the same files through debpkg and through nginx
  // Release is not a goal: a small file in small directories, to tell per-request cost apart
  // from the cost that grows with the size of the directories on the path.
  const urls = [
    { label: `Packages.gz (${N} packages)`, path: `${packagesUrl}.gz`, goal: true },
    { label: 'pool .deb', path: `/pool/main/b/bench-pkg-00001/${basename(debs[0]!)}`, goal: true },
    { label: 'dists Release (not a goal)', path: `/dists/${DIST}/Release`, goal: false },
  ];
  // debpkg serves pool files from its blob store and large indexes as splices (no plain files
  // on disk), so nginx gets a root with each measured file written as debpkg serves it.
  const nginxRoot = join(RUN, 'nginx-root');
  await rm(nginxRoot, { recursive: true, force: true });
  for (const u of urls) {
    const got = await http(server.base, 'GET', u.path);
    if (got.status !== 200) throw new Error(`${u.path}: debpkg ${got.status}`);
    await mkdir(join(nginxRoot, dirname(u.path)), { recursive: true });
    await writeFile(join(nginxRoot, u.path), got.body);
  }
  const nginx = await startNginx(nginxRoot);
  const statics: { label: string; bytes: number; goal: boolean; debpkg: WrkResult; nginx: WrkResult }[] = [];
  try {
    for (const u of urls) {
      const a = await http(server.base, 'GET', u.path);
      const b = await http(nginx.base, 'GET', u.path);
      if (a.status !== 200 || b.status !== 200 || !a.body.equals(b.body)) throw new Error(`${u.path}: debpkg ${a.status}, nginx ${b.status}, same bytes: ${a.body.equals(b.body)}`);
      const d = await wrk(`${server.base}${u.path}`);
      const x = await wrk(`${nginx.base}${u.path}`);
      statics.push({ label: u.label, bytes: a.body.length, goal: u.goal, debpkg: d, nginx: x });
      log(`${u.label}: debpkg ${d.rps.toFixed(0)} req/s, nginx ${x.rps.toFixed(0)} req/s`);
    }
  } finally {
    await nginx.stop();
  }
  await server.stop();

  // ---- debpkg into a 10×N repo
  let big: { ingest: Ingest; add: AddOne; startSeconds: number } | undefined;
  if (BIG) {
    t = performance.now();
    const bigDebs = await ensureDebSet(join(WORK, `debs-${10 * N}`), 10 * N);
    await readAll(bigDebs);
    log(`${10 * N} packages ready (${sec(performance.now() - t).toFixed(1)} s)`);
    await must('sync', []);
    const bigDir = join(RUN, 'debpkg-big');
    await mkdir(bigDir, { recursive: true });
    const s = await DebpkgServer.start(bigDir);
    const ingest = await debpkgIngest(s, bigDebs);
    log(`debpkg ingest+publish ${10 * N}: ${ingest.seconds.toFixed(2)} s`);
    await must('sync', []);
    const add = await debpkgAddOne(s, extras);
    add.indexes = await checkPublished('debpkg', httpTree(s.base), 10 * N + RUNS);
    log(`debpkg add 1 + publish into ${10 * N}: ${add.runs.map((x) => x.toFixed(3)).join(', ')} s`);
    await s.stop();
    big = { ingest, add, startSeconds: s.startSeconds };
  }

  const profile = CPU_PROF ? await profileIngest(debs) : undefined;
  await exec('gpgconf', ['--kill', 'gpg-agent'], { env: gpg.env });

  // ---- report
  const cpu = (await readFile('/proc/cpuinfo', 'utf8')).match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  const cores = (await exec('nproc', [], { keepStdout: true })).stdout.trim();
  const fsType = (await exec('findmnt', ['-n', '-o', 'FSTYPE', '-T', WORK], { keepStdout: true })).stdout.trim() || 'unknown fs';
  const loadAfter = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  const peers = [ap, ...rps].sort((a, b) => a.seconds - b.seconds);
  const bestPeer = peers[0]!.seconds;
  const bestPeerName = peers[0]!.tool;
  // The reprepro figure for the add goal: the faster of its two set-ups.
  const rp1 = [...rp1s].sort((a, b) => median(a.runs) - median(b.runs))[0]!;
  const ingestRows = [dp, ap, ...rps];
  const addRows = [dp1, ap1, ...rp1s];
  const goals: [string, string, string, boolean | undefined][] = [
    [`ingest + publish ${N} ≤ 0.5× best of aptly/reprepro (${bestPeerName})`, ratio(dp.seconds / bestPeer), '≤ 0.50×', dp.seconds / bestPeer <= 0.5],
    [`add 1 + publish into ${N} ≤ 1.0× reprepro (${rp1.tool})`, ratio(median(dp1.runs) / median(rp1.runs)), '≤ 1.00×', median(dp1.runs) / median(rp1.runs) <= 1.0],
    big
      ? [`add 1 + publish into ${10 * N} ≤ 1.5× into ${N}`, ratio(median(big.add.runs) / median(dp1.runs)), '≤ 1.50×', median(big.add.runs) / median(dp1.runs) <= 1.5]
      : [`add 1 + publish into ${10 * N} ≤ 1.5× into ${N}`, 'not run (pass --big)', '≤ 1.50×', undefined],
    ...statics.filter((s) => s.goal).map(
      (s) => [`static ${s.label} req/s ≥ 0.5× nginx`, ratio(s.debpkg.rps / s.nginx.rps), '≥ 0.50×', s.debpkg.rps / s.nginx.rps >= 0.5] as [string, string, string, boolean],
    ),
  ];
  const lines = [
    `${N} generated packages (${(await readFile(debs[0]!)).length} bytes each, Architecture amd64), one run of the ingest, median of ${RUNS} single-package adds.`,
    `Machine: ${cpu}, ${cores} cores, ${fsType}, load average ${loadBefore} before and ${loadAfter} after the run; debpkg ${vers.debpkg} on Node ${vers.node}; aptly ${vers.aptly}; reprepro ${vers.reprepro}; nginx ${vers.nginx}; ${vers.wrk}.`,
    SIGN
      ? 'All three sign Release/InRelease (debpkg with its own ed25519 key, aptly and reprepro with an ed25519 key through gpg).'
      : 'Signing skipped by all three (--skip-signing).',
    '',
    `### Ingest + publish ${N} packages`,
    '',
    '| tool | wall s | steps (s) | peak RSS | indexes in Release | vs best peer |',
    '|---|---|---|---|---|---|',
    ...ingestRows.map(
      (r) =>
        `| ${r.tool} | ${fmtS(r.seconds)} | ${r.parts.map(([k, v]) => `${k} ${fmtS(v)}`).join(', ')} | ${fmtMB(r.rssKiB)} | ${indexList(r.indexes)} | **${ratio(r.seconds / bestPeer)}** |`,
    ),
    '',
    `debpkg server start-up (not included above; first start, creates its signing key): ${fmtS(server.startSeconds)} s.`,
    `debpkg uploads over HTTP (multipart, ${BATCH} files per request, ${UPLOAD_CONCURRENCY} requests at a time) into one upload directory, then adds that directory and publishes; its RSS is the server process's VmHWM, reset after start-up.`,
    'aptly and reprepro read the files from local disk; their RSS is the largest of their processes (GNU time).',
    '',
    `### Add 1 package + publish into the ${N}-package repo (median of ${RUNS})`,
    '',
    `| tool | median s | runs (s) | steps (median s) | indexes in Release | vs ${rp1.tool} |`,
    '|---|---|---|---|---|---|',
    ...addRows.map(
      (r) =>
        `| ${r.tool} | ${fmtS(median(r.runs))} | ${r.runs.map(fmtS).join(', ')} | ${r.parts.map(([k, v]) => `${k} ${fmtS(v)}`).join(', ') || '—'} | ${indexList(r.indexes)} | **${ratio(median(r.runs) / median(rp1.runs))}** |`,
    ),
    `| debpkg, back-to-back | ${fmtS(median(dpBack.runs))} | ${dpBack.runs.map(fmtS).join(', ')} | ${dpBack.parts.map(([k, v]) => `${k} ${fmtS(v)}`).join(', ')} | ${indexList(dp1.indexes)} | ${ratio(median(dpBack.runs) / median(rp1.runs))} |`,
    ...(big
      ? [
          `| debpkg into ${10 * N} | ${fmtS(median(big.add.runs))} | ${big.add.runs.map(fmtS).join(', ')} | ${big.add.parts.map(([k, v]) => `${k} ${fmtS(v)}`).join(', ')} | ${indexList(big.add.indexes)} | **${ratio(median(big.add.runs) / median(rp1.runs))}** |`,
        ]
      : []),
    '',
    `Each run starts ${(PAUSE_MS / 1000).toFixed(1)} s after the previous one ended (untimed), for every tool: debpkg publishes a distribution at most once per wall-clock second (Release dates must increase), so the "back-to-back" row, with no pause, includes that wait. Each tool's series starts after an untimed \`sync\`, so it does not pay for the writeback of the bulk writes before it (its ingest, or another tool's series).`,
    ...(big
      ? [
          '',
          `debpkg ingest + publish of ${10 * N} packages: ${fmtS(big.ingest.seconds)} s (${big.ingest.parts.map(([k, v]) => `${k} ${fmtS(v)}`).join(', ')}), peak RSS ${fmtMB(big.ingest.rssKiB)}; its server start-up: ${fmtS(big.startSeconds)} s.`,
        ]
      : []),
    '',
    `### Static serving (wrk -t2 -c32 -d${WRK_SECONDS}s, 127.0.0.1)`,
    '',
    '| file | bytes | debpkg req/s | nginx req/s | ratio |',
    '|---|---|---|---|---|',
    ...statics.map(
      (s) => `| ${s.label} | ${s.bytes} | ${s.debpkg.rps.toFixed(0)} (${s.debpkg.transfer}/s) | ${s.nginx.rps.toFixed(0)} (${s.nginx.transfer}/s) | **${ratio(s.debpkg.rps / s.nginx.rps)}** |`,
    ),
    '',
    "nginx: 1 worker process (debpkg's server is one Node process), sendfile on, access_log off, serving debpkg's published dists/ tree and, for the pool file, a copy of the same .deb at its pool path (debpkg serves pool files straight from its blob store).",
    '',
    '### Goals',
    '',
    '| goal | measured | target | met |',
    '|---|---|---|---|',
    ...goals.map(([g, m, target, ok]) => `| ${g} | ${m} | ${target} | ${ok === undefined ? '—' : ok ? 'yes' : '**no**'} |`),
    '',
    'Commands (timed):',
    '',
    '```',
    `aptly -config=C repo create -distribution=${DIST} -component=main bench`,
    'aptly -config=C repo add bench DEBDIR',
    `aptly -config=C publish repo -architectures=amd64 -distribution=${DIST} -skip-contents ${SIGN ? '-batch -gpg-key=KEY' : '-skip-signing'} bench`,
    `aptly -config=C repo add bench ONE.deb && aptly -config=C publish update -skip-contents ${SIGN ? '-batch -gpg-key=KEY' : '-skip-signing'} ${DIST}`,
    `reprepro -b DIR --export=never includedeb ${DIST} *.deb && reprepro -b DIR export ${DIST}`,
    `reprepro -b DIR includedeb ${DIST} ONE.deb`,
    '```',
    '',
    `"indexes in Release" are the main/binary-amd64 files each tool's Release lists (reprepro lists the uncompressed Packages even when it does not write it). aptly is run with -skip-contents (debpkg writes no Contents either). reprepro runs twice, with \`DebIndices: Packages Release . .gz .xz\` and with \`DebIndices: Packages Release .gz\`${SIGN ? ' (both `SignWith: KEY`)' : ''}; each goal compares with the faster peer.`,
  ];
  const doc = join(ROOT, 'docs/benchmarks.md');
  const existing = await readFile(doc, 'utf8').catch(() => '');
  if (!existing.includes('<!-- repo:start -->')) {
    await appendFile(
      doc,
      '\n## repo server vs aptly and reprepro (`npm run bench:repo`)\n\n' +
        'Goals: ingest + publish 10k ≤ 0.5× the best of aptly/reprepro; add 1 + publish into 10k ≤ 1.0× reprepro; ' +
        'into 100k ≤ 1.5× the 10k figure; static req/s ≥ 0.5× nginx.\n',
    );
  }
  await updateSection(doc, 'repo', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
  if (profile) process.stdout.write(`\nCPU profile of debpkg's server during ingest (top self time):\n${profile.join('\n')}\n`);
  agent.destroy();
}

await main();
