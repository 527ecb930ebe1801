// Wires the color-group parts together: registry → LB sync → swap engine. Embedded (one
// process, registry.json) by default; with etcd options, the group variant in etcd/open.ts.

import { join } from 'node:path';
import type { LbState } from './lb/adapter.js';
import { heartbeatIntervalMs, type ColorConfig } from '../config.js';
import type { Log } from '../model/log.js';
import { openAdapter, renderFor } from './lb/index.js';
import { LbSync } from './lb-sync.js';
import { FileRegistryStore, type RegistryStore } from './registry-store.js';
import { Registry } from './registry.js';
import { SwapEngine } from './swap.js';
import { lbService } from './traffic.js';
import type { ColorRegistry, LbDriver, Swapper } from './registry-api.js';
import { openEtcdColorGroups, type EtcdColorOptions } from './etcd/open.js';

export interface ColorGroups {
  registry: ColorRegistry;
  lb: LbDriver;
  engine: Swapper;
  render(adapter: string): string | undefined;
  close(): Promise<void>;
}

export async function openColorGroups(dataDir: string, config: ColorConfig, log: Log, store?: RegistryStore, etcd?: EtcdColorOptions): Promise<ColorGroups> {
  if (etcd) {
    const g = await openEtcdColorGroups(dataDir, config, etcd, (level, msg, detail) => (level === 'error' ? log.error(detail ?? {}, msg) : log.info(detail ?? {}, msg)));
    return { registry: g.registry, lb: g.lb, engine: g.engine, render: (name) => renderFor(name, g.desired(), config.lb, dataDir), close: g.close };
  }
  const registry = await Registry.open(store ?? new FileRegistryStore(join(dataDir, 'db')), {
    ttlMs: config.ttlMs,
    intervalMs: heartbeatIntervalMs(config),
    forgetMs: Math.max(300_000, config.ttlMs * 10),
  });
  const desired = (): LbState => ({ services: registry.list().map((s) => lbService(s, (u) => registry.alive(u))) });
  const adapter = config.lb ? await openAdapter(config.lb, dataDir, desired(), (msg, detail) => log.info(detail ?? {}, msg)) : undefined;
  const lb = new LbSync(adapter, desired);
  registry.on('change', () => {
    lb.sync().catch((err: unknown) => log.error({ err }, 'load balancer update failed'));
  });
  registry.on('save-failed', (err: unknown) => log.error({ err }, 'saving the color registry failed'));
  if (adapter) await lb.sync();
  const engine = new SwapEngine(registry, lb, { probe: config.probe, probeTimeoutMs: config.probeTimeoutMs });
  return {
    registry,
    lb,
    engine,
    render: (name) => renderFor(name, desired(), config.lb, dataDir),
    close: async () => {
      await registry.close();
      await lb.close();
    },
  };
}
