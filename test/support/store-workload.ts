// What the Store conformance suite commits and what it expects back. workloadBatch(i) is a
// deterministic batch that, over consecutive i, uses every journal op; ReferenceModel is a
// plain, independent statement of each op's meaning; fingerprint() renders a store's (or the
// model's) whole observable state canonically. So "the state after a crash is a prefix of the
// acknowledged commits" is checkable: it must equal the model after exactly k batches.

import type { MetadataStore } from '../../repo-server/storage/interfaces.js';
import { identity, publishId, type BlobLocation, type Op, type PackageRecord, type PublishRecord, type RepoRecord, type SnapshotRecord } from '../../repo-server/storage/records.js';

export const sha = (n: number): string => n.toString(16).padStart(64, '0');

export function pkgRecord(i: number): PackageRecord {
  const name = `pkg${i % 7}`;
  const version = `1.${i}`;
  return {
    key: `Pamd64 ${name} ${version} ${sha(i).slice(48)}`,
    name,
    version,
    architecture: 'amd64',
    source: name,
    sourceVersion: version,
    control: `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nDescription: workload package ${i}\n`,
    file: { filename: `${name}_${version}_amd64.deb`, size: 1000 + i, md5: sha(i).slice(32), sha1: sha(i).slice(24), sha256: sha(i), sha512: sha(i).repeat(2) },
  };
}

export function repoRecord(name: string, comment: string): RepoRecord {
  return { name, comment, defaultDistribution: 'stable', defaultComponent: 'main' };
}

export function publishRecord(prefix: string, distribution: string, generation: number): PublishRecord {
  return {
    prefix,
    distribution,
    sourceKind: 'local',
    sources: [{ component: 'main', name: 'r0' }],
    architectures: ['amd64'],
    origin: '',
    label: '',
    suite: '',
    codename: '',
    notAutomatic: '',
    butAutomaticUpgrades: '',
    acquireByHash: generation % 2 === 0,
    skipContents: false,
    multiDist: false,
    signedBy: '',
    generation,
    lastDate: 1700000000 + generation,
  };
}

/** Batch i of the workload; the "seq" repo's comment says how many batches are in. */
export function workloadBatch(i: number): Op[] {
  const rec = pkgRecord(i);
  const repo = `r${i % 3}`;
  const ops: Op[] = [
    { op: 'repo', repo: repoRecord('seq', String(i + 1)) },
    { op: 'pkg', rec },
    { op: 'repo', repo: repoRecord(repo, `batch ${i}`) },
    { op: 'repo-add', name: repo, keys: [rec.key] },
    { op: 'blobs', pack: `pack${i % 4}`, entries: [[sha(i), i * 10, 1000 + i]] },
    { op: 'up', dir: `u${i % 5}`, files: [[`f${i}.deb`, sha(i)]] },
    { op: 'pool-pub', prefix: `p${i % 2}`, files: [[`pool/main/p/f${i}.deb`, sha(i)]] },
  ];
  if (i >= 4 && i % 4 === 0) {
    const old = pkgRecord(i - 4);
    ops.push({ op: 'repo-rm', name: `r${(i - 4) % 3}`, keys: [old.key] }, { op: 'pkg-del', key: old.key });
    ops.push({ op: 'pub', pub: publishRecord('.', `d${i % 3}`, i) });
  }
  if (i % 5 === 4) ops.push({ op: 'snap', snap: { name: `s${i % 3}`, description: `at ${i}`, createdAt: `t${i}`, sourceKind: 'local', sources: [repo], packages: [pkgRecord(i).key, pkgRecord(i - 1).key] } });
  if (i % 10 === 9) ops.push({ op: 'snap-del', name: `s${(i + 1) % 3}` });
  if (i % 3 === 2) ops.push({ op: 'loose', sha256: sha(100000 + i), size: 5000 + i }, { op: 'up-rm', dir: `u${(i + 1) % 5}`, names: [`f${i - 1}.deb`, 'never-there'] });
  if (i % 6 === 5) ops.push({ op: 'blob-del', shas: [sha(i - 3), sha(100000 + i - 3)] });
  if (i % 7 === 6) ops.push({ op: 'up-rm', dir: `u${(i + 2) % 5}` });
  if (i % 9 === 8) ops.push({ op: 'pub-del', prefix: '.', distribution: `d${(i + 1) % 3}` });
  if (i % 11 === 10) ops.push({ op: 'pool-unpub', prefix: `p${(i + 1) % 2}` });
  if (i % 13 === 12) ops.push({ op: 'repo-del', name: 'r2' });
  return ops;
}

/** The meaning of every op, written independently of the store (the specification). */
export class ReferenceModel {
  readonly packages = new Map<string, PackageRecord>();
  readonly repos = new Map<string, RepoRecord>();
  readonly repoOrder = new Map<string, string[]>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly publishes = new Map<string, PublishRecord>();
  readonly blobs = new Map<string, BlobLocation>();
  readonly uploads = new Map<string, Map<string, string>>();
  readonly publishedPool = new Map<string, Map<string, string>>();

