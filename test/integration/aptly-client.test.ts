// A real third-party aptly client end to end (issue 14, "Done when"): Debian packages both
// Python clients aptly users script with — python3-aptly-api-client and python3-aptly — so
// test/clients/aptly_workflow.py drives the server with them, unchanged, through upload →
// repo → add → snapshot → publish → switch → cleanup (python-aptly's graph-based snapshot
// cleanup, files/publish/snapshot/repo deletes, db cleanup), with the token in a requests auth
// object. This test builds the packages, runs the script and checks what it saw and what is
// left on the server: nothing, once db cleanup ran.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { exec, HOST_ENV } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { TestRepoServer, TEST_TOKEN } from '../support/repo-server.js';

// dist/test/integration → the script stays in the source tree.
const SCRIPT = fileURLToPath(new URL('../../../test/clients/aptly_workflow.py', import.meta.url));

async function makeDeb(p: Project, version: string): Promise<string> {
  await p.write(`src/${version}`, `wfdemo ${version}\n`);
  const yaml =
    `name: wfdemo\nversion: "${version}"\narch: all\nmaintainer: Client Tester <client@example.org>\ndescription: aptly client workflow package\n` +
    `contents:\n  - { src: src/${version}, dst: /usr/share/wfdemo/version }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  return (await buildPackage(loaded, { outputDir: p.path(`out/${version}`), env: { SOURCE_DATE_EPOCH: '1700000000' } })).path;
}

interface Seen {
  version: string;
  upload1: string[];
  files: string[];
  repo: string;
  added1: string[];
  failed1: string[];
  snap1_packages: string[];
  published: { prefix: string; distribution: string; sources: { Name: string; Component: string }[]; architectures: string[] };
  added2: string[];
  repo_packages: string[];
  diff: { Left: string | null; Right: string | null }[];
  switched: { Name: string; Component: string }[];
  packages_after_switch: string;
  snapshots_before_cleanup: string[];
  legacy_version: string;
  snapshots_after_cleanup: string[];
  graph_starts: string;
  db_cleanup_status: number;
  left: { repos: string[]; snapshots: string[]; publishes: string[]; files: string[] };
  repo_after_delete: number | string;
}

test('aptly-api-client and python-aptly drive a whole workflow: upload, repo, snapshot, publish, switch, cleanup', async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start();
  try {
    const [deb1, deb2] = [await makeDeb(p, '1.0'), await makeDeb(p, '2.0')];
    const r = await exec(['/usr/bin/python3', SCRIPT, server.url, deb1, deb2], {
      ...HOST_ENV,
      DEBPKG_TOKEN: TEST_TOKEN,
      DEBPKG_GPG_KEY: server.server.context.signer.fingerprint,
    });
    assert.is(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Seen;
    assert.is(seen.version, '1.6.0');
    assert.equal(seen.upload1, ['wf-up1/wfdemo_1.0_all.deb']);
    assert.equal(seen.files, ['wf-up1']);
    assert.equal(seen.added1, ['wfdemo_1.0_all added']);
    assert.equal(seen.failed1, []);
    assert.is(seen.snap1_packages.length, 1);
    assert.match(seen.snap1_packages[0]!, /^Pall wfdemo 1\.0 [0-9a-f]+$/);
    assert.equal(seen.published, { prefix: 'wfp', distribution: 'stable', sources: [{ Component: 'main', Name: 'wf-1' }], architectures: ['amd64'] });
    assert.equal(seen.added2, ['wfdemo_2.0_all added']);
    assert.is(seen.repo_packages.length, 1);
    assert.match(seen.repo_packages[0]!, /^Pall wfdemo 2\.0 /);
    assert.is(seen.diff.length, 1);
    assert.match(seen.diff[0]!.Left ?? '', /^Pall wfdemo 1\.0 /);
    assert.match(seen.diff[0]!.Right ?? '', /^Pall wfdemo 2\.0 /);
    assert.equal(seen.switched, [{ Component: 'main', Name: 'wf-2' }]);
    assert.match(seen.packages_after_switch, /^Version: 2\.0$/m);
    assert.not.match(seen.packages_after_switch, /^Version: 1\.0$/m);
    assert.equal(seen.snapshots_before_cleanup, ['wf-1', 'wf-2']);
    assert.is(seen.legacy_version, '1.6.0');
    // python-aptly found wf-1 unpublished in graph.dot and dropped it; wf-2 is published.
    assert.equal(seen.snapshots_after_cleanup, ['wf-2']);
    assert.is(seen.graph_starts, 'digraph aptly');
    assert.is(seen.db_cleanup_status, 200);
    assert.equal(seen.left, { repos: [], snapshots: [], publishes: [], files: [] });
    assert.is(seen.repo_after_delete, 404);
    // db cleanup left nothing behind: no package record, no stored file.
    const { store } = server.server.context;
    assert.is(store.packages.size, 0);
    assert.is(store.blobs.size, 0);
  } finally {
    await server.stop();
    await p.destroy();
  }
});

test.run();
