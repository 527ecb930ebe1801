// The dists/ tree of a group whose generations live on an object store
// (publish/remote-generations.ts): the live generation is the publish record's, read once per
// request from this server's watched copy of the metadata, and every file of the answer comes
// from this server's verified local copy of that one generation. A request never mixes two
// generations, and a generation is served only once it is whole here.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteGenerations } from '../../publish/remote-generations.js';
import { SPLICE_SUFFIX } from '../../publish/spliced-files.js';
import type { MetadataStore } from '../../storage/interfaces.js';
import { weakEtag } from './conditional.js';
import { contentTypeOf } from './fast-static.js';
import type { RangedFile } from './ranged.js';
import { spliceAt } from './spliced.js';

/** The published distribution a path is under (the longest prefix wins) and the rest of it. */
function distributionOf(store: Pick<MetadataStore, 'publishes'>, path: string): { prefix: string; distribution: string; generation: number; rest: string } | undefined {
  let best: { prefix: string; distribution: string; generation: number; rest: string } | undefined;
  let bestLen = -1;
  for (const rec of store.publishes.values()) {
    const head = `${rec.prefix === '.' ? '' : rec.prefix + '/'}dists/${rec.distribution}/`;
    if (path.startsWith(head) && head.length > bestLen) {
      bestLen = head.length;
      // Read once: a publish committed while this request runs does not change its answer.
      best = { prefix: rec.prefix, distribution: rec.distribution, generation: rec.generation, rest: path.slice(head.length) };
    }
  }
  return best;
}

/** The file `path` names in the live generation, or undefined (404). */
export async function remoteDistsFile(store: Pick<MetadataStore, 'publishes'>, remote: RemoteGenerations, generationsDir: string, path: string): Promise<RangedFile | undefined> {
  if (path.includes('\0') || /(^|\/)\.|\/\//.test(path)) return undefined;
  const d = distributionOf(store, path);
  if (!d || d.generation <= 0 || d.rest === '' || d.rest.endsWith(SPLICE_SUFFIX)) return undefined;
  const dir = await remote.ensure(d, d.generation);
  const file = join(dir, d.rest);
  const st = await stat(file).catch(() => undefined);
  if (st?.isFile()) {
    return {
      size: st.size,
      // The same weak validator as the directory path's (fast-static.ts), from the listed mtime.
      etag: weakEtag(st),
      modified: st.mtime,
      contentType: contentTypeOf(path),
      name: path,
      open: (start, end) => createReadStream(file, { start, end }),
    };
  }
  return spliceAt(file + SPLICE_SUFFIX, generationsDir, path);
}