  static after(batches: number): ReferenceModel {
    const m = new ReferenceModel();
    for (let i = 0; i < batches; i++) m.apply(workloadBatch(i));
    return m;
  }

  apply(batch: Op[]): void {
    for (const o of batch) this.applyOne(o);
  }

  private applyOne(o: Op): void {
    const inner = (maps: Map<string, Map<string, string>>, k: string): Map<string, string> => maps.get(k) ?? maps.set(k, new Map()).get(k)!;
    switch (o.op) {
      case 'pkg': this.packages.set(o.rec.key, o.rec); break;
      case 'pkg-del': this.packages.delete(o.key); break;
      case 'repo': this.repos.set(o.repo.name, o.repo); if (!this.repoOrder.has(o.repo.name)) this.repoOrder.set(o.repo.name, []); break;
      case 'repo-del': this.repos.delete(o.name); this.repoOrder.delete(o.name); break;
      case 'repo-add': { const l = this.repoOrder.get(o.name); for (const k of o.keys) if (l && !l.includes(k)) l.push(k); break; }
      case 'repo-rm': { const l = this.repoOrder.get(o.name); if (l) this.repoOrder.set(o.name, l.filter((k) => !o.keys.includes(k))); break; }
      case 'snap': this.snapshots.set(o.snap.name, o.snap); break;
      case 'snap-del': this.snapshots.delete(o.name); break;
      case 'pub': this.publishes.set(publishId(o.pub.prefix, o.pub.distribution), o.pub); break;
      case 'pub-del': this.publishes.delete(publishId(o.prefix, o.distribution)); break;
      case 'blobs': for (const [s, offset, size] of o.entries) this.blobs.set(s, { pack: o.pack, offset, size }); break;
      case 'loose': this.blobs.set(o.sha256, { pack: '', offset: 0, size: o.size }); break;
      case 'blob-del': for (const s of o.shas) this.blobs.delete(s); break;
      case 'up': { const m = inner(this.uploads, o.dir); for (const [n, s] of o.files) m.set(n, s); break; }
      case 'up-rm': {
        const m = this.uploads.get(o.dir);
        if (m && o.names) for (const n of o.names) m.delete(n);
        if (!o.names || m?.size === 0) this.uploads.delete(o.dir);
        break;
      }
      case 'pool-pub': { const m = inner(this.publishedPool, o.prefix); for (const [p, s] of o.files) m.set(p, s); break; }
      case 'pool-unpub': this.publishedPool.delete(o.prefix); break;
    }
  }
}

type Observable = Pick<MetadataStore, 'packages' | 'repos' | 'repoOrder' | 'snapshots' | 'publishes' | 'blobs' | 'uploads' | 'publishedPool'>;

const sorted = <T>(entries: Iterable<[string, T]>): [string, T][] => [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** The whole observable state, canonical: equal strings, equal states. */
export function fingerprint(s: Observable): string {
  const byIdentity = new Map<string, string[]>();
  for (const p of s.packages.values()) byIdentity.set(identity(p), [...(byIdentity.get(identity(p)) ?? []), p.key].sort());
  return JSON.stringify({
    packages: sorted(s.packages),
    byIdentity: sorted(byIdentity),
    repos: sorted(s.repos).map(([n, r]) => [n, r, s.repoOrder.get(n)]),
    snapshots: sorted(s.snapshots),
    publishes: sorted(s.publishes),
    blobs: sorted(s.blobs),
    uploads: sorted(s.uploads).map(([d, f]) => [d, sorted(f)]),
    publishedPool: sorted(s.publishedPool).map(([p, f]) => [p, sorted(f)]),
  });
}

/** The store's derived indexes agree with its records (byIdentity, repoPackages vs repoOrder). */
export function indexProblems(s: MetadataStore): string[] {
  const out: string[] = [];
  for (const p of s.packages.values()) if (!s.byIdentity.get(identity(p))?.has(p.key)) out.push(`byIdentity lacks ${p.key}`);
  for (const [id, keys] of s.byIdentity) for (const k of keys) if (s.packages.get(k) === undefined || identity(s.packages.get(k)!) !== id) out.push(`byIdentity ${id} names ${k}`);
  for (const name of s.repos.keys()) {
    const set = [...(s.repoPackages.get(name) ?? [])];
    const order = s.repoOrder.get(name) ?? [];
    if (JSON.stringify(set) !== JSON.stringify(order)) out.push(`repo ${name}: repoPackages and repoOrder differ`);
  }
  if (s.repoPackages.size !== s.repos.size || s.repoOrder.size !== s.repos.size) out.push('repo maps have entries for missing repos');
  return out;
}

/** How many workload batches the state holds (the "seq" repo's comment). */
export function batchesIn(s: Pick<MetadataStore, 'repos'>): number {
  return Number(s.repos.get('seq')?.comment ?? 0);
}
