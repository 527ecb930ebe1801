// Package listings in aptly's shapes (keys, or details) with its q= query language.

import { parseParagraph } from '../../deb/control.js';
import { compileQuery, packageFields, QueryError } from '../packages/query.js';
import type { PackageRecord, Store } from '../storage/store.js';
import { badRequest } from './errors.js';

export function packageDetails(p: PackageRecord): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [k, v] of parseParagraph(p.control)) fields[k] = v;
  const hash = p.key.split(' ')[3] ?? '';
  return {
    ...fields,
    Key: p.key,
    ShortKey: p.key.split(' ').slice(0, 3).join(' '),
    FilesHash: hash,
    Filename: p.file.filename,
    Size: String(p.file.size),
    MD5sum: p.file.md5,
    SHA1: p.file.sha1,
    SHA256: p.file.sha256,
    SHA512: p.file.sha512,
  };
}

function fieldsOf(p: PackageRecord): ReturnType<typeof packageFields> {
  const map = new Map<string, string>();
  for (const [k, v] of parseParagraph(p.control)) map.set(k, v);
  return packageFields(map);
}

/** Filters keys with an aptly query; an empty or absent query keeps everything. */
export function filterPackages(store: Store, keys: Iterable<string>, q: string | undefined): PackageRecord[] {
  let test: ((p: PackageRecord) => boolean) | undefined;
  if (q !== undefined && q.trim() !== '') {
    try {
      const compiled = compileQuery(q);
      test = (p) => compiled(fieldsOf(p));
    } catch (err) {
      if (err instanceof QueryError) throw badRequest(err.message);
      throw err;
    }
  }
  const out: PackageRecord[] = [];
  for (const k of keys) {
    const p = store.packages.get(k);
    if (p && (!test || test(p))) out.push(p);
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** aptly's response: keys by default, full records with format=details. */
export function listResponse(pkgs: PackageRecord[], format: string | undefined): unknown[] {
  return format === 'details' ? pkgs.map(packageDetails) : pkgs.map((p) => p.key);
}
