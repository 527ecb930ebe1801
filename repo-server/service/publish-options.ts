// What a publish request may ask for, validated before anything is queued or stored, and how
// an update changes a published distribution's record.

import type { SigningRequest } from '../pgp/keyring.js';
import type { Signer } from '../pgp/signer.js';
import type { PublishRecord, PublishSource } from '../storage/store.js';

export type { SigningRequest } from '../pgp/keyring.js';
import type { Context } from './context.js';
import { invalid } from './errors.js';
import { componentName, shown } from './names.js';
import { getRepo } from './repos.js';
import { getSnapshot } from './snapshots.js';

/** A {Component, Name} as asked; component '' when not given. */
export interface SourceRef {
  component: string;
  name: string;
}

/** A new published distribution (aptly's POST /api/publish/:prefix); '' means "the default". */
export interface PublishInput {
  /** 'local' or 'snapshot'. */
  sourceKind: string;
  sources: SourceRef[];
  distribution: string;
  architectures: string[];
  origin: string;
  label: string;
  suite: string;
  codename: string;
  notAutomatic: string;
  butAutomaticUpgrades: string;
  acquireByHash?: boolean;
  skipContents?: boolean;
  multiDist?: boolean;
  signedBy: string;
  /** Release's Version ('' none). */
  version: string;
  /** False: publish without InRelease/Release.gpg. */
  sign: boolean;
  /** aptly's Signing options: which of the server's keys sign (pgp/keyring.ts). */
  signing?: SigningRequest;
  /** As aptly: a pool file name already published with other bytes may take the new file (see pool-check.ts). */
  forceOverwrite: boolean;
}

/** An update of a published distribution; absent fields stay as they are. */
export interface PublishUpdateInput {
  /** Components switched to other snapshots. */
  switches?: SourceRef[];
  acquireByHash?: boolean;
  skipContents?: boolean;
  multiDist?: boolean;
  signedBy?: string;
  /** aptly 1.6's PUT also sets the Release's Origin, Label and Version. */
  origin?: string;
  label?: string;
  version?: string;
  sign: boolean;
  signing?: SigningRequest;
  forceOverwrite: boolean;
}

/**
 * Release's Origin and Label: free text on one line. A line break or any other control
 * character would start a field of the attacker's choosing in Release/InRelease (apt splits at
 * '\n' and drops a '\r'; python-debian also splits at \v, \f, \x1c-\x1e, \x85, U+2028/9).
 */
const ONE_LINE = /^[^\0-\x1f\x7f-\x9f\u2028\u2029]{1,200}$/;
/** Suite and Codename: one word (apt matches them against sources.list), e.g. bookworm-security. */
const SUITE = /^[A-Za-z0-9][A-Za-z0-9._+~\/-]{0,99}$/;

export function releaseLine(value: string, field: string, fallback: string): string {
  if (value === '') return fallback;
  if (!ONE_LINE.test(value) || value !== value.trim()) {
    throw invalid(`${field}: '${shown(value)}' is not a Release field value (one line of at most 200 characters, no control characters, no leading or trailing space)`);
  }
  return value;
}

export function suiteName(value: string, field: string, fallback: string): string {
  if (value === '') return fallback;
  if (!SUITE.test(value)) throw invalid(`${field}: '${shown(value)}' is not a suite name (letters, digits and . _ + ~ / -, at most 100, starting with a letter or digit)`);
  return value;
}

/** Release's Version (aptly 1.6): one word such as 12.5 or 2024.01; '' writes none. */
export function releaseVersion(value: string): string {
  if (value !== '' && !/^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,99}$/.test(value)) {
    throw invalid(`Version: '${shown(value)}' is not a release version (letters, digits and . + ~ _ -, at most 100, starting with a letter or digit)`);
  }
  return value;
}

/** NotAutomatic / ButAutomaticUpgrades: apt acts on "yes" only; aptly passes "yes" or nothing. */
export function yesNo(value: string, field: string): string {
  if (value !== '' && value !== 'yes' && value !== 'no') throw invalid(`${field}: must be "yes", "no" or empty, not '${shown(value)}'`);
  return value;
}

