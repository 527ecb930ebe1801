// Exercises the fleet-node fixture itself: real bookworm/trixie roots, real dpkg inside them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FleetNode, SUITES, withFleetNode, type Suite } from '../support/fleet-node.js';

const EXPECT: Record<Suite, { dpkg: RegExp; apt: RegExp }> = {
  bookworm: { dpkg: /version 1\.21\.\d+/, apt: /^apt 2\.6\.\d+/ },
  trixie: { dpkg: /version 1\.22\.\d+/, apt: /^apt 3\.\d+\.\d+/ },
};

/** A tiny .deb built with the host's dpkg-deb; only here to prove dpkg works in the node. */
async function buildTinyDeb(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'debpkg-tinydeb-'));
  const pkg = path.join(dir, 'pkg');
  await fs.mkdir(path.join(pkg, 'DEBIAN'), { recursive: true });
  await fs.mkdir(path.join(pkg, 'usr/share/fleet-hello'), { recursive: true });
  await fs.writeFile(path.join(pkg, 'usr/share/fleet-hello/hello.txt'), 'hello fleet\n');
  await fs.writeFile(
    path.join(pkg, 'DEBIAN/control'),
    'Package: fleet-hello\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <test@example.invalid>\n' +
      'Description: fixture self-test package\n',
  );
  // postinst redirects to /dev/null so a missing or broken device node would fail the install.
  await fs.writeFile(path.join(pkg, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\necho configured > /dev/null\n', {
    mode: 0o755,
  });
  const deb = path.join(dir, 'fleet-hello_1.0-1_all.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '-b', pkg, deb], { stdio: 'pipe' });
  return deb;
}

for (const suite of SUITES) {
  test(`${suite}: dpkg/apt versions and dpkg -i of a tiny package`, async () => {
    const deb = await buildTinyDeb();
    const node = await FleetNode.create(suite);
    try {
      assert.is(node.suite, suite);
      assert.match((await node.run(['dpkg', '--version'])).stdout, EXPECT[suite].dpkg);
      assert.match((await node.run(['apt-get', '--version'])).stdout, EXPECT[suite].apt);
      assert.match(await node.readFile('/etc/os-release'), /VERSION_CODENAME=/);

      assert.is(await node.dpkgStatus('fleet-hello'), null);
      await node.copyIn(deb, '/tmp/fleet-hello.deb');
      await node.run('dpkg -i /tmp/fleet-hello.deb');
      const st = await node.dpkgStatus('fleet-hello');
      assert.is(st?.Status, 'install ok installed');
      assert.is(st?.Version, '1.0-1');
      assert.is(await node.readFile('/usr/share/fleet-hello/hello.txt'), 'hello fleet\n');

      const fail = await node.run('exit 3', { allowFail: true });
      assert.is(fail.code, 3);
      // Host environment must not leak in.
      const env = (await node.run(['env'])).stdout;
      assert.match(env, /^DEBIAN_FRONTEND=noninteractive$/m);
      assert.not.match(env, /^npm_|^NODE_|^PWD=/m);
    } finally {
      await node.destroy();
      await fs.rm(path.dirname(deb), { recursive: true, force: true });
    }
    assert.not.ok(await fs.stat(node.root).catch(() => null), 'node dir removed');
  });
}

test('two nodes of the same suite are independent', async () => {
  const suite = SUITES[0] ?? 'bookworm';
  await withFleetNode(suite, async (a) => {
    await withFleetNode(suite, async (b) => {
      assert.is.not(a.root, b.root);
      await a.writeFile('/etc/only-in-a', 'a\n');
      assert.ok(await a.exists('/etc/only-in-a'));
      assert.not.ok(await b.exists('/etc/only-in-a'));
      assert.is((await a.run('cat /etc/only-in-a')).stdout, 'a\n');
    });
  });
});

test('run() failure reports command, exit code and stderr', async () => {
  await withFleetNode(SUITES[0] ?? 'bookworm', async (node) => {
    const err = await node.run('echo oops >&2; exit 7').then(
      () => null,
      (e: Error) => e,
    );
    assert.ok(err, 'run() should throw');
    assert.match(err.message, /exited 7/);
    assert.match(err.message, /oops/);
    assert.match(err.message, /echo oops/);
  });
});

test('absolute symlinks in the guest resolve inside the node, not on the host', async () => {
  await withFleetNode(SUITES[0] ?? 'bookworm', async (node) => {
    await node.run('ln -s /etc/hostname-target /etc/abs-link');
    await node.writeFile('/etc/abs-link', 'guest\n');
    assert.is(await node.readFile('/etc/hostname-target'), 'guest\n');
    assert.not.ok(await fs.stat('/etc/hostname-target').catch(() => null));
  });
});

test.run();
