// GET /api/events on etcd (issue 15): every server of a group streams the registry's changes
// from its watch of etcd, so a viewer on one server sees what another server was told. Real
// 3-member etcd (Debian's etcd-server), two `debpkg serve --etcd` processes; the unit's
// heartbeats go to server A, the stream is read from server B, as the dashboard reads it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { SseReader } from '../support/sse.js';

const NODE_TOKEN = 'etcd-events-node-token';
const UNIT_TTL_S = 3;
let etcd: EtcdCluster | undefined;
const servers: ServerProcess[] = [];
const readers: SseReader[] = [];

interface Svc {
  Name: string;
  Active: string | null;
  MinHealthy: number | null;
  Units: { Node: string; Alive: boolean; Version: string }[];
}

test.before(async () => {
  etcd = await startEtcdCluster();
  for (let i = 0; i < 2; i++) servers.push(await startServerProcess({ args: ['--etcd', etcd.endpoints, '--unit-ttl', `${UNIT_TTL_S}s`], env: { DEBPKG_NODE_TOKEN: NODE_TOKEN } }));
});

test.after(async () => {
  for (const r of readers) r.close();
  await Promise.all(servers.map((s) => s.stop()));
  await etcd?.stop();
});

async function beat(s: ServerProcess, node: string, version = '1.0-1'): Promise<number> {
  const r = await fetch(`${s.url}/api/units/ev/${node}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${NODE_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ Address: '10.0.0.7', Port: 8080, Color: 'blue', Version: version, Package: 'ev', Health: 'healthy' }),
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  return r.status;
}

test("a unit registering on server A shows in server B's stream; settings changed on A too; when it stops, B's stream says it expired", async () => {
  const [a, b] = servers as [ServerProcess, ServerProcess];
  const r = await SseReader.open(`${b.url}/api/events?service=ev`, b.token);
  readers.push(r);
  assert.is(r.status, 200, 'etcd mode streams events (was 501)');
  assert.match(r.contentType, /^text\/event-stream/);
  await r.next('services');
  await r.next('removed', (d: { Name: string }) => d.Name === 'ev');

  assert.is(await beat(a, 'u1'), 200);
  const seen = await r.next<Svc>('service', (s) => s.Units.some((u) => u.Node === 'u1' && u.Alive) && s.Active === 'blue', 0, 10_000);
  assert.is(seen.Name, 'ev');
  await r.next<Array<{ Name: string; Units: number }>>('services', (l) => l.some((s) => s.Name === 'ev' && s.Units === 1));
  // The first healthy unit's initial swap record, written by A, reaches B's viewer as `swap`.
  const initial = await r.next<{ Kind: string; To: string }>('swap', (s) => s.Kind === 'initial');
  assert.is(initial.To, 'blue');

  // A changed report and a settings edit, both through A.
  let at = r.events.length;
  assert.is(await beat(a, 'u1', '1.0-2'), 200);
  await r.next<Svc>('service', (s) => s.Units.some((u) => u.Node === 'u1' && u.Version === '1.0-2'), at, 10_000);
  at = r.events.length;
  const edit = await a.api('PUT', '/api/services/ev', { MinHealthy: 7 });
  assert.is(edit.status, 200, edit.text);
  await r.next<Svc>('service', (s) => s.MinHealthy === 7, at, 10_000);

  // The unit stops: etcd deletes its alive key at the TTL; B's viewer hears it from the watch.
  const stopped = Date.now();
  at = r.events.length;
  const gone = await r.next<Svc>('service', (s) => s.Units.some((u) => u.Node === 'u1' && !u.Alive), at, (UNIT_TTL_S + 5) * 1000);
  const after = (Date.now() - stopped) / 1000;
  assert.ok(after >= UNIT_TTL_S * 0.5, `expired after ${after.toFixed(1)} s, not before its lease ran out`);
  assert.is(gone.Units.length, 1, 'the unit stays listed, not alive');
  await r.next<Array<{ Name: string; Alive?: number; Units: number }>>('services', (l) => l.some((s) => s.Name === 'ev'), at);

  // Removing the service on A: B's viewer gets `removed`.
  at = r.events.length;
  const del = await a.api('DELETE', '/api/services/ev');
  assert.ok(del.status === 200 || del.status === 204, del.text);
  await r.next('removed', (d: { Name: string }) => d.Name === 'ev', at, 10_000);
  r.close();
  await sleep(50);
});

test.run();
