// Hostile uploads through the real API of a server running as its own process: packages with
// a corrupt or truncated control or data member (gzip, xz, zstd, none; ~1 KB, ~9 MB, ~100 MB,
// so both the in-memory and the streaming readers) and decompression bombs (8 GiB of zeros
// in a few hundred KB to a few MB). Each must be a 400 JSON error naming the member, quickly,
// with the server still alive, no decompressor left running and its peak RSS under 300 MB.
// `debpkg inspect` must refuse the same inputs cleanly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildBomb, buildDeb, buildEntryBomb, corruptMember, truncateMember, type Kind } from '../support/hostile-debs.js';
import { CLI } from '../support/project.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const RSS_LIMIT_KB = 300 * 1024;
const MiB = 1 << 20;

let srv: ServerProcess | undefined;
let dir = '';
let uploads = 0;

test.before(async () => {
  dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-hostile-'));
});

// A server per test: one input that ends the process fails its own test, not the next ones.
test.before.each(async () => {
  srv = await startServerProcess();
  const r = await srv.api('POST', '/api/repos', { Name: 'hostile' });
  assert.is(r.status, 201, r.text);
});

test.after.each(async () => {
  await srv?.stop();
  srv = undefined;
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function server(): ServerProcess {
  if (!srv) throw new Error('no server');
  return srv;
}

/** Uploads and adds one file; the add's status and error text, or a failure showing the server's end. */
async function add(path: string): Promise<{ status: number; error: string; ms: number }> {
  const s = server();
  const up = `u${uploads++}`;
  const t0 = Date.now();
  try {
    const put = await s.api('PUT', `/api/files/${up}/${basename(path)}`, await readFile(path));
    assert.is(put.status, 200, `upload of ${basename(path)}: ${put.text}`);
    const r = await s.api('POST', `/api/repos/hostile/file/${up}`);
    const error = (r.json as { error?: unknown } | undefined)?.error;
    return { status: r.status, error: typeof error === 'string' ? error : r.text, ms: Date.now() - t0 };
  } catch (err) {
    throw new Error(`${basename(path)}: ${(err as Error).message}; server ${s.alive() ? 'alive' : `exited ${JSON.stringify(s.exit())}`}:\n${s.output().slice(-3000)}`);
  } finally {
    if (s.alive()) await s.api('DELETE', `/api/files/${up}`).catch(() => undefined);
  }
}

/** The add must be a 400 naming `member`, the server alive, no child left, RSS in bounds. */
async function refused(path: string, member: string, label: string): Promise<{ ms: number; error: string }> {
  const r = await add(path);
  const s = server();
  assert.ok(s.alive(), `${label}: the server exited ${JSON.stringify(s.exit())}:\n${s.output().slice(-3000)}`);
  assert.is(r.status, 400, `${label}: expected 400, got ${r.status} ${r.error}`);
  assert.ok(r.error.includes(`${member}: `), `${label}: error does not name ${member}: ${r.error}`);
  assert.is((await s.api('GET', '/api/version')).status, 200, `${label}: server does not answer`);
  // Decompressors of a refused package are stopped, not left to run to the end.
  for (let i = 0; i < 20 && s.childPids().length > 0; i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(s.childPids(), [], `${label}: processes left running`);
  assert.ok(s.peakRssKb() <= RSS_LIMIT_KB, `${label}: server peak RSS ${s.peakRssKb()} KiB > ${RSS_LIMIT_KB}`);
  return r;
}

async function damagedCases(kind: Kind, payload: number, members: ('control' | 'data')[]): Promise<void> {
  const deb = await buildDeb(dir, kind, payload);
  const tag = `${kind} ${(payload / MiB).toFixed(payload < MiB ? 3 : 0)} MiB`;
  for (const which of members) {
    const t = await truncateMember(deb, which, join(dir, `trunc-${which}-${basename(deb)}`));
    await refused(t.path, t.member, `${tag}: truncated ${t.member}`);
    // An uncompressed tar has no checksum over file contents: only truncation is detectable.
    if (kind !== 'none') {
      const c = await corruptMember(deb, which, join(dir, `corrupt-${which}-${basename(deb)}`));
      await refused(c.path, c.member, `${tag}: corrupt ${c.member}`);
    }
  }
  // The intact package still goes in: the checks refuse damage, not packages.
  const ok = await add(deb);
  assert.is(ok.status, 200, `${tag}: the intact package was refused: ${ok.error}`);
}

test('corrupt and truncated members at ~1 KB and ~9 MB: 400 naming the member, server alive', async () => {
  for (const kind of ['gzip', 'xz', 'zstd', 'none'] as const) {
    await damagedCases(kind, 300, ['control', 'data']);
    await damagedCases(kind, 9 * MiB, ['control', 'data']);
  }
});

test('corrupt and truncated data members at ~100 MB (gzip, zstd)', async () => {
  for (const kind of ['gzip', 'zstd'] as const) await damagedCases(kind, 100 * MiB, ['data']);
});

test('decompression bombs (8 GiB of zeros): 400 in seconds, peak RSS under 300 MB', async () => {
  for (const kind of ['zstd', 'xz', 'gzip'] as const) {
    const bomb = await buildBomb(dir, kind, 8 * 1024 * MiB);
    const r = await refused(bomb.path, bomb.member, `${kind} bomb`);
    assert.ok(r.ms < 20_000, `${kind} bomb took ${r.ms} ms`);
    assert.match(r.error, /unpacks to more than/, `${kind} bomb: ${r.error}`);
    console.log(`${kind} bomb (${basename(bomb.path)}): refused in ${r.ms} ms, server peak RSS ${server().peakRssKb()} KiB`);
  }
  const s = server();
  assert.ok(s.peakRssKb() <= RSS_LIMIT_KB, `server peak RSS ${s.peakRssKb()} KiB`);
});

test('many empty entries in a tiny upload: each entry counts 4 KiB of the budget, so the check stops early', async () => {
  // 100,000 headers are 51 MB: under the 64 MiB floor as bytes, 450 MB with the per-entry cost.
  const many = await buildEntryBomb(dir, 'zstd', 100_000);
  const r = await refused(many.path, many.member, 'entry bomb');
  assert.match(r.error, /unpacks to more than 64 MiB.*4096 bytes counted per entry, \d+ entries/);
  // 5,000 entries (20 MiB counted) is an ordinary package.
  const some = await buildEntryBomb(dir, 'zstd', 5_000);
  const ok = await add(some.path);
  assert.is(ok.status, 200, ok.error);
});

test('serve --max-unpacked and --max-unpack-ratio set the limits', async () => {
  // 12 MiB of random data: within the defaults, over a 10 MiB absolute cap.
  const random = await buildDeb(dir, 'gzip', 12 * MiB, 'limit-random');
  // 100 MiB of zeros in ~100 KiB: a ratio near 1000, over the default 200 above 64 MiB.
  const zeros = await buildDeb(dir, 'gzip', 100 * MiB, 'limit-zeros', 'zeros');
  const status = async (path: string): Promise<{ status: number; error: string }> => add(path);
  assert.is((await status(random)).status, 200);
  const z = await status(zeros);
  assert.is(z.status, 400, z.error);
  assert.match(z.error, /data\.tar\.gz: unpacks to more than/);
  await server().stop();
  srv = await startServerProcess({ args: ['--max-unpacked', '10M', '--max-unpack-ratio', '5000'] });
  assert.is((await server().api('POST', '/api/repos', { Name: 'hostile' })).status, 201);
  const r = await status(random);
  assert.is(r.status, 400, r.error);
  assert.match(r.error, /data\.tar\.gz: unpacks to more than 10 MiB/);
  assert.is((await status(zeros)).status, 400, 'over the 10 MiB cap whatever the ratio');
  await server().stop();
  srv = await startServerProcess({ args: ['--max-unpack-ratio', '5000'] });
  assert.is((await server().api('POST', '/api/repos', { Name: 'hostile' })).status, 201);
  const ok = await status(zeros);
  assert.is(ok.status, 200, ok.error);
});

test('debpkg inspect refuses a corrupt member and a bomb with a clear error and exit 2', async () => {
  const deb = await buildDeb(dir, 'zstd', 9 * MiB, 'inspect-zstd');
  const corrupt = await corruptMember(deb, 'data', join(dir, 'inspect-corrupt.deb'));
  const bomb = await buildBomb(dir, 'zstd', 8 * 1024 * MiB);
  for (const c of [corrupt, bomb]) {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, 'inspect', c.path], { maxBuffer: 16 << 20, timeout: 60_000 }, (_err, _out, stderr) =>
        resolve({ code: child.exitCode, stderr }),
      );
    });
    assert.is(r.code, 2, `${basename(c.path)}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^debpkg: error: .*${c.member.replace(/\./g, '\\.')}: `), r.stderr);
    assert.not.match(r.stderr, /Emitted 'error'|at .*\.js:\d+/, r.stderr);
  }
});

test.run();
