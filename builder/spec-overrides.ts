// nfpm's `overrides.deb`, merged over the top level the way nfpm merges it (Config.Get: mergo with
// WithOverride): a non-empty value replaces the top-level one, lists are replaced whole (not
// appended), sections (scripts, deb, rpm, …) and maps (deb.fields) merge key by key, and an empty
// value ('', [], false, an empty section) changes nothing. Overrides for other packagers are
// validated by the schema and otherwise ignored. Each merged value remembers where it was written,
// so an error about `scripts.postinstall` points at its line under `overrides.deb`.

import type { FieldPath } from './spec-error.js';

export type PlainValue = string | boolean | PlainValue[] | PlainMap;
export interface PlainMap {
  [key: string]: PlainValue;
}

/** Where a value of the merged spec was written: `at` (merged path) came from `from` (file path). */
export interface Origin {
  at: FieldPath;
  from: FieldPath;
}

function isMap(v: PlainValue | undefined): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: PlainValue): boolean {
  if (v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isMap(v)) return Object.values(v).every(isEmpty);
  return false;
}

function mergeInto(base: PlainMap, over: PlainMap, at: FieldPath, from: FieldPath, origins: Origin[]): void {
  for (const [key, value] of Object.entries(over)) {
    const current = base[key];
    if (isMap(value) && isMap(current)) {
      const copy: PlainMap = { ...current };
      base[key] = copy;
      mergeInto(copy, value, [...at, key], [...from, key], origins);
      continue;
    }
    if (isEmpty(value)) continue;
    base[key] = value;
    origins.push({ at: [...at, key], from: [...from, key] });
  }
}

/** The spec as the deb packager sees it: top level with overrides.deb merged in, `overrides` removed. */
export function applyDebOverride(spec: PlainMap): { merged: PlainMap; origins: Origin[] } {
  const { overrides, ...rest } = spec;
  const origins: Origin[] = [];
  const merged: PlainMap = { ...rest };
  const deb = isMap(overrides) ? overrides.deb : undefined;
  if (isMap(deb)) mergeInto(merged, deb, [], ['overrides', 'deb'], origins);
  return { merged, origins };
}

/** Maps a path of the merged spec back to where the value was written (the longest origin wins). */
export function originOf(path: FieldPath, origins: readonly Origin[]): FieldPath {
  let best: Origin | undefined;
  for (const o of origins) {
    if (o.at.length <= path.length && o.at.every((p, i) => p === path[i]) && (!best || o.at.length > best.at.length)) best = o;
  }
  return best ? [...best.from, ...path.slice(best.at.length)] : path;
}
