// The package pool: content-addressed by SHA-256, so identical uploads share one file and a
// file's name proves its content. Reference counting is derived from the metadata store.

import { readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { forEachLimit, fsyncDir, linkIfMissing } from './atomic.js';
import { link, mkdir } from 'node:fs/promises';

export class Pool {
  constructor(readonly dir: string) {}

  pathFor(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`invalid sha256 '${sha256}'`);
    return join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.deb`);
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.pathFor(sha256)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Puts verified, already durable files (uploads are fsynced when they land) into the pool as
   * hard links, so the sources stay until the caller has committed the metadata that names
   * them; each pool directory touched is fsynced once.
   */
  async adoptAll(files: { source: string; sha256: string }[]): Promise<void> {
    const dirs = new Set<string>();
    await forEachLimit(files, 16, async ({ source, sha256 }) => {
      const target = this.pathFor(sha256);
      // Link first: the directory usually exists, and EEXIST means the content is already pooled.
      try {
        await link(source, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return;
        if (code !== 'ENOENT') throw err;
        await mkdir(dirname(target), { recursive: true });
        await linkIfMissing(source, target);
      }
      dirs.add(dirname(target));
    });
    await forEachLimit([...dirs], 16, (d) => fsyncDir(d));
  }

  /** Adds a hard link of a pool file elsewhere (the published tree). */
  async linkTo(sha256: string, path: string): Promise<void> {
    await linkIfMissing(this.pathFor(sha256), path);
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathFor(sha256), { force: true });
  }

  /** Every sha256 in the pool (for garbage collection of files no record names). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const a of await readdir(this.dir).catch(() => [] as string[])) {
      for (const b of await readdir(join(this.dir, a)).catch(() => [] as string[])) {
        for (const f of await readdir(join(this.dir, a, b)).catch(() => [] as string[])) {
          const m = /^([0-9a-f]{64})\.deb$/.exec(f);
          if (m) out.push(m[1]!);
        }
      }
    }
    return out;
  }
}
