// File digests for the builder (the .deb's own checksums) and the repo server (pool files,
// indexes): size and every requested hash in one streaming read.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type DigestAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** Size and hex digests of a file, all computed in one streaming read. */
export async function digestFile<A extends DigestAlgorithm>(path: string, algorithms: readonly A[]): Promise<{ size: number } & Record<A, string>> {
  const hashes = algorithms.map((a) => createHash(a));
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 256 << 10 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    for (const h of hashes) h.update(buf);
  }
  const out = { size } as { size: number } & Record<A, string>;
  algorithms.forEach((a, i) => {
    (out as Record<string, string | number>)[a] = hashes[i]!.digest('hex');
  });
  return out;
}
