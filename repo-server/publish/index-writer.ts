// The index files of a new generation: for each component × architecture × index type
// (index-types.ts), the previous generation's files when the index is unchanged (hard links,
// no rendering or compression), else freshly written ones; the per-directory Release; the
// by-hash names. Returns what the Release lists and the manifest records.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFile } from '../../lib/digests.js';
import { linkIfMissing } from '../../lib/fs-atomic.js';
import type { PackageRecord } from '../storage/store.js';
import { linkByHash, type ByHashEntry } from './by-hash.js';
import { renderComponentRelease, type IndexFileHash } from './indexes.js';
import type { FileDigest, IndexPublish, IndexType } from './index-type.js';
import { SPLICE_SUFFIX } from './spliced-files.js';

/** One index as the manifest records it: a digest of its content, its files and their digests. */
export interface ManifestIndex {
  digest: string;
  names: string[];
  files?: Record<string, FileDigest>;
  listed?: Record<string, FileDigest>;
}

/** What the per-directory Release files say (the distribution's fields). */
export interface DirectoryReleaseFields {
  archive: string;
  origin: string;
  label: string;
  acquireByHash: boolean;
}

export interface IndexWriteInput {
  types: readonly IndexType[];
  components: Map<string, PackageRecord[]>;
  architectures: string[];
  /** The component's pool area (MultiDist: <dist>/<component>). */
  area(component: string): string;
  /** Where the pool serves a package's files, once the publish's pool additions are recorded. */
  dirOf(area: string, p: PackageRecord): string;
  release: DirectoryReleaseFields;
  genDir: string;
  generation: number;
  now: number;
  /** The live generation's directory and manifest indexes, if there is one. */
  previous?: { dir: string; indexes: Record<string, ManifestIndex> };
  publish: IndexPublish;
}

export interface WrittenIndexes {
  /** Every file the Release lists, by path under dists/<dist>. */
  files: IndexFileHash[];
  /** Absolute paths of the files written (the rest are hard links to durable files). */
  written: string[];
  byHash: ByHashEntry[];
  indexes: Record<string, ManifestIndex>;
  /** To call once the generation is durable. */
  durable: (() => void)[];
}

export async function writeIndexes(input: IndexWriteInput): Promise<WrittenIndexes> {
  const { genDir, release } = input;
  const out: WrittenIndexes = { files: [], written: [], byHash: [], indexes: {}, durable: [] };
  for (const [component, packages] of input.components) {
    for (const type of input.types) {
      if (type.wanted && !type.wanted(packages)) continue;
      for (const architecture of type.architectures(input.architectures)) {
        const dir = type.dir(component, architecture);
        const key = type.key(component, architecture);
        const absDir = join(genDir, dir);
        await mkdir(absDir, { recursive: true });
        const area = input.area(component);
        const prepared = type.prepare({ component, architecture, area, packages, dirOf: (p) => input.dirOf(area, p) }, input.publish);
        const reused = input.previous?.indexes[key];
        let names: string[];
        let digests: Record<string, FileDigest>;
        let listed: Record<string, FileDigest>;
        if (input.previous && reused?.digest === prepared.digest) {
          // Unchanged since the last generation: reuse its files (hard links, no recompression).
          ({ names } = reused);
          digests = reused.files ?? {};
          listed = reused.listed ?? {};
          for (const n of names) await linkIfMissing(join(input.previous.dir, dir, n), join(absDir, n));
        } else {
          const w = await prepared.write(absDir);
          ({ names, digests, listed } = w);
          out.written.push(...w.written);
          if (w.durable) out.durable.push(w.durable);
        }
        const fileDigests: Record<string, FileDigest> = {};
        const shipped = [...names];
        if (type.directoryRelease) {
          out.written.push(join(absDir, 'Release'));
          await writeFile(join(absDir, 'Release'), renderComponentRelease({ ...release, component, architecture }));
          shipped.push('Release');
        }
        for (const n of shipped) {
          const d = (n !== 'Release' ? digests[n] : undefined) ?? (await digestFile(join(absDir, n), ['sha256', 'sha512']));
          // A splice is published under the file's own name; on disk it is `<name>.parts`.
          const published = n.endsWith(SPLICE_SUFFIX) ? n.slice(0, -SPLICE_SUFFIX.length) : n;
          out.files.push({ path: `${dir}/${published}`, size: d.size, sha256: d.sha256, sha512: d.sha512 });
          if (n === 'Release') continue;
          fileDigests[n] = { size: d.size, sha256: d.sha256, sha512: d.sha512 };
          if (release.acquireByHash) out.byHash.push(...(await linkByHash(genDir, dir, n, d, input.generation, input.now)));
        }
        for (const [n, d] of Object.entries(listed)) out.files.push({ path: `${dir}/${n}`, ...d });
        out.indexes[key] = { digest: prepared.digest, names, files: fileDigests, ...(Object.keys(listed).length > 0 ? { listed } : {}) };
      }
    }
  }
  return out;
}
