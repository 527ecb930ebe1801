// Registrations on etcd batched (issue 15): a fleet's first heartbeats arriving together are
// written many units per transaction, each unit still on a lease of its own. Real 3-member etcd
// (Debian's etcd-server) and two `debpkg serve --etcd` processes. Transactions are counted by
// etcd's revision, which every committed write (one per transaction) moves by one; lease grants
// do not move it. Unbatched, 500 units cost 500 transactions.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdClient } from '../../repo-server/cluster/etcd-client.js';
import { LeaseStream } from '../../repo-server/cluster/lease-stream.js';
import { keys } from '../../repo-server/colors/etcd/keys.js';
import { RegisterBatcher, type Registration } from '../../repo-server/colors/etcd/register-batch.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const NODE_TOKEN = 'etcd-register-node-token';
const UNITS = 500;
let etcd: EtcdCluster | undefined;
let client: EtcdClient | undefined;
const servers: ServerProcess[] = [];

test.before(async () => {
  etcd = await startEtcdCluster();
  client = new EtcdClient({ endpoints: etcd.endpoints.split(',') });
});

test.after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  client?.close();
  await etcd?.stop();
});

async function revision(): Promise<number> {
  return (await client!.range('/nothing')).revision;
}

function beat(s: ServerProcess, svc: string, node: string): Promise<number> {
  return fetch(`${s.url}/api/units/${svc}/${node}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ Address: '10.0.0.1', Port: 8080, Color: 'blue', Version: '1.0-1', Package: svc, Health: 'healthy' }),
    signal: AbortSignal.timeout(30_000),
  }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
}

test(`${UNITS} units starting at once: all registered, each on its own live lease, in far fewer transactions than units`, async () => {
  for (let i = 0; i < 2; i++) servers.push(await startServerProcess({ args: ['--etcd', etcd!.endpoints, '--unit-ttl', '30s'], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN } }));
  const [a, b] = servers as [ServerProcess, ServerProcess];
  const before = await revision();
  const statuses = await Promise.all(Array.from({ length: UNITS }, (_, i) => beat(a, 'fleet', `n${i}`)));
  const after = await revision();
  assert.equal([...new Set(statuses)], [200], `answers: ${JSON.stringify(statuses.filter((s) => s !== 200).slice(0, 5))}`);
  // The batches, the service's settings and its first swap record; unbatched: ≥ 500. Batches
  // are as full as the backlog: 32 on a lightly loaded host, 124 when the server parsed the 500
  // requests slowly (full suite, load ~15).
  const txns = after - before;
  assert.ok(txns <= UNITS / 2, `${txns} transactions for ${UNITS} registrations`);

  const alive = (await client!.range(keys().alive('fleet', ''), true)).kvs;
  assert.is(alive.length, UNITS, 'every unit has its alive key');
  const leases = new Set(alive.map((kv) => kv.lease));
  assert.is(leases.size, UNITS, 'one lease per unit');
  assert.not.ok(leases.has('0'), 'every alive key is bound to a lease');
  const ttls = await client!.keepAlive([...leases]);
  const dead = [...ttls.values()].filter((t) => t <= 0).length;
  assert.is(dead, 0, 'every lease is live');
  // The other server's watched copy has them all, alive.
  const svc = await b.api('GET', '/api/services/fleet');
  assert.is(svc.status, 200);
  const units = (svc.json as { Units: { Alive: boolean }[] }).Units;
  assert.is(units.filter((u) => u.Alive).length, UNITS);
});

test('a batch etcd refuses fails only the unit at fault: the others are written, each with its own answer', async () => {
  const endpoints = etcd!.endpoints.split(',');
  const stream = new LeaseStream({ endpoints }, () => undefined);
  const k = keys('/test-batch/');
  try {
    // Grants on the gRPC connection (the registry's path), batches of up to 16 units.
    const batcher = new RegisterBatcher(client!, k, { ttlSeconds: 30, maxUnits: 16, grant: (ttl) => stream.grant(ttl) });
    const unit = (node: string): Registration => ({
      service: 'b',
      node,
      unit: { service: 'b', node, address: '10.0.0.2', port: 80, color: 'green', version: '1', package: 'b', health: 'healthy', weight: 1, healthPath: '/healthz', lastSeen: Date.now() },
    });
    // One unit claims a lease etcd does not hold: the whole transaction is refused by etcd.
    const regs = Array.from({ length: 12 }, (_, i) => (i === 5 ? { ...unit(`n${i}`), lease: '1234567' } : unit(`n${i}`)));
    const out = await Promise.allSettled(regs.map((r) => batcher.register(r)));
    const failed = out.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    assert.equal(failed, [5], 'only the unit with the missing lease fails');
    assert.match(String((out[5] as PromiseRejectedResult).reason), /lease not found/);
    assert.is(batcher.stats.batches, 1, 'the 12 went out as one batch');
    assert.ok(batcher.stats.txns > 1, 'the refused batch was split and retried');
    const written = (await client!.range(k.alive('b', ''), true)).kvs.map((kv) => kv.key.split('/').pop()).sort();
    assert.equal(written, regs.filter((_, i) => i !== 5).map((r) => r.node).sort());
    for (const o of out) if (o.status === 'fulfilled') assert.ok(Number(o.value.lease) > 0);
  } finally {
    stream.close();
  }
});

test.run();
