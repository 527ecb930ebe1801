// Package listings: aptly's q= query language, withDeps and maximumVersion over any package list.

import { parseParagraph } from '../../deb/control.js';
import { compareVersions } from '../../deb/version.js';
import { compileQuery, packageFields, QueryError } from '../packages/query.js';
import type { PackageCollection } from '../storage/interfaces.js';
import type { PackageRecord } from '../storage/records.js';
import { architecturesOf, byNameNewestFirst, PackageSet, withDependencies } from './dependencies.js';
import { Invalid, type DomainError } from '../model/errors.js';
import { invalid } from './errors.js';

function fieldsOf(p: PackageRecord): ReturnType<typeof packageFields> {
  const map = new Map<string, string>();
  for (const [k, v] of parseParagraph(p.control)) map.set(k, v);
  return packageFields(map, p.architecture === 'source' ? 'source' : 'deb');
}

/** An aptly query as a predicate; `Malformed` is the error a bad query raises (aptly: 400, or 422 when copying). */
export function queryPredicate(q: string, Malformed: new (m: string) => DomainError = Invalid): (p: PackageRecord) => boolean {
  try {
    const compiled = compileQuery(q);
    return (p) => compiled(fieldsOf(p));
  } catch (err) {
    if (err instanceof QueryError) throw new Malformed(`unable to parse query '${q}': ${err.message}`);
    throw err;
  }
}

const byKey = (a: PackageRecord, b: PackageRecord): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The records behind package keys (keys of since-deleted packages are skipped). */
export function recordsOf(store: PackageCollection, keys: Iterable<string>): PackageRecord[] {
  const out: PackageRecord[] = [];
  for (const k of keys) {
    const p = store.packages.get(k);
    if (p) out.push(p);
  }
  return out;
}

/** Filters keys with an aptly query; an empty or absent query keeps everything. */
export function filterPackages(store: PackageCollection, keys: Iterable<string>, q: string | undefined): PackageRecord[] {
  const all = recordsOf(store, keys);
  if (q === undefined || q.trim() === '') return all.sort(byKey);
  return all.filter(queryPredicate(q)).sort(byKey);
}

export interface ListOptions {
  /** An aptly query; undefined or blank: every package. */
  q: string | undefined;
  /** Also list what the matches depend on (within the same list). */
  withDeps: boolean;
  /** Per package name only its highest version. */
  maximumVersion: boolean;
}

/** aptly's showPackages: the packages of a list that q, withDeps and maximumVersion select, by key. */
export function showPackages(store: PackageCollection, keys: Iterable<string>, opts: ListOptions): PackageRecord[] {
  const all = recordsOf(store, keys);
  let list = all;
  if (opts.q !== undefined && opts.q.trim() !== '') {
    list = all.filter(queryPredicate(opts.q));
    if (opts.withDeps) {
      const architectures = architecturesOf(all);
      if (architectures.length === 0) throw invalid('unable to determine list of architectures, please specify explicitly');
      list = withDependencies(list, new PackageSet(all), [], architectures);
    }
  }
  if (opts.maximumVersion) {
    const newest = new Map<string, PackageRecord>();
    for (const p of [...list].sort(byNameNewestFirst)) if (!newest.has(p.name)) newest.set(p.name, p);
    list = list.filter((p) => compareVersions(p.version, newest.get(p.name)!.version) === 0);
  }
  return [...list].sort(byKey);
}
