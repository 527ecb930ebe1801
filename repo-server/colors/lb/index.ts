// Opens the configured load-balancer adapter and renders any adapter's config, by name, from
// the list in adapters.ts.

import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { LbConfig } from '../../config.js';
import type { LbAdapter, LbAdapterKind, LbLog, LbPaths, LbState } from './adapter.js';
import { ADAPTERS, adapterKind } from './adapters.js';
import { LbConfigError } from './state-check.js';

export { ADAPTERS } from './adapters.js';

function kindOf(name: string): LbAdapterKind {
  const kind = adapterKind(name);
  if (!kind) throw new LbConfigError(`lb.adapter: '${name}' is not a load balancer debpkg drives (${ADAPTERS.join(', ')})`);
  return kind;
}

/** Absolute paths: the configs name them (state-check.ts refuses a relative one there). */
export function lbPaths(cfg: LbConfig, dataDir: string): LbPaths {
  const dir = resolve(cfg.dir ?? join(dataDir, 'lb', cfg.adapter));
  return {
    dir,
    configFile: resolve(cfg.configFile ?? join(dir, kindOf(cfg.adapter).configFileName)),
    socket: resolve(cfg.socket ?? join(dir, 'admin.sock')),
    stateFile: resolve(cfg.stateFile ?? join(dir, 'server-state')),
  };
}

export async function openAdapter(cfg: LbConfig, dataDir: string, initial: LbState, log: LbLog): Promise<LbAdapter> {
  const kind = kindOf(cfg.adapter);
  const p = lbPaths(cfg, dataDir);
  await mkdir(p.dir, { recursive: true });
  return kind.open(cfg, p, initial, log);
}

/** Renders a config for any adapter, whichever one is running (debpkg lb render); undefined for an unknown name. */
export function renderFor(adapter: string, state: LbState, cfg: LbConfig | undefined, dataDir: string): string | undefined {
  const kind = adapterKind(adapter);
  if (!kind) return undefined;
  return kind.render(state, lbPaths(cfg?.adapter === adapter ? cfg : { adapter, manage: false }, dataDir));
}
