// Wires the color-group parts together: registry → LB sync → swap engine. Embedded (one
// process, registry.json) by default; with etcd options, the group variant in etcd/open.ts.

import { join } from 'node:path';
import type { LbAdapter, LbState } from './lb/adapter.js';
import { heartbeatIntervalMs, type ColorConfig } from '../config.js';
import type { Log } from '../model/log.js';
import { NO_METRICS, type DomainMetrics } from '../model/metrics.js';
import type { Unit, SwapRecord } from './model.js';
import { openAdapter, renderFor } from './lb/index.js';
import { LbSync } from './lb-sync.js';
import { FileRegistryStore, type RegistryStore } from './registry-store.js';
import { Registry } from './registry.js';
import { SwapEngine } from './swap.js';
import { lbService } from './traffic.js';
import type { ChangeFeed, ColorRegistry, LbDriver, Swapper } from './registry-api.js';
import type { KeepaliveState } from '../cluster/lease-stream.js';
import { openEtcdColorGroups, type EtcdColorOptions } from './etcd/open.js';

export interface ColorGroups {
  registry: ColorRegistry;
  lb: LbDriver;
  engine: Swapper;
  /** Live changes for the dashboard (on etcd: from the replica's watch, on every server). */
  feed: ChangeFeed;
  render(adapter: string): string | undefined;
  /** On etcd only: the lease keepalive stream's member (metrics). */
  keepalive?: () => KeepaliveState;
  close(): Promise<void>;
}

/** Counts the adapter's failed applies; the caller still sees the error. */
function countingAdapter(adapter: LbAdapter, metrics: DomainMetrics): LbAdapter {
  return {
    name: adapter.name,
    render: (state) => adapter.render(state),
    apply: (state) =>
      adapter.apply(state).catch((err: unknown) => {
        metrics.lbError(adapter.name);
        throw err;
      }),
    close: () => adapter.close(),
  };
}

export async function openColorGroups(
  dataDir: string,
  config: ColorConfig,
  log: Log,
  store?: RegistryStore,
  etcd?: EtcdColorOptions,
  metrics: DomainMetrics = NO_METRICS,
): Promise<ColorGroups> {
  if (etcd) {
    const g = await openEtcdColorGroups(dataDir, config, etcd, (level, msg, detail) => (level === 'error' ? log.error(detail ?? {}, msg) : log.info(detail ?? {}, msg)));
    return { registry: g.registry, lb: g.lb, engine: g.engine, feed: g.registry, render: (name) => renderFor(name, g.desired(), config.lb, dataDir), keepalive: g.keepalive, close: g.close };
  }
  const registry = await Registry.open(store ?? new FileRegistryStore(join(dataDir, 'db')), {
    ttlMs: config.ttlMs,
    intervalMs: heartbeatIntervalMs(config),
    forgetMs: Math.max(300_000, config.ttlMs * 10),
  });
  const desired = (): LbState => ({ services: registry.list().map((s) => lbService(s, (u) => registry.alive(u))) });
  const opened = config.lb ? await openAdapter(config.lb, dataDir, desired(), (msg, detail) => log.info(detail ?? {}, msg)) : undefined;
  const adapter = opened && countingAdapter(opened, metrics);
  const lb = new LbSync(adapter, desired);
  registry.on('change', () => {
    lb.sync().catch((err: unknown) => log.error({ err }, 'load balancer update failed'));
  });
  registry.on('expired', (u: Unit) => metrics.unitExpired(u.service, u.color));
  registry.on('recorded', (r: SwapRecord) => metrics.swapRecorded(r.service, r.kind, r.to, r.result));
  registry.on('save-failed', (err: unknown) => log.error({ err }, 'saving the color registry failed'));
  if (adapter) await lb.sync();
  const engine = new SwapEngine(registry, lb, { probe: config.probe, probeTimeoutMs: config.probeTimeoutMs });
  return {
    registry,
    lb,
    engine,
    feed: registry,
    render: (name) => renderFor(name, desired(), config.lb, dataDir),
    close: async () => {
      await registry.close();
      await lb.close();
    },
  };
}
