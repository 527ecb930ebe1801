// Findings on disk: each violating case as <dir>/s<seed>-c<case>.json (what was sent, what went
// wrong) next to <dir>/s<seed>-c<case>.deb (the exact bytes), so `--replay <json>` re-sends it
// without rebuilding the corpus or bombs.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FuzzCase } from './cases.js';
import type { Violation } from './invariants.js';

interface FindingFile {
  seed: number;
  caseNo: number;
  cls: FuzzCase['cls'];
  seedId: string;
  mutation: string;
  upload: { transport: 'put' | 'multipart'; dir: string; file: string; filenameBase64: string };
  bodyFile: string;
  violations: Violation[];
}

export async function saveFinding(dir: string, c: FuzzCase, violations: Violation[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const base = `s${c.seed}-c${c.caseNo}`;
  const meta: FindingFile = {
    seed: c.seed,
    caseNo: c.caseNo,
    cls: c.cls,
    seedId: c.seedId,
    mutation: c.mutation,
    upload: { transport: c.upload.transport, dir: c.upload.dir, file: c.upload.file, filenameBase64: c.upload.filename.toString('base64') },
    bodyFile: `${base}.deb`,
    violations,
  };
  await writeFile(join(dir, `${base}.deb`), c.body);
  const file = join(dir, `${base}.json`);
  await writeFile(file, JSON.stringify(meta, null, 2) + '\n');
  return file;
}

/** Saves a finding that belongs to no single case (publish, apt), as text. */
export async function saveRunFinding(dir: string, name: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

export async function loadFinding(file: string): Promise<FuzzCase> {
  const meta = JSON.parse(await readFile(file, 'utf8')) as FindingFile;
  const body = await readFile(join(file, '..', meta.bodyFile));
  return {
    seed: meta.seed,
    caseNo: meta.caseNo,
    cls: meta.cls,
    seedId: meta.seedId,
    mutation: meta.mutation,
    upload: { transport: meta.upload.transport, dir: meta.upload.dir, file: meta.upload.file, filename: Buffer.from(meta.upload.filenameBase64, 'base64') },
    body,
  };
}
