// Package sets and their dependencies, the way aptly's PackageList.Filter follows them for
// snapshot pull, repo copy ("with-deps") and package listings ("withDeps=1"): Depends and
// Pre-Depends, per architecture, an arch:all package counting for every architecture, a
// virtual package satisfied by Provides, and the newest candidate picked for a missing one.

import { parseParagraph } from '../../deb/control.js';
import { parseRelationField, RelationError, type Relation } from '../../deb/relation.js';
import { compareVersions, satisfiesRelation } from '../../deb/version.js';
import type { PackageRecord } from '../storage/store.js';

interface Parsed {
  depends: Relation[][];
  provides: Relation[];
}

const parsedCache = new WeakMap<PackageRecord, Parsed>();

function relations(paragraph: Map<string, string>, field: string): Relation[][] {
  const text = [...paragraph].find(([k]) => k.toLowerCase() === field.toLowerCase())?.[1];
  if (text === undefined) return [];
  try {
    return parseRelationField(text, { field });
  } catch (err) {
    // A package with a malformed field was accepted by dpkg-deb; treat the field as absent.
    if (err instanceof RelationError) return [];
    throw err;
  }
}

function parsed(p: PackageRecord): Parsed {
  let entry = parsedCache.get(p);
  if (!entry) {
    const paragraph = parseParagraph(p.control);
    entry = { depends: [...relations(paragraph, 'Pre-Depends'), ...relations(paragraph, 'Depends')], provides: relations(paragraph, 'Provides').flat() };
    parsedCache.set(p, entry);
  }
  return entry;
}

/** aptly's MatchesArchitecture: "all" packages serve every architecture except "source". */
export function matchesArchitecture(p: PackageRecord, arch: string): boolean {
  return p.architecture === arch || (p.architecture === 'all' && arch !== 'source');
}

/** The architectures a package set is built for ("all" alone names none). */
export function architecturesOf(pkgs: Iterable<PackageRecord>): string[] {
  const found = new Set<string>();
  for (const p of pkgs) if (p.architecture !== 'all' && p.architecture !== 'source') found.add(p.architecture);
  return [...found].sort();
}

/** aptly's index order: name, then newest version first, then architecture. */
export function byNameNewestFirst(a: PackageRecord, b: PackageRecord): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const v = compareVersions(b.version, a.version);
  if (v !== 0) return v;
  return a.architecture < b.architecture ? -1 : a.architecture > b.architecture ? 1 : 0;
}

/** A searchable package set: by name and by the virtual names its packages provide. */
export class PackageSet {
  private readonly byName = new Map<string, PackageRecord[]>();
  private readonly byProvides = new Map<string, { pkg: PackageRecord; version?: string }[]>();
  private readonly keys = new Set<string>();

  constructor(pkgs: Iterable<PackageRecord> = []) {
    for (const p of pkgs) this.add(p);
  }

  has(p: PackageRecord): boolean {
    return this.keys.has(p.key);
  }

  add(p: PackageRecord): boolean {
    if (this.keys.has(p.key)) return false;
    this.keys.add(p.key);
    const list = this.byName.get(p.name) ?? [];
    list.push(p);
    this.byName.set(p.name, list);
    for (const r of parsed(p).provides) {
      const prov = this.byProvides.get(r.name) ?? [];
      prov.push(r.version !== undefined ? { pkg: p, version: r.version } : { pkg: p });
      this.byProvides.set(r.name, prov);
    }
    return true;
  }

  /** Packages satisfying one relation on `arch`, newest first. */
  search(rel: Relation, arch: string): PackageRecord[] {
    const found: PackageRecord[] = [];
    for (const p of this.byName.get(rel.name) ?? []) {
      if (!matchesArchitecture(p, arch)) continue;
      if (rel.op && rel.version !== undefined && !satisfiesRelation(p.version, rel.op, rel.version)) continue;
      found.push(p);
    }
    for (const { pkg, version } of this.byProvides.get(rel.name) ?? []) {
      if (!matchesArchitecture(pkg, arch) || found.includes(pkg)) continue;
      // Policy 7.5: a versioned relation is only satisfied by a versioned Provides.
      if (rel.op && rel.version !== undefined && (version === undefined || !satisfiesRelation(version, rel.op, rel.version))) continue;
      found.push(pkg);
    }
    return found.sort(byNameNewestFirst);
  }
}

/**
 * `selected` plus whatever `source` offers to satisfy their Depends/Pre-Depends that neither
 * `alreadyThere` nor the growing result satisfies, followed transitively (aptly's Filter with
 * WithDependencies). Unsatisfiable dependencies are left unsatisfied, as aptly does.
 */
export function withDependencies(
  selected: PackageRecord[],
  source: PackageSet,
  alreadyThere: Iterable<PackageRecord>,
  architectures: string[],
): PackageRecord[] {
  const result = [...selected];
  const satisfiedBy = new PackageSet([...alreadyThere, ...selected]);
  for (let i = 0; i < result.length; i++) {
    const p = result[i]!;
    for (const arch of architectures) {
      if (!matchesArchitecture(p, arch)) continue;
      for (const group of parsed(p).depends) {
        const archOf = (r: Relation): string => (r.arch && r.arch !== 'any' && r.arch !== 'native' ? r.arch : arch);
        if (group.some((r) => satisfiedBy.search(r, archOf(r)).length > 0)) continue;
        // The first alternative the source can satisfy, with its newest candidate.
        for (const r of group) {
          const candidate = source.search(r, archOf(r))[0];
          if (candidate) {
            if (satisfiedBy.add(candidate)) result.push(candidate);
            break;
          }
        }
      }
    }
  }
  return result;
}
