// The package lifecycle with real dpkg on bookworm and trixie fleet nodes: install, upgrade
// keeping a locally modified conffile, remove, purge, and a failing preinst rolled back.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { EDGE_NAMES, edgeProject } from '../support/fixtures.js';

/** Logs every maintainer-script call so the test can see what dpkg ran. */
const LOGGER = (name: string): string => `#!/bin/sh
set -e
echo "${name} $*" >> /var/log/lifecycle-demo.calls
`;

async function lifecycleProject(): Promise<Project> {
  return Project.create({
    'bin/demo': { content: '#!/bin/sh\necho demo "$@"\n', mode: 0o755 },
    'scripts/preinst': LOGGER('preinst'),
    'scripts/postinst': LOGGER('postinst'),
    'scripts/prerm': LOGGER('prerm'),
    'scripts/postrm': LOGGER('postrm'),
    // 1.2's preinst refuses upgrades: dpkg must roll back to 1.1.
    'scripts/preinst-fail': `#!/bin/sh
set -e
echo "preinst $*" >> /var/log/lifecycle-demo.calls
if [ "$1" = upgrade ]; then echo "refusing upgrade" >&2; exit 1; fi
`,
  });
}

async function buildVersion(p: Project, version: string, conf: string, preinst = 'scripts/preinst'): Promise<string> {
  await p.write('etc/demo.conf', conf);
  await p.write('debpkg.yaml', `
name: lifecycle-demo
version: "${version}"
release: "1"
arch: all
maintainer: Fleet Tester <fleet@example.org>
description: |
  Package for lifecycle tests
  Used by the fleet-node tests to exercise dpkg.
license: MIT
contents:
  - { src: bin/demo, dst: /usr/bin/lifecycle-demo }
  - { src: etc/demo.conf, dst: /etc/lifecycle-demo/demo.conf }
  - { src: bin/demo, dst: /usr/share/lifecycle-demo/v${version.replace(/\./g, '_')} }
  - { dst: /var/lib/lifecycle-demo/state, type: ghost }
scripts:
  preinstall: ${preinst}
  postinstall: scripts/postinst
  preremove: scripts/prerm
  postremove: scripts/postrm
systemd:
  - name: lifecycle-demo.service
    unit:
      exec_start: /usr/bin/lifecycle-demo serve
`);
  return p.build(['--output', `out-${version}`], { SOURCE_DATE_EPOCH: '1700000000' });
}

async function install(node: FleetNode, deb: string, extra: string[] = []) {
  await node.copyIn(deb, '/tmp/pkg.deb');
  return node.run(['dpkg', ...extra, '-i', '/tmp/pkg.deb'], { allowFail: true });
}

const WANTS = '/etc/systemd/system/multi-user.target.wants/lifecycle-demo.service';

