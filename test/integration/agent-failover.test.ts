// Agent failover across a group: the packaged agent (POSIX sh + curl, run in a trixie fleet-node
// chroot) is given the URLs of three `debpkg serve --etcd` processes sharing the registry on a
// real 3-member etcd. The server it talks to is killed -9, then the next one: the unit never
// drops out of the registry (no gap longer than the unit TTL) and its heartbeats keep arriving.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { FleetNode } from '../support/fleet-node.js';
import { Project } from '../support/project.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const SERVICE = 'failover-unit';
const NODE_TOKEN = 'failover-node-token';
const UNIT_TTL_S = 4;

interface UnitJson {
  Node: string;
  Alive: boolean;
  LastSeen: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('an agent given three servers keeps its unit alive while the server it uses, then the next, are killed -9', async () => {
  const health = createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  const port = (health.address() as AddressInfo).port;
  let etcd: EtcdCluster | undefined;
  const servers: ServerProcess[] = [];
  const p = await Project.create();
  let node: FleetNode | undefined;
  let agentLog = '';
  try {
    etcd = await startEtcdCluster();
    for (let i = 0; i < 3; i++) {
      servers.push(await startServerProcess({ args: ['--etcd', etcd.endpoints, '--unit-ttl', `${UNIT_TTL_S}s`, '--etcd-lease-ttl', '3s'], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN } }));
    }
    await p.spec(
      `name: ${SERVICE}\nversion: 1.0.0\nrelease: "1"\narch: all\nmaintainer: Fleet Tester <fleet@example.org>\ndescription: |\n  Failover test unit\n  Heartbeats through a group of repo servers.\nlicense: MIT\ncolor:\n  port: ${port}\n  health:\n    path: /healthz\n    interval: 1s\n    timeout: 500ms\n`,
    );
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    node = await FleetNode.create('trixie');
    await node.copyIn(deb, '/tmp/unit.deb');
    const inst = await node.run(['dpkg', '-i', '/tmp/unit.deb'], { allowFail: true });
    assert.is(inst.code, 0, inst.stdout + inst.stderr);
    await node.writeFile('/etc/machine-id', 'failover0000000000000000000000aa\n');
    await node.writeFile('/etc/debpkg/color', 'blue\n');
    await node.writeFile('/etc/debpkg/agent.conf', `DEBPKG_SERVER=${servers.map((s) => s.url).join(',')}\nDEBPKG_NODE_TOKEN=${NODE_TOKEN}\n`);
    const agent = spawn('chroot', [node.root, `/usr/lib/debpkg-agent/${SERVICE}/agent`, 'run'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8' }, stdio: ['ignore', 'ignore', 'pipe'] });
    agent.stderr.on('data', (b: Buffer) => (agentLog += b.toString()));
    try {
      const unitOn = async (s: ServerProcess): Promise<UnitJson | undefined> => {
        const r = await s.api('GET', `/api/services/${SERVICE}`);
        return r.status === 200 ? (r.json as { Units: UnitJson[] }).Units[0] : undefined;
      };
      const t0 = Date.now();
      while (!(await unitOn(servers[2]!))?.Alive) {
        if (Date.now() - t0 > 10_000) assert.unreachable(`the unit never registered; agent log:\n${agentLog}`);
        await sleep(200);
      }
      // Watch the unit from the last server while the first two die one after the other.
      const seen: string[] = [];
      for (const victim of [0, 1]) {
        servers[victim]!.kill('SIGKILL');
        await servers[victim]!.waitExit();
        const until = Date.now() + (UNIT_TTL_S + 2) * 1000;
        while (Date.now() < until) {
          const u = await unitOn(servers[2]!);
          assert.ok(u?.Alive, `the unit dropped out ${Date.now() - (until - (UNIT_TTL_S + 2) * 1000)} ms after server ${victim} was killed; agent log:\n${agentLog}`);
          seen.push(u!.LastSeen);
          await sleep(250);
        }
      }
      // Heartbeats kept arriving (LastSeen moved on after both kills), not just a lease not yet run out.
      assert.ok(new Set(seen.slice(-8)).size > 1, `LastSeen stood still: ${seen.slice(-8).join(', ')}`);
      process.stderr.write(`  [agent-failover] unit alive throughout two kills (${seen.length} checks over ${2 * (UNIT_TTL_S + 2)} s)\n`);
    } finally {
      agent.kill('SIGKILL');
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await etcd?.stop();
    await node?.destroy();
    await p.destroy();
    await new Promise((r) => health.close(r));
  }
});

test.run();
