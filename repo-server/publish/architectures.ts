// The architectures a distribution publishes: its own list, else those its packages have
// (Architecture: all aside; "source" for source packages), else the server's default. A 100k-package list is scanned once:
// a list that only extends one seen recently is scanned from that one's end.

import type { PackageRecord } from '../storage/store.js';
import { extendsArray } from './append-only.js';

export class ArchitectureScan {
  /** Architectures found in recent component lists (most recent first). */
  private readonly recent: { pkgs: PackageRecord[]; archs: Set<string> }[] = [];

  constructor(private readonly defaults: string[]) {}

  of(configured: string[], components: Map<string, PackageRecord[]>): string[] {
    if (configured.length > 0) return [...configured].sort();
    const found = new Set<string>();
    for (const pkgs of components.values()) {
      const prev = this.recent.find((l) => extendsArray(l.pkgs, pkgs));
      const seen = { pkgs, archs: new Set(prev?.archs) };
      for (let i = prev?.pkgs.length ?? 0; i < pkgs.length; i++) if (pkgs[i]!.architecture !== 'all') seen.archs.add(pkgs[i]!.architecture);
      for (const a of seen.archs) found.add(a);
      this.recent.unshift(seen);
      this.recent.length = Math.min(this.recent.length, 8);
    }
    // As aptly: "source" when there are source packages, beside the binary architectures (or
    // the defaults when the packages name none).
    const binary = [...found].filter((a) => a !== 'source');
    return [...new Set([...(binary.length > 0 ? binary : this.defaults), ...(found.has('source') ? ['source'] : [])])].sort();
  }
}