function lifecycle(suite: Suite): void {
  test(`${suite}: install, upgrade keeping a modified conffile, failed upgrade rolls back, remove, purge`, async () => {
    const p = await lifecycleProject();
    const node = await FleetNode.create(suite);
    try {
      const v10 = await buildVersion(p, '1.0', 'setting=1.0\n');
      const v11 = await buildVersion(p, '1.1', 'setting=1.1\n');
      const v12 = await buildVersion(p, '1.2', 'setting=1.2\n', 'scripts/preinst-fail');

      // install
      let r = await install(node, v10);
      assert.is(r.code, 0, r.stderr);
      assert.is((await node.dpkgStatus('lifecycle-demo'))?.Status, 'install ok installed');
      assert.is((await node.run(['lifecycle-demo', 'hi'])).stdout, 'demo hi\n');
      assert.ok(await node.exists(WANTS), 'unit enabled through deb-systemd-helper');
      assert.ok(await node.exists('/usr/share/lifecycle-demo/v1_0'));

      // local change to the conffile, then an upgrade that also changes it: keep the admin's
      await node.writeFile('/etc/lifecycle-demo/demo.conf', 'setting=local\n');
      await node.writeFile('/var/lib/lifecycle-demo/state', 'runtime\n');
      r = await install(node, v11, ['--force-confdef', '--force-confold']);
      assert.is(r.code, 0, r.stderr);
      let st = await node.dpkgStatus('lifecycle-demo');
      assert.is(st?.Version, '1.1-1');
      assert.is(await node.readFile('/etc/lifecycle-demo/demo.conf'), 'setting=local\n');
      assert.is(await node.readFile('/etc/lifecycle-demo/demo.conf.dpkg-dist'), 'setting=1.1\n');
      assert.ok(await node.exists('/usr/share/lifecycle-demo/v1_1'));
      assert.not.ok(await node.exists('/usr/share/lifecycle-demo/v1_0'), 'files dropped by 1.1 are removed');

      // a preinst that fails on upgrade: dpkg runs the new postrm abort-upgrade and keeps 1.1
      await node.run('rm -f /var/log/lifecycle-demo.calls');
      r = await install(node, v12);
      assert.is.not(r.code, 0, 'the failed upgrade is reported');
      st = await node.dpkgStatus('lifecycle-demo');
      assert.is(st?.Version, '1.1-1');
      assert.is(st?.Status, 'install ok installed');
      assert.ok(await node.exists('/usr/share/lifecycle-demo/v1_1'), '1.1 files intact');
      assert.not.ok(await node.exists('/usr/share/lifecycle-demo/v1_2'));
      const calls = await node.readFile('/var/log/lifecycle-demo.calls');
      assert.match(calls, /^prerm upgrade 1\.2-1$/m, calls);
      assert.match(calls, /^preinst upgrade 1\.1-1 1\.2-1$/m, calls);
      assert.match(calls, /^postrm abort-upgrade 1\.1-1 1\.2-1$/m, calls);
      assert.match(calls, /^postinst abort-upgrade 1\.2-1$/m, 'the old postinst is re-run');
      assert.is((await node.run(['lifecycle-demo', 'still'])).stdout, 'demo still\n');

      // remove: files go, the conffile and ghost stay until purge, the unit gets masked
      r = await node.run(['dpkg', '--remove', 'lifecycle-demo'], { allowFail: true });
      assert.is(r.code, 0, r.stderr);
      assert.is((await node.dpkgStatus('lifecycle-demo'))?.Status, 'deinstall ok config-files');
      assert.not.ok(await node.exists('/usr/bin/lifecycle-demo'));
      assert.ok(await node.exists('/etc/lifecycle-demo/demo.conf'));
      assert.ok(await node.exists('/var/lib/lifecycle-demo/state'));

      // purge: conffile, ghost and systemd state all gone
      r = await node.run(['dpkg', '--purge', 'lifecycle-demo'], { allowFail: true });
      assert.is(r.code, 0, r.stderr);
      assert.is(await node.dpkgStatus('lifecycle-demo'), null);
      assert.not.ok(await node.exists('/etc/lifecycle-demo/demo.conf'));
      assert.not.ok(await node.exists('/var/lib/lifecycle-demo/state'), 'ghost removed on purge');
      assert.not.ok(await node.exists(WANTS));
      assert.not.ok(await node.exists('/etc/systemd/system/lifecycle-demo.service'), 'mask removed on purge');
      const order = (await node.readFile('/var/log/lifecycle-demo.calls')).trim().split('\n');
      assert.equal(order.slice(-3), ['prerm remove', 'postrm remove', 'postrm purge']);
    } finally {
      await node.destroy();
      await p.destroy();
    }
  });

  test(`${suite}: the edge-case package installs and its files land exactly`, async () => {
    const p = await edgeProject();
    const node = await FleetNode.create(suite);
    try {
      const deb = await p.build();
      const r = await install(node, deb);
      assert.is(r.code, 0, r.stderr);
      for (const path of Object.values(EDGE_NAMES)) {
        // test -L too: the long link dangles on purpose
        const r2 = await node.run(['sh', '-c', 'test -e "$1" || test -L "$1"', 'sh', path], { allowFail: true });
        assert.is(r2.code, 0, `${path} installed`);
      }
      assert.is((await node.run(['edge-tool'])).stdout, 'edge\n');
      assert.is((await node.dpkgStatus('edge-case'))?.Version, '2:1.0~rc1-1');
      const listed = (await node.run(['dpkg', '-L', 'edge-case'])).stdout;
      assert.ok(listed.includes(EDGE_NAMES.long) && listed.includes(EDGE_NAMES.unicode));
      const verify = await node.run(['dpkg', '--verify', 'edge-case'], { allowFail: true });
      assert.is(verify.code, 0, `dpkg --verify: ${verify.stdout}${verify.stderr}`);
      assert.is(verify.stdout, '');
    } finally {
      await node.destroy();
      await p.destroy();
    }
  });
}

for (const suite of SUITES) lifecycle(suite);

test.run();
