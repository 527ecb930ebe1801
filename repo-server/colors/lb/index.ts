// Picks and opens the configured load-balancer adapter.

import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { LbAdapter, LbState } from './adapter.js';
import { HaproxyAdapter } from './haproxy.js';
import { renderHaproxy } from './haproxy-config.js';
import { NginxAdapter } from './nginx.js';
import { renderNginx } from './nginx-config.js';

export const ADAPTERS = ['haproxy', 'nginx'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface LbConfig {
  adapter: AdapterName;
  /** Run the LB process ourselves, with its files under `dir` (default <data>/lb/<adapter>). */
  manage: boolean;
  dir?: string;
  configFile?: string;
  socket?: string;
  stateFile?: string;
  reloadCommand?: string[];
}

/** Absolute paths: the configs name them (state-check.ts refuses a relative one there). */
export function lbPaths(cfg: LbConfig, dataDir: string): { dir: string; configFile: string; socket: string; stateFile: string } {
  const dir = resolve(cfg.dir ?? join(dataDir, 'lb', cfg.adapter));
  return {
    dir,
    configFile: resolve(cfg.configFile ?? join(dir, cfg.adapter === 'nginx' ? 'nginx.conf' : 'haproxy.cfg')),
    socket: resolve(cfg.socket ?? join(dir, 'admin.sock')),
    stateFile: resolve(cfg.stateFile ?? join(dir, 'server-state')),
  };
}

export async function openAdapter(cfg: LbConfig, dataDir: string, initial: LbState, log: (msg: string, detail?: Record<string, unknown>) => void): Promise<LbAdapter> {
  const p = lbPaths(cfg, dataDir);
  await mkdir(p.dir, { recursive: true });
  if (cfg.adapter === 'haproxy') {
    return HaproxyAdapter.open(
      { configFile: p.configFile, socket: p.socket, stateFile: p.stateFile, ...(cfg.manage ? { manage: {} } : {}), ...(cfg.reloadCommand ? { reloadCommand: cfg.reloadCommand } : {}), log },
      initial,
    );
  }
  return NginxAdapter.open(
    { runDir: p.dir, configFile: p.configFile, manage: cfg.manage, log },
    initial,
  );
}

/** Renders a config for any adapter, whichever one is running (debpkg lb render). */
export function renderFor(adapter: string, state: LbState, cfg: LbConfig | undefined, dataDir: string): string | undefined {
  if (adapter === 'haproxy') {
    const p = lbPaths(cfg?.adapter === 'haproxy' ? cfg : { adapter: 'haproxy', manage: false }, dataDir);
    return renderHaproxy(state, { socket: p.socket, stateFile: p.stateFile });
  }
  if (adapter === 'nginx') return renderNginx(state, { runDir: lbPaths(cfg?.adapter === 'nginx' ? cfg : { adapter: 'nginx', manage: false }, dataDir).dir });
  return undefined;
}
