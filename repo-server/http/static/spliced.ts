// Large published index files are splices (publish/spliced-files.ts): served under their own
// name and by-hash names, streamed part by part, with ranges and conditional requests.

import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { readSplice, splicedStream, SPLICE_SUFFIX } from '../../publish/spliced-files.js';
import { hashEtag } from './conditional.js';
import { contentTypeOf } from './fast-static.js';
import type { RangedFile } from './ranged.js';

/** The splice published as `path` (relative to the public root), if there is one. */
export async function splicedFile(publicDir: string, generationsDir: string, path: string): Promise<RangedFile | undefined> {
  // The same refusals as the static plugin: no dot segments or dotfiles, nothing outside the root.
  if (path.includes('\0') || /(^|\/)\./.test(path)) return undefined;
  const file = join(publicDir, path);
  if (!file.startsWith(publicDir + sep)) return undefined;
  return spliceAt(file + SPLICE_SUFFIX, generationsDir, path);
}

/** The splice whose descriptor is `descriptor` (a file of a generation), served as `path`. */
export async function spliceAt(descriptor: string, generationsDir: string, path: string): Promise<RangedFile | undefined> {
  const st = await stat(descriptor).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const splice = await readSplice(descriptor);
  return {
    size: splice.size,
    etag: hashEtag(splice.sha256),
    modified: st.mtime,
    contentType: contentTypeOf(path),
    name: path,
    open: (start, end) => splicedStream(generationsDir, splice, start, end),
  };
}
