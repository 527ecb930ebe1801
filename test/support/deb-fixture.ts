// Small but valid binary packages, made in memory from the project's own format library:
// ar(debian-binary, control.tar.gz, data.tar.gz) with one tiny file under /usr/share/<name>/.
// Byte-for-byte reproducible (fixed mtimes, gzip without a timestamp), so a cached set can be
// reused across runs and by tests.

import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AR_MAGIC, encodeMemberHeader, memberPadding } from '../../deb/ar.js';
import { renderParagraph } from '../../deb/control.js';
import { encodeHeader, endOfArchive, paddingFor, type TarEntryType } from '../../deb/tar.js';

export interface FixtureOptions {
  name: string;
  version?: string;
  architecture?: string;
  /** Seconds since the epoch for every tar entry and ar member. */
  mtime?: number;
  /** Content of the one payload file (default: a line naming the package). */
  content?: string;
}

export const FIXTURE_MTIME = 1_700_000_000;

interface Entry {
  path: string;
  type: TarEntryType;
  data?: Buffer;
}

function tarGz(entries: Entry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const size = e.data?.length ?? 0;
    parts.push(
      encodeHeader({
        path: e.path,
        type: e.type,
        mode: e.type === 'directory' ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        mtime,
        size,
      }),
    );
    if (e.data) parts.push(e.data, paddingFor(size));
  }
  parts.push(endOfArchive());
  // zlib writes MTIME 0 in the gzip header, so the output depends on the input only.
  return gzipSync(Buffer.concat(parts), { level: 6 });
}

function arMember(name: string, data: Buffer, mtime: number): Buffer[] {
  return [encodeMemberHeader(name, data.length, mtime), data, memberPadding(data.length)];
}

/** The package file name Debian tools give it: name_version_arch.deb. */
export function debFileName(name: string, version = '1.0-1', architecture = 'amd64'): string {
  return `${name}_${version.replace(/^[0-9]+:/, '')}_${architecture}.deb`;
}

/** One .deb in memory. */
export function makeDeb(opts: FixtureOptions): Buffer {
  const version = opts.version ?? '1.0-1';
  const architecture = opts.architecture ?? 'amd64';
  const mtime = opts.mtime ?? FIXTURE_MTIME;
  const content = Buffer.from(opts.content ?? `${opts.name} ${version}: a benchmark fixture package.\n`);
  const control = renderParagraph([
    ['Package', opts.name],
    ['Version', version],
    ['Architecture', architecture],
    ['Maintainer', 'Bench <bench@example.org>'],
    ['Installed-Size', String(Math.max(1, Math.ceil(content.length / 1024)))],
    ['Section', 'misc'],
    ['Priority', 'optional'],
    ['Description', `benchmark fixture ${opts.name}\nA tiny generated package used to measure repository tools.`],
  ]);
  const controlTar = tarGz(
    [
      { path: './', type: 'directory' },
      { path: './control', type: 'file', data: Buffer.from(control) },
    ],
    mtime,
  );
  const share = `./usr/share/${opts.name}/`;
  const dataTar = tarGz(
    [
      { path: './', type: 'directory' },
      { path: './usr/', type: 'directory' },
      { path: './usr/share/', type: 'directory' },
      { path: share, type: 'directory' },
      { path: `${share}README`, type: 'file', data: content },
    ],
    mtime,
  );
  return Buffer.concat([
    AR_MAGIC,
    ...arMember('debian-binary', Buffer.from('2.0\n'), mtime),
    ...arMember('control.tar.gz', controlTar, mtime),
    ...arMember('data.tar.gz', dataTar, mtime),
  ]);
}

/** "bench-pkg-00001": at least five digits, so names sort in numeric order up to 99,999. */
export function fixtureName(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(5, '0')}`;
}

/**
 * Writes packages <prefix>-<first> ... <prefix>-<first+count-1> into dir (once: a ".ready"
 * marker with the count makes later calls free) and returns their paths in order.
 */
export async function ensureDebSet(dir: string, count: number, { prefix = 'bench-pkg', first = 1 } = {}): Promise<string[]> {
  const names = Array.from({ length: count }, (_, k) => fixtureName(prefix, first + k));
  const paths = names.map((n) => join(dir, debFileName(n)));
  const marker = join(dir, '.ready');
  const ready = await stat(marker).then(() => true, () => false);
  if (ready && (await readdir(dir)).filter((f) => f.endsWith('.deb')).length === count) return paths;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const BATCH = 256;
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(names.slice(i, i + BATCH).map((n, k) => writeFile(paths[i + k]!, makeDeb({ name: n }))));
  }
  await writeFile(marker, `${count}\n`);
  return paths;
}
