// Where the registry's durable part lives. Embedded default: one JSON document written
// atomically; the interface is the seam for a distributed store (etcd) later.
//
// At fleet scale the document is large (10,000 units: ~2 MB) and one JSON.stringify of it held
// the event loop for 10–45 ms, during which no heartbeat was answered; so it is serialized a
// slice of units at a time, yielding to the loop between slices. The caller hands over a
// snapshot whose arrays are its own (Registry.snapshot), so what is written is one instant's state.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import type { ServiceRecord, SwapRecord } from './model.js';

export interface RegistrySnapshot {
  services: ServiceRecord[];
  history: SwapRecord[];
}

export interface RegistryStore {
  load(): Promise<RegistrySnapshot | undefined>;
  save(snapshot: RegistrySnapshot): Promise<void>;
}

/** Units or swap records serialized between two yields to the event loop (~0.3 ms of work). */
const SLICE = 250;

/**
 * The snapshot as JSON (what JSON.stringify gives, keys of a service in another order), built a
 * slice at a time. The snapshot's arrays must not change meanwhile; the records in them are
 * replaced, not edited, by the registry (a unit's lastSeen alone is renewed in place).
 */
export async function serializeSnapshot(snapshot: RegistrySnapshot): Promise<string> {
  const parts: string[] = ['{"services":['];
  let budget = SLICE;
  const spend = async (n: number): Promise<void> => {
    budget -= n;
    if (budget > 0) return;
    budget = SLICE;
    await yieldToLoop();
  };
  for (const [i, s] of snapshot.services.entries()) {
    const { units, ...rest } = s;
    // `rest` always has a name, so its JSON ends in "}" after at least one member.
    parts.push(`${i > 0 ? ',' : ''}${JSON.stringify(rest).slice(0, -1)},"units":[`);
    for (let at = 0; at < units.length; at += SLICE) {
      const slice = JSON.stringify(units.slice(at, at + SLICE));
      parts.push(`${at > 0 ? ',' : ''}${slice.slice(1, -1)}`);
      await spend(Math.min(SLICE, units.length - at));
    }
    parts.push(']}');
    await spend(1);
  }
  parts.push('],"history":[');
  for (let at = 0; at < snapshot.history.length; at += SLICE) {
    parts.push(`${at > 0 ? ',' : ''}${JSON.stringify(snapshot.history.slice(at, at + SLICE)).slice(1, -1)}`);
    await spend(Math.min(SLICE, snapshot.history.length - at));
  }
  parts.push(']}\n');
  return parts.join('');
}

export class FileRegistryStore implements RegistryStore {
  private readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'registry.json');
  }

  async load(): Promise<RegistrySnapshot | undefined> {
    const text = await readFile(this.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text === undefined) return undefined;
    const data = JSON.parse(text) as RegistrySnapshot;
    return { services: data.services ?? [], history: data.history ?? [] };
  }

  async save(snapshot: RegistrySnapshot): Promise<void> {
    await writeFileAtomic(this.path, await serializeSnapshot(snapshot), 0o600);
  }
}
