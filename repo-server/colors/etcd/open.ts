// Color groups on etcd: the watched replica, the etcd registry, the election for the LB-driving
// role and the swap driver, wired together. Every server of a group runs this; the elected one
// opens the load-balancer adapter (re-reading what the LB runs now), reconciles the LB to the
// recorded weights once, resumes any recorded swap, and applies later changes. The others never
// touch the LB. Losing etcd changes nothing on the LB (fail static).

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Election } from '../../cluster/election.js';
import { EtcdClient, type EtcdOptions } from '../../cluster/etcd-client.js';
import { LeaseStream, type KeepaliveState } from '../../cluster/lease-stream.js';
import { heartbeatIntervalMs, type ColorConfig } from '../../config.js';
import { Mutex } from '../../../lib/concurrency.js';
import type { LbAdapter, LbState } from '../lb/adapter.js';
import { openAdapter } from '../lb/index.js';
import type { LbDriver } from '../registry-api.js';
import { lbService } from '../traffic.js';
import { EtcdRegistry } from './etcd-registry.js';
import { keys } from './keys.js';
import { Replica } from './replica.js';
import { EtcdSwaps } from './swap-driver.js';

type Log = (level: 'info' | 'error', msg: string, detail?: Record<string, unknown>) => void;

export interface EtcdColorOptions extends EtcdOptions {
  /** Session lease of the LB-driving role, seconds (default 5): a dead leader is replaced after this. */
  leaseTtlSeconds?: number;
  prefix?: string;
  /** etcd's --max-txn-ops (default 128): bounds a registration batch. */
  maxTxnOps?: number;
}

/** Applies only while this server holds the role; coalesces bursts like lb-sync.ts does. */
class LeaderLb implements LbDriver {
  adapter: LbAdapter | undefined;
  private requested = 0;
  private applied = 0;
  private readonly mutex = new Mutex();

  constructor(
    private readonly election: Election,
    private readonly desired: () => LbState,
  ) {}

  sync(): Promise<void> {
    const wanted = ++this.requested;
    return this.mutex.run(async () => {
      if (this.applied >= wanted || !this.adapter || !this.election.isLeader) return;
      const generation = this.requested;
      await this.adapter.apply(this.desired());
      this.applied = generation;
    });
  }

  /** Serialised with applies: the adapter changes only between two of them. */
  swapAdapter(open: () => Promise<LbAdapter | undefined>): Promise<void> {
    return this.mutex.run(async () => {
      const old = this.adapter;
      this.adapter = undefined;
      await old?.close();
      this.adapter = await open();
    });
  }

  close(): Promise<void> {
    return this.swapAdapter(async () => undefined);
  }
}

export interface EtcdColorGroups {
  registry: EtcdRegistry;
  engine: EtcdSwaps;
  lb: LbDriver;
  election: Election;
  desired(): LbState;
  /** Where this server's lease keepalive stream is (the member's client URL) and how often it followed a new leader. */
  keepalive(): KeepaliveState;
  close(): Promise<void>;
}

export async function openEtcdColorGroups(dataDir: string, config: ColorConfig, etcdOpts: EtcdColorOptions, log: Log): Promise<EtcdColorGroups> {
  const etcd = new EtcdClient(etcdOpts);
  const k = keys(etcdOpts.prefix);
  const replica = new Replica(etcd, k);
  await replica.start();
  // Lease renewals of every unit this server hears from, on one keepalive stream to etcd's leader.
  const leases = new LeaseStream(etcdOpts, () => etcd.authToken(), () => etcd.leaderIndex(), (i) => etcd.leads(i));
  const registry = new EtcdRegistry(etcd, replica, { ttlMs: config.ttlMs, intervalMs: heartbeatIntervalMs(config), ...(etcdOpts.maxTxnOps ? { maxTxnOps: etcdOpts.maxTxnOps } : {}) }, leases);
  const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const election = new Election(etcd, { key: k.leader, id, ttlSeconds: etcdOpts.leaseTtlSeconds ?? 5 });
  const desired = (): LbState => ({ services: registry.list().map((s) => lbService(s, (u) => registry.alive(u))) });
  const lb = new LeaderLb(election, desired);
  const engine = new EtcdSwaps(etcd, registry, election, lb, { probe: config.probe, probeTimeoutMs: config.probeTimeoutMs }, (msg, d) => log('info', msg, d));
  const lbConfig = config.lb;

  /** Set once this leader's takeover (catch-up, adapter, reconcile) is done: swaps run only then. */
  let ready = false;
  let takeoverTimer: NodeJS.Timeout | undefined;
  // A takeover that fails (etcd slow to answer the catch-up, the LB's socket refusing) is tried
  // again while the role is ours: a swap the old leader left half-done must not wait for some
  // unrelated change to resume it, and must not run against an adapter that never opened.
  const takeOver = async (): Promise<void> => {
    if (!election.isLeader) return;
    const t0 = Date.now();
    try {
      await replica.catchUp();
      // Re-opened on every takeover: the adapter reads what the LB runs now (its topology).
      if (lbConfig) await lb.swapAdapter(() => openAdapter(lbConfig, dataDir, desired(), (msg, detail) => log('info', msg, detail)));
      await lb.sync();
      if (!election.isLeader) return;
      ready = true;
      log('info', 'load balancer taken over', { ms: Date.now() - t0 });
      engine.resumeAll();
    } catch (err) {
      log('error', 'taking over the load balancer failed; trying again in 1 s', { err: String(err), ms: Date.now() - t0 });
      takeoverTimer = setTimeout(() => void takeOver(), 1000);
      takeoverTimer.unref();
    }
  };
  election.on('elected', () => {
    log('info', 'this server drives the load balancer now', { id });
    ready = false;
    void takeOver();
  });
  election.on('deposed', (why: string) => {
    log('info', 'this server no longer drives the load balancer', { why });
    ready = false;
    if (takeoverTimer) clearTimeout(takeoverTimer);
    // The adapter's close may fail (its socket gone): logged, never an unhandled rejection.
    lb.close().catch((err: unknown) => log('error', 'closing the load balancer adapter failed', { err: String(err) }));
  });
  replica.on('change', () => {
    if (election.isLeader) lb.sync().catch((err: unknown) => log('error', 'load balancer update failed', { err: String(err) }));
  });
  replica.on('swaps', () => {
    if (ready) engine.resumeAll();
  });
  replica.on('leader-gone', () => election.poke());
  election.start();

  const forgetMs = Math.max(300_000, config.ttlMs * 10);
  const housekeeping = setInterval(() => {
    if (election.isLeader) registry.forget(forgetMs).catch(() => undefined);
  }, 30_000);
  housekeeping.unref();

  return {
    registry,
    engine,
    lb,
    election,
    desired,
    keepalive: () => ({ member: leases.member(), moves: leases.moves }),
    close: async () => {
      clearInterval(housekeeping);
      if (takeoverTimer) clearTimeout(takeoverTimer);
      await election.resign();
      await lb.close();
      replica.close();
      leases.close();
      etcd.close();
    },
  };
}
