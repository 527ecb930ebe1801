// The JSON the aptly-compatible API answers (aptly 1.6's PascalCase), one typed schema per
// shape: /api/openapi.json documents them (responses.ts says which route answers which), and
// http/wire.ts's types are derived from them, so the encoders cannot send a shape the
// document does not describe without tsc saying so. Descriptions are the fields' documentation.

import { tAny, tArray, tBoolean, tEither, tEnum, tInteger, tMap, tNullable, tNumber, tObject, tString } from './typed.js';

export const REPO = tObject(
  {
    Name: tString(),
    Comment: tString(),
    DefaultDistribution: tString('what a publish of this repo uses when the request names none'),
    DefaultComponent: tString(),
    Uploaders: tObject(
      {
        groups: tMap(tArray(tString()), 'group name → key ids'),
        rules: tArray(tObject({ condition: tString('an aptly package query over the .changes'), allow: tArray(tString()), deny: tArray(tString()) })),
      },
      { description: 'aptly\'s uploaders.json, only when the repo has its own rules (debpkg: settable through the API; aptly only by its CLI)' },
    ),
  },
  { optional: ['Uploaders'], description: 'a local repo' },
);

export const SNAPSHOT = tObject(
  {
    Name: tString(),
    CreatedAt: tString('when it was made, RFC 3339'),
    SourceKind: tString('"local" (of a repo) or "snapshot" (from snapshots or package keys)'),
    Description: tString(),
    Origin: tString('aptly\'s, for snapshots of mirrors: always empty here'),
    NotAutomatic: tString('aptly\'s, for snapshots of mirrors: always empty here'),
    ButAutomaticUpgrades: tString('aptly\'s, for snapshots of mirrors: always empty here'),
  },
  { description: 'an immutable set of packages' },
);

export const SOURCE = tObject({ Component: tString(), Name: tString('a local repo or a snapshot, by the publish\'s SourceKind') }, { description: 'one component of a publish and what it publishes' });

export const PUBLISHED_REPO = tObject(
  {
    Prefix: tString('"." for the root of the tree'),
    Distribution: tString(),
    SourceKind: tEnum(['local', 'snapshot']),
    Sources: tArray(SOURCE, 'in the order the request listed them'),
    Architectures: tArray(tString(), 'as requested, else those of the packages published'),
    Origin: tString(),
    Label: tString(),
    Suite: tString(),
    Codename: tString(),
    NotAutomatic: tString(),
    ButAutomaticUpgrades: tString(),
    AcquireByHash: tBoolean(),
    SkipContents: tBoolean(),
    MultiDist: tBoolean(),
    SignedBy: tString(),
    Version: tString(),
    Storage: tString('aptly\'s publish storage: always "" (the server\'s own tree)'),
    Path: tString('prefix/distribution'),
    'x-debpkg': tObject(
      {
        Generation: tInteger('the live publish generation'),
        Date: tNullable(tString(), 'when that generation was made: its Release file\'s Date, ISO 8601 UTC (null before the first)'),
      },
      {
        description:
          'debpkg\'s own, beside aptly\'s fields (aptly\'s clients ignore unknown keys; no Go field name can be spelled x-…)',
      },
    ),
  },
  { description: 'a published distribution' },
);

/** A package's control fields plus aptly's Key, ShortKey, FilesHash and file fields. */
export const PACKAGE_DETAILS = tMap(tString(), 'a package\'s control fields plus aptly\'s Key, ShortKey, FilesHash and its file\'s Filename, Size, MD5sum, SHA1, SHA256, SHA512 (a source package: the .dsc\'s file lists)');

export const PACKAGE_LIST = tEither(tArray(tString(), 'package keys'), tArray(PACKAGE_DETAILS), 'package keys, or with format=details every package\'s fields');

export const REPORT = tObject({ Warnings: tArray(tString()), Added: tArray(tString()), Removed: tArray(tString()) }, { description: 'what an add, include or copy did' });

export const IMPORT_REPORT = tObject({ FailedFiles: tArray(tString()), Report: REPORT }, { description: 'an add from the upload area or an include of .changes files' });

export const COPY_REPORT = tObject({ Report: REPORT });

export const PULL_DRY_RUN = tObject({ added_packages: tArray(tString()), removed_packages: tArray(tString()) }, { description: 'what a pull would do (aptly\'s snake case)' });

export const DIFF_ENTRY = tObject(
  { Left: tNullable(tString(), 'the key in the first snapshot'), Right: tNullable(tString(), 'the key in the second snapshot') },
  { description: 'a package that differs between two snapshots' },
);

/** The stored files as "dir/name". */
export const UPLOADED = tArray(tString(), 'the stored files, as dir/name');

export const TASK = tObject(
  { ID: tInteger(), Name: tString(), State: tInteger('0 idle, 1 running, 2 succeeded, 3 failed (aptly\'s numbers)') },
  { description: 'a background task (?_async)' },
);

export const TASK_RETURN_VALUE = tObject({ Code: tInteger('the status the request would have answered'), Value: tAny('the body it would have answered') });

export const VERSION = tObject({ Version: tString('the aptly API version this server answers as') });

export const STATUS = tObject({ Status: tString() }, { description: 'aptly\'s probe answer' });

export const STORAGE = tObject(
  { Total: tInteger('MiB'), Free: tInteger('MiB'), PercentFull: tNumber() },
  { description: 'the file system of the data directory (aptly\'s arithmetic)' },
);

/** Deletes and other writes with nothing to report answer an empty object, as aptly does. */
export const EMPTY = tObject({}, { description: 'nothing to report' });
