// Request bodies (aptly's PascalCase JSON) → the service's typed inputs, at the edge: a field
// of the wrong type is refused here with an Invalid naming it (answered 400). Rules about the
// values themselves (name grammars, what exists) stay in the service.

import { Invalid } from '../../model/errors.js';
import type { CopyOptions } from '../../service/repo-copy.js';
import type { CreateRepoInput, EditRepoInput } from '../../service/repos.js';
import type { PullInput } from '../../service/snapshot-pull.js';
import type { EditSnapshotInput, SnapshotFromRefsInput, SnapshotFromRepoInput } from '../../service/snapshots.js';
import type { PublishInput, PublishUpdateInput, SigningRequest, SourceRef } from '../../service/publish-options.js';
import type { StagedSourceEdit } from '../../service/publish-sources.js';
import { shown } from '../../service/names.js';

export type Body = Record<string, unknown>;

/** A JSON object body; none at all reads as {}. */
export function objectBody(raw: unknown): Body {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid('request body must be a JSON object');
  return raw as Body;
}

/** A string field; absent or null reads as `fallback`. */
export function text(v: unknown, field: string, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') throw new Invalid(`${field} must be a string`);
  return v;
}

/** A boolean field; absent or null reads as undefined. */
export function optionalFlag(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new Invalid(`${field} must be true or false`);
  return v;
}

/** A repo or snapshot name field: a string, else "invalid <what> name" (as the name check says). */
function nameField(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Invalid(`invalid ${what} name`);
  return v;
}

function stringList(v: unknown, field: string, message = `${field} must be a list of strings`): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Invalid(message);
  return v as string[];
}

/** Present only when the field is: exactOptionalPropertyTypes keeps absent and undefined apart. */
function some<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// ---- repos

export const createRepoInput = (b: Body): CreateRepoInput => ({
  name: nameField(b.Name, 'repo'),
  comment: text(b.Comment, 'Comment'),
  defaultDistribution: text(b.DefaultDistribution, 'DefaultDistribution'),
  defaultComponent: text(b.DefaultComponent, 'DefaultComponent'),
  fromSnapshot: text(b.FromSnapshot, 'FromSnapshot'),
  ...some('uploaders', b.Uploaders ?? undefined),
});

export const editRepoInput = (b: Body): EditRepoInput => ({
  ...some('name', b.Name === undefined ? undefined : nameField(b.Name, 'repo')),
  ...some('comment', b.Comment === undefined ? undefined : text(b.Comment, 'Comment')),
  ...some('defaultDistribution', b.DefaultDistribution === undefined ? undefined : text(b.DefaultDistribution, 'DefaultDistribution')),
  ...some('defaultComponent', b.DefaultComponent === undefined ? undefined : text(b.DefaultComponent, 'DefaultComponent')),
  // null removes the repo's rules (aptly's `repo edit -uploaders-file=""`).
  ...('Uploaders' in b ? { uploaders: b.Uploaders } : {}),
});

/** {"PackageRefs": [...]} of POST/DELETE /api/repos/:name/packages. */
export const packageRefs = (b: Body): string[] => stringList(b.PackageRefs, 'PackageRefs', 'PackageRefs must be a list of package keys');

export const copyOptions = (b: Body): CopyOptions => ({
  withDeps: optionalFlag(b['with-deps'], 'with-deps') ?? false,
  dryRun: optionalFlag(b['dry-run'], 'dry-run') ?? false,
});

// ---- snapshots

export const snapshotFromRepoInput = (b: Body): SnapshotFromRepoInput => ({
  name: nameField(b.Name, 'snapshot'),
  ...some('description', typeof b.Description === 'string' ? b.Description : undefined),
});

export const snapshotFromRefsInput = (b: Body): SnapshotFromRefsInput => ({
  name: nameField(b.Name, 'snapshot'),
  // aptly reads these lists loosely: anything listed is taken as a name.
  sourceSnapshots: Array.isArray(b.SourceSnapshots) ? (b.SourceSnapshots as unknown[]).map(String) : [],
  packageRefs: Array.isArray(b.PackageRefs) ? (b.PackageRefs as unknown[]).map(String) : [],
  ...some('description', typeof b.Description === 'string' ? b.Description : undefined),
});

export const editSnapshotInput = (b: Body): EditSnapshotInput => ({
  ...some('name', b.Name === undefined ? undefined : nameField(b.Name, 'snapshot')),
  ...some('description', typeof b.Description === 'string' ? b.Description : undefined),
});

/** The source snapshots of a merge. */
export const mergeSources = (b: Body): string[] => (b.Sources === undefined ? [] : stringList(b.Sources, 'Sources', 'Sources must be a list of snapshot names'));

/** The older POST /api/snapshots/merge names the new snapshot in the body. */
export function mergeDestination(b: Body): string {
  if (typeof b.Destination !== 'string') throw new Invalid('Destination is required');
  return b.Destination;
}

export function pullInput(b: Body): PullInput {
  if (typeof b.Source !== 'string' || b.Source === '') throw new Invalid('Source is required');
  const destination = nameField(b.Destination, 'Destination snapshot');
  const queries = b.Queries === undefined || b.Queries === null ? undefined : stringList(b.Queries, 'Queries');
  if (queries === undefined) throw new Invalid('Queries is required');
  return {
    source: b.Source,
    destination,
    queries,
    architectures: b.Architectures === undefined || b.Architectures === null ? [] : stringList(b.Architectures, 'Architectures'),
  };
}

// ---- publish

