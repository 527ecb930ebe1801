// Records what real nfpm produces for each ported config (test/fixtures/nfpm/nfpm-results.json),
// so CI, which cannot build nfpm, still checks debpkg against nfpm's actual packages
// (test/integration/nfpm-recorded.test.ts). Run after bench/build-nfpm.sh:
//   node dist/bench/record-nfpm.js [path/to/nfpm]      (default bench/.bin/nfpm, or $NFPM)
// A config nfpm refuses or crashes on is recorded with its error, which is a result too.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { summariseDeb } from '../test/support/deb-summary.js';
import { configKey, NFPM_CONFIGS, NFPM_ENV, NFPM_FIXTURES, NFPM_RESULTS, type NfpmResults } from '../test/support/nfpm-config-list.js';
import { REPO_ROOT } from '../test/support/project.js';

const execFileP = promisify(execFile);

async function main(): Promise<void> {
  const nfpm = process.argv[2] ?? process.env.NFPM ?? join(REPO_ROOT, 'bench/.bin/nfpm');
  const work = await mkdtemp(join(tmpdir(), 'record-nfpm-'));
  const results: NfpmResults = { nfpm: `${process.env.NFPM_VERSION ?? 'v2.41.1'} (deb packager built by bench/build-nfpm.sh)`, configs: {} };
  try {
    for (const c of NFPM_CONFIGS) {
      const deb = join(work, 'out.deb');
      try {
        await execFileP(nfpm, ['package', '-f', c.config, '-p', 'deb', '-t', deb], {
          cwd: join(NFPM_FIXTURES, c.cwd),
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...NFPM_ENV },
        });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        // First line only: a Go panic's goroutine dump names build paths.
        const first = (e.stderr ?? e.message).split('\n').find((l) => l.trim() !== '' && !/DEPRECATION/.test(l)) ?? e.message;
        results.configs[configKey(c)] = { error: first.trim() };
      }
      // outside the try: a package dpkg-deb cannot read is this script's failure, not nfpm's result
      if (!results.configs[configKey(c)]) results.configs[configKey(c)] = { summary: await summariseDeb(deb) };
      await rm(deb, { force: true });
      const r = results.configs[configKey(c)]!;
      process.stderr.write(`${configKey(c)}: ${'error' in r ? `nfpm fails: ${r.error}` : 'built'}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  // nfpm's own signed packages, verified by test/integration/deb-signature.test.ts like debpkg's
  for (const method of ['debsign', 'dpkg-sig']) {
    const deb = join(NFPM_FIXTURES, `signing/nfpm-${method}.deb`);
    await execFileP(nfpm, ['package', '-f', `signing/${method}-primary.yaml`, '-p', 'deb', '-t', deb], { cwd: NFPM_FIXTURES });
    process.stderr.write(`wrote ${deb}\n`);
  }
  await writeFileAtomic(NFPM_RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`wrote ${NFPM_RESULTS}\n`);
}

await main();