/** Architectures of a publish: Debian architecture names (amd64, arm64, all...). */
export function architectureList(values: string[]): string[] {
  const checked = values.map((a, i) => {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(a)) throw invalid(`Architectures[${i}]: invalid architecture '${shown(a)}'`);
    return a;
  });
  // aptly keeps a publish's architectures sorted (and shows them so).
  return [...new Set(checked)].sort();
}

/**
 * Release's Signed-By: apt (debReleaseIndex::Load) accepts only 40-hex-digit fingerprints and
 * fails `apt-get update` on anything else, so anything else is refused here.
 */
export function signedBy(raw: string): string {
  const value = raw.trim();
  if (value === '') return '';
  const fingerprints = value.split(/[\s,]+/).filter(Boolean);
  for (const f of fingerprints) {
    if (!/^[0-9A-Fa-f]{40}$/.test(f)) throw invalid(`SignedBy: '${f}' is not a 40-hex-digit OpenPGP fingerprint (apt rejects a Release file with anything else)`);
  }
  // Upper case, as apt compares them.
  return fingerprints.map((f) => f.toUpperCase()).join(',');
}

/** Throws 404 unless the repo (local) or snapshot exists. */
export function checkSource(ctx: Context, kind: PublishRecord['sourceKind'], name: string): void {
  if (kind === 'local') getRepo(ctx, name);
  else getSnapshot(ctx, name);
}

/** One source of a Sources/Snapshots list or a /sources request: it exists, its component is valid. */
export function resolveSource(ctx: Context, kind: PublishRecord['sourceKind'], ref: SourceRef, field: string, fallbackComponent: (name: string) => string): PublishSource {
  if (ref.name === '') throw invalid(`${field}.Name is required`);
  checkSource(ctx, kind, ref.name);
  const component = componentName(ref.component || fallbackComponent(ref.name), `${field}.Component`);
  return { component, name: ref.name };
}

export function resolveSources(ctx: Context, kind: PublishRecord['sourceKind'], refs: SourceRef[], field: string, fallbackComponent: (name: string) => string): PublishSource[] {
  if (refs.length === 0) throw invalid(`${field} must list at least one {Component, Name}`);
  const seen = new Set<string>();
  return refs.map((ref) => {
    const source = resolveSource(ctx, kind, ref, `${field}[]`, fallbackComponent);
    if (seen.has(source.component)) throw invalid(`component ${source.component} is listed twice`);
    seen.add(source.component);
    return source;
  });
}

/**
 * aptly's walkUpTree: the DefaultDistribution/DefaultComponent of the local repos a source
 * comes from, through any number of snapshots of snapshots.
 */
