// A real 3-member etcd cluster (Debian's etcd-server) for tests: each member on its own loopback
// address (127.0.<n>.1-3), data under a temp dir. Members can be killed (-9) and restarted with
// their data, to take quorum away and give it back. stop() kills every member and removes the data.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: ChildProcess | undefined;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Comma-separated client URLs, as `debpkg serve --etcd` takes them. */
  endpoints: string;
  kill(i: number): Promise<void>;
  restart(i: number): Promise<void>;
  /** etcdctl against the live members; stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Index of the member the live members name as Raft leader (undefined: none now). */
  leader(): Promise<number | undefined>;
  /** `etcdctl move-leader` to member `i` (a no-op when it leads already). */
  moveLeader(i: number): Promise<void>;
  /** Resolves once a write through etcdctl commits (the cluster has quorum), within `ms`. */
  waitQuorum(ms?: number): Promise<void>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const j = (await res.json()) as { health?: string };
    return j.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcdCluster(): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-etcd-'));
  // A second octet per run keeps concurrent test runs apart on the loopback network.
  const net = 100 + Math.floor(Math.random() * 150);
  const members: EtcdMember[] = [];
  for (let i = 0; i < 3; i++) {
    const host = `127.0.${net}.${i + 1}`;
    members.push({ name: `m${i + 1}`, clientUrl: `http://${host}:${await freePort(host)}`, peerUrl: `http://${host}:${await freePort(host)}`, dataDir: join(dir, `m${i + 1}`), child: undefined });
  }
  const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const logs = new Map<string, string>();
  const launch = (m: EtcdMember): void => {
    const child = spawn(
      'etcd',
      [
        '--name', m.name, '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', `debpkg-test-${net}`,
        '--heartbeat-interval', '100', '--election-timeout', '1000', '--logger', 'zap', '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.on('data', (b: Buffer) => logs.set(m.name, ((logs.get(m.name) ?? '') + b.toString()).slice(-8000)));
    m.child = child;
  };
  const waitHealthy = async (urls: string[]): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (const u of urls) {
      while (!(await healthy(u))) {
        if (Date.now() > deadline) throw new Error(`etcd member ${u} not healthy within 30 s: ${[...logs.values()].join('\n').slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const kill = async (i: number): Promise<void> => {
    const c = members[i]!.child;
    members[i]!.child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    kill,
    restart: async (i) => {
      launch(members[i]!);
    },
    ctl: (...args) => run('etcdctl', ['--endpoints', members.filter((m) => m.child).map((m) => m.clientUrl).join(','), ...args]),
    leader: async () => {
      // `endpoint status` lines: URL, member id (hex), version, db size, is leader, ... (the
      // JSON form prints the 64-bit ids as numbers, which JSON.parse rounds).
      const out = await cluster.ctl('endpoint', 'status').catch((err: Error) => err.message);
      for (const line of out.split('\n')) {
        const f = line.split(', ');
        if (f[4] === 'true') return members.findIndex((m) => m.clientUrl === f[0]);
      }
      return undefined;
    },
    moveLeader: async (i) => {
      const from = await cluster.leader();
      if (from === undefined) throw new Error('etcd has no leader to move');
      if (from === i) return;
      const line = (await run('etcdctl', ['--endpoints', members[i]!.clientUrl, 'endpoint', 'status'])).trim();
      await run('etcdctl', ['--endpoints', members[from]!.clientUrl, 'move-leader', line.split(', ')[1]!]);
    },
    waitQuorum: async (ms = 30_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        try {
          await run('etcdctl', ['--endpoints', members.filter((m) => m.child).map((m) => m.clientUrl).join(','), '--command-timeout', '1s', 'put', '/debpkg-test/quorum', String(Date.now())]);
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`etcd has no quorum within ${ms} ms: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    stop: async () => {
      for (let i = 0; i < members.length; i++) await kill(i);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    members.forEach(launch);
    await waitHealthy(members.map((m) => m.clientUrl));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
