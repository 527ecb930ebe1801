// The Sources index of a component: <component>/source/Sources (.gz, .xz), written when the
// distribution's architectures include "source" (given, or derived from source packages as
// aptly does). A stanza is the .dsc's fields (Source renamed Package), Directory (where the
// pool keeps the package's files) and the file lists with our own digests.
//
// Source packages are few next to binaries, so the index is rendered whole each time it
// changes; what stays cheap is deciding that it did not: the component's list is scanned for
// source records only from where the last scan ended when it only grew.

import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { createCompressor } from '../../deb/compression.js';
import { sourceFileLists } from '../packages/source-package.js';
import { recordFiles, type PackageRecord } from '../storage/records.js';
import { extendsArray } from './append-only.js';
import type { FileDigest, IndexPublish, IndexTarget, IndexType, PreparedIndex, WrittenIndex } from './index-type.js';

/** Part of every digest: changed when a stanza is rendered differently. */
const INDEX_FORMAT = 'sources-v1';

export class SourcesIndexRenderError extends Error {}

/**
 * One Sources stanza. Every value comes from a record checked at add (packages/dsc.ts); a
 * record that is not a source package, or a file name that would break the stanza, is refused
 * here rather than written.
 */
export function sourcesStanza(p: PackageRecord, directory: string): string {
  if (!p.sourceFiles || p.architecture !== 'source') throw new SourcesIndexRenderError(`${p.key}: not a source package`);
  for (const f of recordFiles(p)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/.test(f.filename)) throw new SourcesIndexRenderError(`${p.key}: refusing to write the file name '${JSON.stringify(f.filename).slice(1, -1)}'`);
  }
  const lists = sourceFileLists(p.sourceFiles).map(([field, value]) => `${field}:${value}`);
  return `${p.control.trimEnd()}\nDirectory: ${directory}\n${lists.join('\n')}\n`;
}

interface Input {
  pkgs: PackageRecord[];
  selected: PackageRecord[];
}

async function writeXz(text: Buffer, path: string): Promise<void> {
  await pipeline(Readable.from([text]), createCompressor({ kind: 'xz', level: 6 }), createWriteStream(path));
}

const digestOf = (buf: Buffer): FileDigest => ({
  size: buf.length,
  sha256: createHash('sha256').update(buf).digest('hex'),
  sha512: createHash('sha512').update(buf).digest('hex'),
});

export class SourcesIndex implements IndexType {
  readonly name = 'Sources';
  readonly directoryRelease = true;
  /** Per distribution, component and pool area: the last input and its source records. */
  private readonly inputs = new Map<string, Input>();

  architectures(distribution: string[]): string[] {
    return distribution.includes('source') ? ['source'] : [];
  }

  dir(component: string): string {
    return `${component}/source`;
  }

  key(component: string): string {
    return this.dir(component);
  }

  prepare(t: IndexTarget, pub: IndexPublish): PreparedIndex {
    const selected = this.select(`${pub.genRoot}\0${t.component}\0${t.area}`, t.packages);
    const digest = createHash('sha256').update(`${INDEX_FORMAT}\0${pub.compressXz}\0${t.area}`);
    // The Directory of each: where the pool serves its files (a ForceOverwrite rebuild: beside the first build).
    const dirs = selected.map((p) => t.dirOf(p));
    for (const [i, p] of selected.entries()) digest.update(`\0${p.key}\0${dirs[i]!}`);
    return { digest: digest.digest('hex'), write: (absDir) => this.write(selected, dirs, absDir, pub) };
  }

  private async write(selected: PackageRecord[], dirs: string[], absDir: string, pub: IndexPublish): Promise<WrittenIndex> {
    const text = Buffer.from(selected.map((p, i) => sourcesStanza(p, dirs[i]!)).join('\n'));
    const out: WrittenIndex = { names: [], digests: {}, listed: {}, written: [] };
    const put = async (name: string, bytes: Buffer): Promise<void> => {
      await writeFile(join(absDir, name), bytes, { flag: 'wx' });
      out.names.push(name);
      out.digests[name] = digestOf(bytes);
      out.written.push(join(absDir, name));
    };
    await put('Sources', text);
    await put('Sources.gz', gzipSync(text, { level: 9 }));
    if (pub.compressXz) {
      await writeXz(text, join(absDir, 'Sources.xz'));
      out.names.push('Sources.xz');
      out.written.push(join(absDir, 'Sources.xz'));
    }
    return out;
  }

  /** The component's source records, in order; a list that only grew is scanned from its old end. */
  private select(key: string, pkgs: PackageRecord[]): PackageRecord[] {
    const prev = this.inputs.get(key);
    const isSource = (p: PackageRecord): boolean => p.architecture === 'source';
    const selected = prev && extendsArray(prev.pkgs, pkgs) ? prev.selected.concat(pkgs.slice(prev.pkgs.length).filter(isSource)) : pkgs.filter(isSource);
    this.inputs.set(key, { pkgs, selected });
    return selected;
  }

  forget(genRoot: string): void {
    for (const key of [...this.inputs.keys()]) if (key.startsWith(`${genRoot}\0`)) this.inputs.delete(key);
  }
}