export function rootDefaults(ctx: Context, kind: PublishRecord['sourceKind'], name: string): { distributions: string[]; components: string[] } {
  const distributions: string[] = [];
  const components: string[] = [];
  const seen = new Set<string>();
  const todo: [PublishRecord['sourceKind'] | 'repo', string][] = [[kind, name]];
  for (let item = todo.shift(); item; item = todo.shift()) {
    const [k, n] = item;
    if (seen.has(`${k}\0${n}`)) continue;
    seen.add(`${k}\0${n}`);
    if (k === 'local') {
      const repo = ctx.store.repos.get(n);
      if (repo?.defaultDistribution) distributions.push(repo.defaultDistribution.replace(/\//g, '-'));
      if (repo?.defaultComponent) components.push(repo.defaultComponent);
    } else if (k === 'snapshot') {
      const snap = ctx.store.snapshots.get(n);
      // Snapshots from mirrors ("repo") have no local defaults here.
      if (snap && snap.sourceKind !== 'repo') for (const src of snap.sources) todo.push([snap.sourceKind, src]);
    }
  }
  return { distributions, components };
}

/** The one value all roots agree on, if they do. */
export const agreed = (values: string[]): string | undefined => (values.length > 0 && values.every((v) => v === values[0]) ? values[0] : undefined);

export const byComponent = (a: PublishSource, b: PublishSource): number => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0);

/** One queued update of a published distribution (PUT .../:distribution or POST .../update). */
export interface PublishChange {
  /** Components switched to other snapshots. */
  switches: PublishSource[];
  /** Replace the sources with the staged list, if one exists. */
  applyStaged: boolean;
  acquireByHash?: boolean;
  skipContents?: boolean;
  multiDist?: boolean;
  signedBy?: string;
  origin?: string;
  label?: string;
  /** '' removes the Version line. */
  version?: string;
  sign: boolean;
  /** The keys that sign, from the request's Signing options (started when it arrived). */
  signing?: Promise<Signer | undefined>;
  /** `signing` once the batch awaited it; undefined publishes unsigned. */
  signer?: Signer;
  forceOverwrite: boolean;
}

/** Validates an update against the current record (before it is queued). */
export function parseChange(ctx: Context, rec: PublishRecord, input: PublishUpdateInput, applyStaged: boolean): PublishChange {
  const change: PublishChange = { switches: [], applyStaged, sign: input.sign, forceOverwrite: input.forceOverwrite };
  if (input.switches !== undefined) {
    if (applyStaged) throw invalid('Snapshots is not a field of POST .../update; stage sources with .../sources');
    if (rec.sourceKind === 'local') throw invalid("snapshots shouldn't be given when updating local repo");
    change.switches = resolveSources(ctx, 'snapshot', input.switches, 'Snapshots', () => 'main');
    for (const s of change.switches) {
      if (!rec.sources.some((c) => c.component === s.component)) throw invalid(`component ${s.component} is not in this publish`);
    }
  }
  if (input.acquireByHash !== undefined) change.acquireByHash = input.acquireByHash;
  if (input.skipContents !== undefined) change.skipContents = input.skipContents;
  if (input.multiDist !== undefined) change.multiDist = input.multiDist;
  if (input.signedBy !== undefined) change.signedBy = signedBy(input.signedBy);
  // As at create: an empty Origin/Label keeps the stable non-empty default apt pins by.
  const fallback = rec.prefix === '.' ? 'debpkg' : rec.prefix;
  if (input.origin !== undefined) change.origin = releaseLine(input.origin, 'Origin', fallback);
  if (input.label !== undefined) change.label = releaseLine(input.label, 'Label', fallback);
  if (input.version !== undefined) change.version = releaseVersion(input.version);
  return change;
}

/**
 * The record after a change. Sources are checked again: a snapshot or repo may have gone
 * while the change queued (that request then fails alone).
 */
export function applyChange(ctx: Context, rec: PublishRecord, change: PublishChange): PublishRecord {
  const next: PublishRecord = { ...rec };
  if (change.switches.length > 0) {
    const sources = new Map(rec.sources.map((s) => [s.component, s] as const));
    for (const s of change.switches) {
      getSnapshot(ctx, s.name);
      if (!sources.has(s.component)) throw invalid(`component ${s.component} is not in this publish`);
      sources.set(s.component, s);
    }
    next.sources = [...sources.values()];
  }
  if (change.applyStaged && rec.staged) {
    if (rec.staged.length === 0) throw invalid('the staged source list is empty: a distribution needs at least one component');
    for (const s of rec.staged) checkSource(ctx, rec.sourceKind, s.name);
    next.sources = [...rec.staged].sort(byComponent);
    delete next.staged;
  }
  if (change.acquireByHash !== undefined) next.acquireByHash = change.acquireByHash;
  if (change.skipContents !== undefined) next.skipContents = change.skipContents;
  if (change.multiDist !== undefined) next.multiDist = change.multiDist;
  if (change.signedBy !== undefined) next.signedBy = change.signedBy;
  if (change.origin !== undefined) next.origin = change.origin;
  if (change.label !== undefined) next.label = change.label;
  if (change.version === '') delete next.version;
  else if (change.version !== undefined) next.version = change.version;
  return next;
}
