// The load balancers debpkg drives. A new adapter is one file exporting an LbAdapterKind
// (declared `satisfies LbAdapterKind`) plus one line in this list; nothing else changes.

import type { LbAdapterKind } from './adapter.js';
import { haproxyKind } from './haproxy.js';
import { nginxKind } from './nginx.js';

/** The first one is the default (what `GET /api/lb/config` renders without an LB configured). */
export const LB_ADAPTERS: readonly LbAdapterKind[] = [haproxyKind, nginxKind];

export const ADAPTERS: readonly string[] = LB_ADAPTERS.map((a) => a.name);

export function adapterKind(name: string): LbAdapterKind | undefined {
  return LB_ADAPTERS.find((a) => a.name === name);
}
