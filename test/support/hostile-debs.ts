// Hostile .deb files made with the real tools: packages built by dpkg-deb, then with one
// member corrupted or truncated (a valid ar around it, so the damage is inside the compressed
// stream), and decompression bombs (a tar of one huge file of zeros, compressed by the real
// gzip/xz/zstd without ever being written out: one compressed frame of zeros, repeated).

import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AR_MAGIC, encodeMemberHeader, memberPadding } from '../../deb/ar.js';
import { readArIndex } from '../../deb/reader.js';
import { encodeHeader } from '../../deb/tar.js';

const run = promisify(execFile);

export type Kind = 'gzip' | 'xz' | 'zstd' | 'none';
export type Which = 'control' | 'data';

/** A real package (dpkg-deb -Z<kind> -z1) carrying `payloadBytes` of random data (or zeros). */
export async function buildDeb(dir: string, kind: Kind, payloadBytes: number, name = `hostile-${kind}-${payloadBytes}`, fill: 'random' | 'zeros' = 'random'): Promise<string> {
  const root = join(dir, `${name}-root`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr/share', name), { recursive: true });
  await writeFile(join(root, 'DEBIAN/control'), `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: hostile input test\n`);
  await writeFile(join(root, 'usr/share', name, 'payload'), fill === 'random' ? randomBytes(payloadBytes) : Buffer.alloc(payloadBytes));
  const out = join(dir, `${name}.deb`);
  await run('dpkg-deb', [`-Z${kind}`, ...(kind === 'none' ? [] : ['-z1']), '--root-owner-group', '--build', root, out], { maxBuffer: 1 << 20 });
  return out;
}

interface Member {
  name: string;
  data: Buffer;
}

async function members(deb: string): Promise<Member[]> {
  const buf = await readFile(deb);
  return (await readArIndex(deb)).map((m) => ({ name: m.name, data: buf.subarray(m.offset, m.offset + m.size) }));
}

function arBytes(ms: Member[]): Buffer {
  const parts: Buffer[] = [AR_MAGIC];
  for (const m of ms) parts.push(encodeMemberHeader(m.name, m.data.length, 0), m.data, memberPadding(m.data.length));
  return Buffer.concat(parts);
}

const isMember = (which: Which) => (m: Member): boolean => m.name.startsWith(`${which}.tar`);

/** A copy of `deb` whose control or data member is changed by `change`; returns it and the member's name. */
async function withMember(deb: string, which: Which, out: string, change: (data: Buffer, name: string) => Buffer): Promise<{ path: string; member: string }> {
  const ms = await members(deb);
  const m = ms.find(isMember(which));
  if (!m) throw new Error(`${deb} has no ${which} member`);
  m.data = change(Buffer.from(m.data), m.name);
  await writeFile(out, arBytes(ms));
  return { path: out, member: m.name };
}

/** 4 bytes overwritten in the middle of the member (the ar framing stays valid). */
export function corruptMember(deb: string, which: Which, out: string): Promise<{ path: string; member: string }> {
  return withMember(deb, which, out, (d) => {
    const at = Math.max(0, Math.floor(d.length / 2) - 2);
    for (let i = 0; i < 4 && at + i < d.length; i++) d[at + i] = d[at + i]! ^ 0x5a;
    return d;
  });
}

/**
 * The member cut short, with an ar header that declares the shorter size: a compressed one at
 * half its length; an uncompressed tar just before its last non-zero byte (a cut inside the
 * zero padding at its end would leave a valid, shorter archive).
 */
export function truncateMember(deb: string, which: Which, out: string): Promise<{ path: string; member: string }> {
  return withMember(deb, which, out, (d, name) => {
    if (!name.endsWith('.tar')) return d.subarray(0, Math.floor(d.length / 2));
    let last = d.length - 1;
    while (last > 0 && d[last] === 0) last--;
    return d.subarray(0, last);
  });
}

const COMPRESS: Record<Exclude<Kind, 'none'>, string[]> = {
  gzip: ['gzip', '-9', '-c'],
  xz: ['xz', '-9', '-c', '-T2'],
  zstd: ['zstd', '-19', '--long=27', '-c', '-q'],
};

function compress(kind: Exclude<Kind, 'none'>, data: Buffer): Buffer {
  const [cmd, ...args] = COMPRESS[kind];
  const r = spawnSync(cmd!, args, { input: data, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const FRAME = 64 << 20;

/**
 * A package whose data.tar.<kind> is a tar of one file of zeros, unpacking to about
 * `unpackedBytes` (a multiple of 64 MiB): the tar header compressed as one frame, then one
 * frame of 64 MiB of zeros repeated (gzip, xz and zstd all read concatenated frames). The
 * file's size leaves the last 1024 zero bytes as the end-of-archive blocks. The control
 * member comes from a real dpkg-deb package.
 */
export async function buildBomb(dir: string, kind: Exclude<Kind, 'none'>, unpackedBytes: number): Promise<{ path: string; member: string }> {
  const frames = Math.max(1, Math.round(unpackedBytes / FRAME));
  const header = encodeHeader({ path: './usr/share/zeros', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0, size: frames * FRAME - 1024 });
  const zeros = compress(kind, Buffer.alloc(FRAME));
  const data = Buffer.concat([compress(kind, header), ...new Array<Buffer>(frames).fill(zeros)]);
  const base = await buildDeb(dir, kind, 16, `bomb-${kind}`);
  const ms = (await members(base)).filter((m) => !m.name.startsWith('data.tar'));
  const member = `data.tar${kind === 'gzip' ? '.gz' : kind === 'xz' ? '.xz' : '.zst'}`;
  ms.push({ name: member, data });
  const path = join(dir, `bomb-${kind}-${frames}.deb`);
  await writeFile(path, arBytes(ms));
  return { path, member };
}

/**
 * A package whose data.tar holds `entries` empty files (distinct names, headers only): many
 * entries in a tiny upload, the shape that makes a check parse headers rather than bytes.
 */
export async function buildEntryBomb(dir: string, kind: Exclude<Kind, 'none'>, entries: number): Promise<{ path: string; member: string }> {
  const headers: Buffer[] = [encodeHeader({ path: './usr/', type: 'directory', mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0, size: 0 })];
  for (let i = 0; i < entries; i++) {
    headers.push(encodeHeader({ path: `./usr/e${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 0, size: 0 }));
  }
  headers.push(Buffer.alloc(1024));
  const data = compress(kind, Buffer.concat(headers));
  const base = await buildDeb(dir, kind, 16, `entries-${kind}`);
  const ms = (await members(base)).filter((m) => !m.name.startsWith('data.tar'));
  const member = `data.tar${kind === 'gzip' ? '.gz' : kind === 'xz' ? '.xz' : '.zst'}`;
  ms.push({ name: member, data });
  const path = join(dir, `entries-${kind}-${entries}.deb`);
  await writeFile(path, arBytes(ms));
  return { path, member };
}
