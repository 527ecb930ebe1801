// Wires the color-group parts together: registry → LB sync → swap engine.

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


export interface ColorGroups {
  registry: Registry;
  lb: LbSync;
  engine: SwapEngine;
  render(adapter: string): string | undefined;
  close(): Promise<void>;
}

export async function openColorGroups(dataDir: string, config: ColorConfig, log: Log, store?: RegistryStore): Promise<ColorGroups> {
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
