// Heartbeats on etcd at fleet scale (issue 15): a known unit's heartbeat is answered without
// waiting for etcd (its lease is renewed behind the answer, on one long-lived LeaseKeepAlive
// stream per server), yet a server whose renewals stall stops saying "registered": it waits, and
// answers 503. Real 3-member etcd (Debian's etcd-server); the members are paused with SIGSTOP,
// which is what a partitioned or overloaded etcd looks like from a server.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeaseStream } from '../../repo-server/cluster/lease-stream.js';
import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const NODE_TOKEN = 'etcd-heartbeat-node-token';
let etcd: EtcdCluster | undefined;
let server: ServerProcess | undefined;

test.before(async () => {
  etcd = await startEtcdCluster();
});

test.after(async () => {
  await server?.stop();
  await etcd?.stop();
});

async function beat(s: ServerProcess, node: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(`${s.url}/api/units/hb/${node}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ Address: '10.0.0.1', Port: 8080, Color: 'blue', Version: '1.0-1', Package: 'hb' }),
    signal: AbortSignal.timeout(15_000),
  });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t0 };
}

function pause(signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const m of etcd!.members) if (m.child?.pid) process.kill(m.child.pid, signal);
}

test('renewals on one stream: 100 leases renewed 10 times each over one connection; an unknown lease answers TTL 0', async () => {
  const endpoints = etcd!.endpoints.split(',');
  const client = new EtcdClient({ endpoints });
  const stream = new LeaseStream({ endpoints }, () => undefined);
  try {
    const leases = await Promise.all(Array.from({ length: 100 }, () => client.grant(30)));
    await sleep(1100);
    for (let round = 0; round < 10; round++) {
      const ttls = await Promise.all(leases.map((l) => stream.renew(l)));
      // A renewal sets the lease back to its whole TTL.
      for (const t of ttls) assert.ok(t >= 29 && t <= 30, `renewed TTL ${t}`);
    }
    assert.is(await stream.renew('7'), 0, 'a lease etcd does not hold is reported gone');
    for (const l of leases) await client.revoke(l);
    assert.is(await stream.renew(leases[0]!), 0, 'a revoked lease is reported gone');
  } finally {
    stream.close();
    client.close();
  }
});

test("the leader look-up the keepalive stream uses names the member etcdctl reports as leader", async () => {
  const endpoints = etcd!.endpoints.split(',');
  const client = new EtcdClient({ endpoints });
  try {
    const status = JSON.parse(await etcd!.ctl('endpoint', 'status', '-w', 'json')) as { Endpoint: string; Status: { leader: number | string; header: { member_id: number | string } } }[];
    const leader = status.find((m) => String(m.Status.header.member_id) === String(m.Status.leader));
    assert.ok(leader, 'etcdctl names a leader');
    const i = await client.leaderIndex();
    assert.is(i === undefined ? undefined : endpoints[i], leader!.Endpoint);
  } finally {
    client.close();
  }
});

test("a known unit's heartbeat is answered while etcd is paused; once renewals stall, heartbeats wait and get 503", async () => {
  server = await startServerProcess({ args: ['--etcd', etcd!.endpoints, '--unit-ttl', '10s'], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN } });
  const first = await beat(server, 'n1');
  assert.is(first.status, 200, 'registration');
  for (let i = 0; i < 5; i++) assert.is((await beat(server, 'n1')).status, 200);
  pause('SIGSTOP');
  try {
    const answered = await beat(server, 'n1');
    assert.is(answered.status, 200);
    // Waiting on etcd would take its whole timeout (4 s) and end in a 503.
    assert.ok(answered.ms < 1000, `answered in ${answered.ms.toFixed(0)} ms while etcd was paused`);
    // The renewals behind the answers get none: the server notices within ~2 s and stops
    // answering first (a lease is renewed at most every TTL/4, so keep beating as an agent does).
    let refused = 0;
    for (let i = 0; i < 20 && refused === 0; i++) {
      await sleep(500);
      if ((await beat(server, 'n1')).status === 503) refused++;
    }
    assert.is(refused, 1, 'a heartbeat whose lease cannot be renewed is refused');
  } finally {
    pause('SIGCONT');
  }
  // etcd back: heartbeats renew again and are answered at once.
  let ok = 0;
  for (let i = 0; i < 40 && ok < 3; i++) {
    const r = await beat(server, 'n1');
    ok = r.status === 200 && r.ms < 1000 ? ok + 1 : 0;
    await sleep(250);
  }
  assert.is(ok, 3, 'heartbeats answered again once etcd is back');
});

test.run();