/** One {Component, Name}; `field` names it in errors ("Sources[]", "source"). */
export function sourceRef(raw: unknown, field: string): SourceRef {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid(`${field} must be {"Component": ..., "Name": ...}`);
  const o = raw as Body;
  return { name: text(o.Name, `${field}.Name`), component: text(o.Component, `${field}.Component`) };
}

function sourceRefs(raw: unknown, field: string): SourceRef[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Invalid(`${field} must list at least one {Component, Name}`);
  return raw.map((s: unknown) => sourceRef(s, `${field}[]`));
}

/** PUT .../sources: the whole staged list. */
export function sourceRefList(raw: unknown): SourceRef[] {
  if (!Array.isArray(raw)) throw new Invalid('the request body must be a list of {Component, Name}');
  return raw.map((s: unknown) => sourceRef(s, 'sources[]'));
}

/** PUT .../sources/:component {Component?, Name?}. */
export const stagedSourceEdit = (b: Body): StagedSourceEdit => ({
  ...some('component', b.Component === undefined ? undefined : text(b.Component, 'Component')),
  ...some('name', b.Name === undefined ? undefined : text(b.Name, 'Name')),
});

/**
 * aptly's `Signing` object. Go matches JSON field names case-insensitively (aptly's own
 * DualSignature test sends `GPGKey`), so this does too. `Skip` publishes unsigned; `GpgKey`
 * (comma-separated), `Keyring`, `SecretKeyring` and `Passphrase` select among the server's keys
 * (pgp/keyring.ts); `PassphraseFile` would name a file on the server and is refused; `Batch` is
 * accepted (the server never prompts).
 */
function signing(b: Body): { sign: boolean; signing?: SigningRequest } {
  const raw = b.Signing;
  if (raw === undefined || raw === null) return { sign: true };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Invalid('Signing must be an object');
  const field = (name: string): unknown => Object.entries(raw as Body).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  const skip = optionalFlag(field('Skip'), 'Signing.Skip') === true;
  optionalFlag(field('Batch'), 'Signing.Batch');
  const passphraseFile = text(field('PassphraseFile'), 'Signing.PassphraseFile');
  if (passphraseFile !== '') {
    throw new Invalid('Signing.PassphraseFile: the server reads no file a client names; send Signing.Passphrase or keep the key unprotected in the server keyring');
  }
  const request: SigningRequest = {
    gpgKeys: text(field('GpgKey'), 'Signing.GpgKey')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
    keyring: text(field('Keyring'), 'Signing.Keyring'),
    secretKeyring: text(field('SecretKeyring'), 'Signing.SecretKeyring'),
    passphrase: text(field('Passphrase'), 'Signing.Passphrase'),
  };
  return { sign: !skip, signing: request };
}

function architectures(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Invalid('Architectures must be a list');
  return v.map((a: unknown, i) => {
    if (typeof a !== 'string') throw new Invalid(`Architectures[${i}]: invalid architecture '${shown(String(a))}'`);
    return a;
  });
}

export const publishInput = (b: Body): PublishInput => ({
  sourceKind: text(b.SourceKind, 'SourceKind', 'local'),
  sources: sourceRefs(b.Sources, 'Sources'),
  distribution: text(b.Distribution, 'Distribution'),
  architectures: architectures(b.Architectures),
  origin: text(b.Origin, 'Origin'),
  label: text(b.Label, 'Label'),
  suite: text(b.Suite, 'Suite'),
  codename: text(b.Codename, 'Codename'),
  notAutomatic: text(b.NotAutomatic, 'NotAutomatic'),
  butAutomaticUpgrades: text(b.ButAutomaticUpgrades, 'ButAutomaticUpgrades'),
  ...some('acquireByHash', optionalFlag(b.AcquireByHash, 'AcquireByHash')),
  ...some('skipContents', optionalFlag(b.SkipContents, 'SkipContents')),
  ...some('multiDist', optionalFlag(b.MultiDist, 'MultiDist')),
  signedBy: text(b.SignedBy, 'SignedBy'),
  version: text(b.Version, 'Version'),
  ...signing(b),
  forceOverwrite: optionalFlag(b.ForceOverwrite, 'ForceOverwrite') === true,
});

/** PUT .../:distribution and POST .../update; an empty Snapshots list switches nothing. */
export function publishUpdateInput(b: Body): PublishUpdateInput {
  const switching = b.Snapshots !== undefined && b.Snapshots !== null && !(Array.isArray(b.Snapshots) && b.Snapshots.length === 0);
  // aptly's flags this server has no use for are still checked, so a typo'd value is not ignored.
  for (const k of ['SkipCleanup', 'SkipBz2'] as const) optionalFlag(b[k], k);
  return {
    ...some('switches', switching ? sourceRefs(b.Snapshots, 'Snapshots') : undefined),
    ...some('acquireByHash', optionalFlag(b.AcquireByHash, 'AcquireByHash')),
    ...some('skipContents', optionalFlag(b.SkipContents, 'SkipContents')),
    ...some('multiDist', optionalFlag(b.MultiDist, 'MultiDist')),
    ...some('signedBy', b.SignedBy === undefined || b.SignedBy === null ? undefined : text(b.SignedBy, 'SignedBy')),
    ...some('origin', b.Origin === undefined || b.Origin === null ? undefined : text(b.Origin, 'Origin')),
    ...some('label', b.Label === undefined || b.Label === null ? undefined : text(b.Label, 'Label')),
    ...some('version', b.Version === undefined || b.Version === null ? undefined : text(b.Version, 'Version')),
    ...signing(b),
    forceOverwrite: optionalFlag(b.ForceOverwrite, 'ForceOverwrite') === true,
  };
}
