// The color registry's change feed, for live views (http/events.ts). A leaf beside model.ts:
// the registry implements it and the HTTP layer subscribes, neither importing the other.

import type { SwapRecord } from './model.js';

/**
 * What changed in a registry, for live views (http/events.ts). `beat`: only leases were renewed
 * (a unit's LastSeen moved); everything else a reader would see is unchanged, so a view may
 * refresh it lazily.
 */
export type RegistryChange =
  | { type: 'service'; service: string; beat?: true }
  | { type: 'removed'; service: string }
  | { type: 'recorded'; record: SwapRecord };

/**
 * The registry's change feed. The embedded registry emits from its own writes and sweeps; the
 * etcd one from its replica's watch (every server sees every write there), plus `beat` for the
 * renewals it sends itself (another server's renewals are not watched: they change no key).
 */
export interface ChangeFeed {
  /** Calls `listener` after each change; returns the unsubscribe. */
  subscribe(listener: (change: RegistryChange) => void): () => void;
}
