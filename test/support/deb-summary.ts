// What a .deb says, as dpkg-deb reads it, for comparing two builders' packages of one config:
// entries (mode, owner, symlink target), conffiles, control fields, control.tar members and the
// ar members. Shared by bench/record-nfpm.ts (which records real nfpm's packages) and the test
// that checks debpkg's packages against that record, so both sides are read the same way.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface DebSummary {
  /** path → "mode owner[ -> target]" from `dpkg-deb -c`; directories end in '/'. */
  entries: Record<string, string>;
  conffiles: string[];
  /** Control fields as written (continuation lines joined with '\n'). */
  control: Record<string, string>;
  /** control.tar members besides control, md5sums and conffiles (scripts, triggers, debconf). */
  controlMembers: string[];
  /** ar members in order. */
  members: string[];
}

async function out(cmd: string, args: string[]): Promise<string> {
  return (await execFileP(cmd, args, { maxBuffer: 64 << 20, encoding: 'utf8' })).stdout;
}

export function parseControl(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (/^[ \t]/.test(line) && last !== undefined) fields[last] += `\n${line}`;
    else {
      const m = /^([^:\s]+):[ \t]*(.*)$/.exec(line);
      if (!m) throw new Error(`not a control line: ${line}`);
      last = m[1]!;
      fields[last] = m[2]!;
    }
  }
  return fields;
}

function arMembers(deb: Buffer): string[] {
  const names: string[] = [];
  for (let off = 8; off + 60 <= deb.length; ) {
    const head = deb.subarray(off, off + 60).toString('latin1');
    names.push(head.slice(0, 16).trimEnd().replace(/\/$/, ''));
    const size = Number(head.slice(48, 58).trim());
    off += 60 + size + (size % 2);
  }
  return names;
}

export async function summariseDeb(deb: string): Promise<DebSummary> {
  const entries: Record<string, string> = {};
  for (const line of (await out('dpkg-deb', ['-c', deb])).split('\n')) {
    if (line === '') continue;
    const m = /^(\S+) (\S+)\s+\d+ \S+ \S+ \.(\/\S*)(?: -> (.*))?$/.exec(line);
    if (!m) throw new Error(`unexpected dpkg-deb -c line: ${line}`);
    entries[m[3]!] = `${m[1]} ${m[2]}${m[4] !== undefined ? ` -> ${m[4]}` : ''}`;
  }
  const ctrlList = (await out('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -t', 'sh', deb])).trim().split('\n');
  const names = ctrlList.map((n) => n.replace(/^\.\//, '')).filter((n) => n !== '' && n !== '.');
  const conffiles = names.includes('conffiles')
    ? (await out('dpkg-deb', ['-I', deb, 'conffiles'])).split('\n').filter((l) => l.trim() !== '')
    : [];
  return {
    entries,
    conffiles: conffiles.sort(),
    control: parseControl(await out('dpkg-deb', ['-f', deb])),
    controlMembers: names.filter((n) => !['control', 'md5sums', 'conffiles'].includes(n)).sort(),
    members: arMembers(await readFile(deb)),
  };
}

/** Every way `ours` differs from `theirs`, one line each, in a stable order. */
export function diffSummaries(theirs: DebSummary, ours: DebSummary): string[] {
  const d: string[] = [];
  for (const p of new Set([...Object.keys(theirs.entries), ...Object.keys(ours.entries)])) {
    const a = theirs.entries[p];
    const b = ours.entries[p];
    if (a === b) continue;
    d.push(a === undefined ? `entry ${p}: only debpkg (${b})` : b === undefined ? `entry ${p}: only nfpm (${a})` : `entry ${p}: nfpm ${a}, debpkg ${b}`);
  }
  for (const f of theirs.conffiles.filter((x) => !ours.conffiles.includes(x))) d.push(`conffile ${f}: only nfpm`);
  for (const f of ours.conffiles.filter((x) => !theirs.conffiles.includes(x))) d.push(`conffile ${f}: only debpkg`);
  for (const k of new Set([...Object.keys(theirs.control), ...Object.keys(ours.control)])) {
    const a = theirs.control[k];
    const b = ours.control[k];
    if (a === b) continue;
    d.push(a === undefined ? `control ${k}: only debpkg (${b})` : b === undefined ? `control ${k}: only nfpm (${a})` : `control ${k}: nfpm '${a}', debpkg '${b}'`);
  }
  for (const m of theirs.controlMembers.filter((x) => !ours.controlMembers.includes(x))) d.push(`control.tar ${m}: only nfpm`);
  for (const m of ours.controlMembers.filter((x) => !theirs.controlMembers.includes(x))) d.push(`control.tar ${m}: only debpkg`);
  // Member names differ by compression suffix only where the config leaves it to the builder.
  const kinds = (s: DebSummary): string => s.members.map((m) => m.replace(/\.(gz|xz|zst)$/, '')).join(',');
  if (kinds(theirs) !== kinds(ours)) d.push(`ar members: nfpm ${theirs.members.join(',')}, debpkg ${ours.members.join(',')}`);
  return d.sort();
}
