// The end-of-run check by real apt: publish every accepted package (one repo, one
// distribution, amd64 + all + whatever else was accepted), point a bookworm and a trixie
// fleet node at it, `apt-get update` must pass cleanly, and a sample of accepted packages is
// installed by exact version. The invariant for an install: it succeeds, or apt's resolver
// refuses it for dependency reasons before anything is downloaded or unpacked (an accepted
// package may legitimately depend on what does not exist). A download that fails its hashes,
// a dpkg that refuses to unpack, a version apt cannot find: those are findings.

import { FleetNode, SUITES, type Suite } from '../test/support/fleet-node.js';
import { send, sendJson, type Target } from './client.js';
import { REPO, type Accepted } from './harness.js';
import type { Violation } from './invariants.js';
import { Rng } from './prng.js';

export const DIST = 'fuzz';

export interface AptResult {
  violations: Violation[];
  installed: number;
  dependencyRefusals: number;
  sampled: number;
  suites: Suite[];
}

const RESOLVER = /Unmet dependencies|is not installable|but it is not going to be installed|Unable to correct problems|held broken packages|but .* is to be installed|Conflicts: |Breaks: /;
const PAST_RESOLVER = /dpkg(-deb)?: error|Sub-process .* returned an error|Hash Sum mismatch|unexpected size|Failed to fetch|corrupted|Errors were encountered|was not found|Unable to locate package|Couldn't find any package/i;

export function isDependencyRefusal(output: string): boolean {
  return RESOLVER.test(output) && !PAST_RESOLVER.test(output);
}

function sample(accepted: readonly Accepted[], n: number, seed: number): Accepted[] {
  const installable = accepted.filter((a) => a.architecture === 'amd64' || a.architecture === 'all');
  const rng = new Rng(seed, 0x0a97);
  const pool = [...installable];
  const out: Accepted[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(pool.length), 1)[0]!);
  return out;
}

// Bounded: bookworm's apt-get spins after a failed dpkg --unpack instead of exiting (seen with a
// package dpkg refused); a stopped apt-get (exit 124) is a finding like any other failure.
const aptGet = (node: FleetNode, args: string[]) =>
  node.run(['apt-get', '-q', '-y', '-o', 'APT::Get::Always-Include-Phased-Updates=true', ...args], { allowFail: true, timeoutMs: 120_000 });

/** Packages apt names in its complaints: "dependency 41 of NAME:ARCH=VERSION", "for package 'NAME'". */
export function culprits(text: string): { name: string; version?: string }[] {
  const out = new Map<string, { name: string; version?: string }>();
  for (const m of text.matchAll(/ of ([a-z0-9][^:\s]*):[^=\s]+=(\S+)/g)) out.set(`${m[1]}=${m[2]}`, { name: m[1]!, version: m[2]! });
  for (const m of text.matchAll(/for package '([^']+)'/g)) out.set(m[1]!, { name: m[1]! });
  return [...out.values()];
}

/** Removes packages apt choked on from the repo and re-publishes; false when that did not work. */
async function dropAndRepublish(t: Target, bad: { name: string; version?: string }[]): Promise<boolean> {
  const refs: string[] = [];
  for (const b of bad) {
    const q = b.version ? `Name (= ${b.name}), $Version (= ${b.version})` : `Name (= ${b.name})`;
    const r = await send(t, 'GET', `/api/repos/${REPO}/packages?q=${encodeURIComponent(q)}`);
    if (r.status === 200) refs.push(...(JSON.parse(r.text) as string[]));
  }
  if (refs.length === 0) return false;
  const del = await sendJson(t, 'DELETE', `/api/repos/${REPO}/packages`, { PackageRefs: refs });
  const pub = await sendJson({ ...t, timeoutMs: 120_000 }, 'PUT', `/api/publish/:./${DIST}`, {});
  return del.status === 200 && pub.status === 200;
}

/** Rounds of "apt-get update, drop what it names, re-publish" before giving up on a suite. */
const UPDATE_ROUNDS = 6;

async function checkSuite(suite: Suite, t: Target, picks: Accepted[], res: AptResult, log: (s: string) => void): Promise<void> {
  const node = await FleetNode.create(suite);
  try {
    await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${t.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
    await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${t.url}/${DIST}.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
    // Each package that breaks `apt-get update` is a finding of its own: name it, drop it from
    // the repo and try again, so one bad package does not hide the next or the install check.
    for (let round = 0; ; round++) {
      const up = await aptGet(node, ['update']);
      const upText = up.stdout + up.stderr;
      if (up.code === 0 && !/^(E|W): /m.test(upText)) break;
      const bad = culprits(upText);
      const names = bad.map((b) => `${b.name.slice(0, 60)}${b.version ? `=${b.version}` : ''}`).join(', ');
      res.violations.push({ kind: 'apt-update', detail: `[${suite}] apt-get update exited ${up.code}${names ? ` on accepted ${names}` : ''}:\n${upText.split('\n').filter((l) => /^(E|W|Err):? /.test(l)).slice(0, 10).join('\n')}` });
      if (round + 1 >= UPDATE_ROUNDS || bad.length === 0 || !(await dropAndRepublish(t, bad))) return;
      for (let i = picks.length - 1; i >= 0; i--) if (bad.some((b) => b.name === picks[i]!.name && (!b.version || b.version === picks[i]!.version))) picks.splice(i, 1);
    }
    for (const p of picks) {
      // Earlier picks may have left a newer version of a dependency installed: going back is the harness's doing.
      const r = await aptGet(node, ['install', '--no-install-recommends', '--allow-downgrades', `${p.name}=${p.version}`]);
      const text = r.stdout + r.stderr;
      if (r.code === 0) {
        res.installed++;
        await node.run(['dpkg', '--purge', p.name], { allowFail: true });
      } else if (isDependencyRefusal(text)) {
        res.dependencyRefusals++;
      } else {
        const lines = text.split('\n').filter((l) => /^(E|W): |dpkg|error/i.test(l)).slice(0, 12).join('\n');
        res.violations.push({ kind: 'apt-install', detail: `[${suite}] accepted ${p.name.slice(0, 60)}=${p.version} (${p.architecture}, case ${p.caseNo}) fails to install (exit ${r.code}):\n${lines}` });
        // Leave the node usable for the next package.
        await node.run(['dpkg', '--purge', '--force-all', p.name], { allowFail: true });
      }
    }
    log(`apt [${suite}]: update ok, ${picks.length} installs tried`);
  } finally {
    await node.destroy();
  }
}

export async function aptCheck(t: Target, accepted: readonly Accepted[], opts: { sample: number; seed: number; log: (s: string) => void }): Promise<AptResult> {
  const res: AptResult = { violations: [], installed: 0, dependencyRefusals: 0, sampled: 0, suites: [] };
  const arches = [...new Set(['amd64', 'all', ...accepted.map((a) => a.architecture)])].sort();
  const pub = await sendJson({ ...t, timeoutMs: 120_000 }, 'POST', '/api/publish/:.', { SourceKind: 'local', Sources: [{ Name: REPO }], Distribution: DIST, Architectures: arches });
  if (pub.status !== 201) {
    res.violations.push({ kind: 'publish', detail: `publishing ${accepted.length} accepted packages (${arches.join(' ')}) answered ${pub.status || pub.error}: ${pub.text.slice(0, 500)}` });
    return res;
  }
  const picks = sample(accepted, opts.sample, opts.seed);
  res.sampled = picks.length;
  for (const suite of SUITES) {
    await checkSuite(suite, t, picks, res, opts.log);
    res.suites.push(suite);
  }
  return res;
}
