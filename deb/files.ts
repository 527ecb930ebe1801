// File helpers shared by the builder and the repo server: digests of a file in one read,
// and the directory fsync that makes a rename durable.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

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

/** Makes a rename or link inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
