// Where the registry's durable part lives. Embedded default: one JSON document written
// atomically; the interface is the seam for a distributed store (etcd) later.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
    await writeFileAtomic(this.path, `${JSON.stringify(snapshot)}\n`, 0o600);
  }
}
