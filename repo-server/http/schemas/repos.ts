// Schemas of /api/repos and /api/snapshots requests (aptly's field names): what fastify checks
// before wire/decode.ts turns a body into the service's input. Types only; the name grammars
// and what must exist stay in the service, which says more than a pattern could.

import { asyncQuery, object, optBool, optStr, queryFlag, queryOf, str, strList, type Schema } from './schema.js';

/** aptly's package list query, for every list of packages (packages.ts's listOptions). */
export const PACKAGE_LIST_QUERY: Schema = queryOf({
  q: 'a package query in aptly\'s language, e.g. "Name (~ ^lib), $Architecture (amd64)"',
  withDeps: queryFlag('with q: also the dependencies of what matches'),
  maximumVersion: queryFlag('only the highest version of each package'),
  format: '"details" for every package\'s fields instead of its key',
});

export const CREATE_REPO: Schema = object(
  {
    Name: str('the repo name', { 'x-error': 'invalid repo name' }),
    Comment: optStr(),
    DefaultDistribution: optStr('what a publish of this repo uses when the request names none'),
    DefaultComponent: optStr(),
    FromSnapshot: optStr('start with the packages of this snapshot'),
  },
  { required: ['Name'], example: { Name: 'main', Comment: 'our packages', DefaultDistribution: 'bookworm', DefaultComponent: 'main' } },
);

export const EDIT_REPO: Schema = object(
  {
    Name: str('a new name', { 'x-error': 'invalid repo name' }),
    Comment: optStr(),
    DefaultDistribution: optStr(),
    DefaultComponent: optStr(),
  },
  { example: { Comment: 'released packages', DefaultDistribution: 'trixie' } },
);

export const PACKAGE_REFS: Schema = object(
  { PackageRefs: strList('package keys ("Pamd64 hello 1.0-1 5f2a…")', { 'x-error': 'PackageRefs must be a list of package keys' }) },
  { required: ['PackageRefs'], example: { PackageRefs: ['Pamd64 hello 1.0-1 0123456789abcdef'] } },
);

export const COPY: Schema = object({ 'with-deps': optBool('copy the dependencies too'), 'dry-run': optBool('report, change nothing') }, { example: { 'with-deps': true } });

export const SNAPSHOT_FROM_REPO: Schema = object(
  { Name: str('the snapshot name', { 'x-error': 'invalid snapshot name' }), Description: optStr() },
  { required: ['Name'], example: { Name: 'main-2026-12-03', Description: 'before the release' } },
);

export const SNAPSHOT_FROM_REFS: Schema = object(
  {
    Name: str('the snapshot name', { 'x-error': 'invalid snapshot name' }),
    Description: optStr(),
    SourceSnapshots: strList('snapshots the new one is based on', { nullable: true }),
    PackageRefs: strList('package keys', { nullable: true }),
  },
  { required: ['Name'], example: { Name: 'picked', PackageRefs: ['Pall hello 1.0-1 0123456789abcdef'] } },
);

export const EDIT_SNAPSHOT: Schema = object(
  { Name: str('a new name', { 'x-error': 'invalid snapshot name' }), Description: optStr() },
  { example: { Description: 'tested on staging' } },
);

export const MERGE: Schema = object(
  { Sources: strList('snapshots to merge, in order', { 'x-error': 'Sources must be a list of snapshot names' }) },
  { example: { Sources: ['base', 'updates'] } },
);

/** The older POST /api/snapshots/merge: the new snapshot's name in the body. */
export const MERGE_TO: Schema = object(
  {
    Destination: str('the new snapshot', { 'x-error': 'Destination is required' }),
    Sources: strList('snapshots to merge, in order', { 'x-error': 'Sources must be a list of snapshot names' }),
  },
  { required: ['Destination'], example: { Destination: 'merged', Sources: ['base', 'updates'] } },
);

export const MERGE_QUERY: Schema = asyncQuery({
  latest: queryFlag('keep only the latest version of each package'),
  'no-remove': queryFlag('keep packages of earlier sources that later ones replace'),
  noRemove: queryFlag('as no-remove (the older spelling)'),
});

export const PULL: Schema = object(
  {
    Source: str('the snapshot to pull from', { minLength: 1, 'x-error': 'Source is required' }),
    Destination: str('the new snapshot', { 'x-error': 'invalid Destination snapshot name' }),
    Queries: strList('package queries of what to pull'),
    Architectures: strList('architectures to pull (default: those of the snapshot)', { nullable: true }),
  },
  { required: ['Source', 'Destination', 'Queries'], example: { Source: 'updates', Destination: 'pulled', Queries: ['hello (>= 1.1)'], Architectures: ['amd64'] } },
);

export const PULL_QUERY: Schema = asyncQuery({
  'all-matches': queryFlag('pull every package a query matches, not only the highest'),
  'dry-run': queryFlag('report, change nothing'),
  'no-deps': queryFlag('no dependencies'),
  'no-remove': queryFlag('keep what the pulled packages would replace'),
});

export const FORCE_QUERY: Schema = asyncQuery({ force: queryFlag('drop even when something depends on it') });

export const IMPORT_QUERY: Schema = asyncQuery({
  forceReplace: queryFlag('replace packages that clash with the added ones'),
  noRemove: queryFlag('keep the uploaded files'),
});

export const INCLUDE_QUERY: Schema = asyncQuery({
  forceReplace: queryFlag('replace packages that clash with the added ones'),
  noRemoveFiles: queryFlag('keep the uploaded files'),
  acceptUnsigned: queryFlag('take .changes files without a signature'),
  ignoreSignature: queryFlag('do not check the .changes signature'),
});

export const SNAPSHOT_LIST_QUERY: Schema = queryOf({ sort: 'name (default) or time' });
export const DIFF_QUERY: Schema = queryOf({ onlyMatching: queryFlag('only packages in both, with different versions') });
