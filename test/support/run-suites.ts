// uvu's own run of a directory of suites (what `uvu <dir> [pattern]` does), plus what uvu leaves
// out: a suite that leaves a child process running (a server its before hook had started when
// the hook failed) keeps Node alive after the counts are printed, and the CI then waited on it
// until its own time limit. Once uvu is done, children still running 30 s later are named and
// killed with the resources still open, and the run fails (30 s: longer than any bound a test
// may leave ticking, far shorter than a hung CI).
//
// Usage: node dist/test/support/run-suites.js <dir> [pattern]

import { execFileSync } from 'node:child_process';
import { parse } from 'uvu/parse';
import { run } from 'uvu/run';

const [dir, pattern] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: run-suites.js <dir> [pattern]\n');
  process.exit(2);
}
const { suites } = await parse(dir, pattern, { cwd: process.cwd() });
await run(suites, { bail: false });

const GRACE_MS = 30_000;
setTimeout(() => {
  const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^\d+ ps -o /.test(l));
  const handles = process.getActiveResourcesInfo();
  process.stderr.write(`\nrun-suites: still running ${GRACE_MS / 1000} s after the suites ended, killed (a suite did not stop what it started):\n  ${children.join('\n  ') || '(no child process)'}\n  open resources: ${handles.join(', ')}\n`);
  for (const l of children) {
    try {
      process.kill(Number(l.split(' ')[0]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  process.exit(1);
}, GRACE_MS).unref();
