// Data directories written before the blob store (pool/ab/cd/<sha>.deb files and real upload
// directories) are moved over once, at start-up: pool files become loose blobs, upload files
// become blobs plus manifest entries. Each step commits before the old file goes, so a crash
// midway is finished by the next start.

import { link, mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { digestFile } from '../../lib/digests.js';
import type { BlobStore } from '../storage/blobs.js';
import type { BlobIndex, MetadataJournal } from '../storage/interfaces.js';
import type { Op } from '../storage/records.js';

async function linkOver(from: string, to: string): Promise<void> {
  await link(from, to).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

export async function migrateLegacyLayout(store: BlobIndex & MetadataJournal, blobs: BlobStore, dataDir: string): Promise<number> {
  let moved = 0;
  // pool/ab/cd/<sha>.deb → pool/ab/<sha>
  for (const a of await readdir(blobs.looseDir).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(a)) continue;
    for (const b of await readdir(join(blobs.looseDir, a), { withFileTypes: true })) {
      if (!b.isDirectory()) continue;
      const dir = join(blobs.looseDir, a, b.name);
      for (const f of await readdir(dir)) {
        const m = /^([0-9a-f]{64})\.deb$/.exec(f);
        if (!m) continue;
        const sha = m[1]!;
        if (!store.blobs.has(sha)) {
          const { size } = await digestFile(join(dir, f), []);
          await linkOver(join(dir, f), blobs.loosePath(sha));
          await store.commit([{ op: 'loose', sha256: sha, size }]);
          moved++;
        }
        await rm(join(dir, f), { force: true });
      }
      await rmdir(dir).catch(() => undefined);
    }
  }
  // upload/<dir>/<file> → blobs + manifest
  const uploadDir = join(dataDir, 'upload');
  for (const d of await readdir(uploadDir).catch(() => [] as string[])) {
    const ops: Op[] = [];
    const files: [string, string][] = [];
    for (const f of await readdir(join(uploadDir, d)).catch(() => [] as string[])) {
      if (f.startsWith('.')) continue; // temp files of unfinished uploads
      const path = join(uploadDir, d, f);
      const { size, sha256 } = await digestFile(path, ['sha256']);
      if (!store.blobs.has(sha256)) {
        await mkdir(dirname(blobs.loosePath(sha256)), { recursive: true });
        await linkOver(path, blobs.loosePath(sha256));
        ops.push({ op: 'loose', sha256, size });
      }
      files.push([f, sha256]);
      moved++;
    }
    if (files.length > 0) await store.commit([...ops, { op: 'up', dir: d, files }]);
    await rm(join(uploadDir, d), { recursive: true, force: true });
  }
  await rmdir(uploadDir).catch(() => undefined);
  return moved;
}
