// Schemas of /api/publish and /api/gpg requests (aptly's field names): types only; the
// distribution and component grammars, the sources that must exist, and the keys a Signing
// request may pick are checked by service/publish-options.ts behind these.

import { object, optBool, optStr, str, strList, type Schema } from './schema.js';

const SHAPE = '{"Component": ..., "Name": ...}';

/** One {Component, Name} of a publish's sources. */
export const SOURCE_REF: Schema = object(
  { Component: optStr('the component (default: the repo\'s DefaultComponent, else main)'), Name: optStr('a local repo or a snapshot, by SourceKind') },
  { example: { Component: 'main', Name: 'main' } },
);
const sourceList = (what: string, extra: Schema = {}): Schema => ({ type: 'array', items: { ...SOURCE_REF, 'x-error': `{field} must be ${SHAPE}` }, description: what, ...extra });

/** aptly's Signing: Go matches its keys case-insensitively, so other spellings pass on to the decoder. */
const SIGNING: Schema = {
  ...object({
    Skip: optBool('publish unsigned'),
    Batch: optBool('accepted; the server never prompts'),
    GpgKey: optStr('key ids or fingerprints of the server keyring, comma-separated (default: the server key)'),
    Keyring: optStr(),
    SecretKeyring: optStr(),
    Passphrase: optStr(),
    PassphraseFile: optStr('refused: the server reads no file a client names'),
  }),
  nullable: true,
};

const COMMON = {
  AcquireByHash: optBool('publish by-hash index files'),
  SkipContents: optBool('no Contents indexes'),
  MultiDist: optBool('pool files per distribution'),
  SignedBy: optStr('the Signed-By field of the Release file'),
  Signing: SIGNING,
  ForceOverwrite: optBool('publish beside pool files that hold other bytes instead of refusing'),
};

export const PUBLISH: Schema = object(
  {
    SourceKind: optStr('"local" (repos, the default) or "snapshot"'),
    Sources: sourceList('what is published, one per component', { minItems: 1, 'x-error': `Sources must list at least one {Component, Name}` }),
    Distribution: optStr('default: the sources\' DefaultDistribution'),
    Architectures: { ...strList('default: those of the packages', { nullable: true }), items: { type: 'string', 'x-error': "{field}: invalid architecture '{value}'" } },
    Origin: optStr(),
    Label: optStr(),
    Suite: optStr(),
    Codename: optStr(),
    NotAutomatic: optStr('"yes" for NotAutomatic: yes'),
    ButAutomaticUpgrades: optStr('"yes" for ButAutomaticUpgrades: yes'),
    Version: optStr('the Release file\'s Version'),
    ...COMMON,
  },
  { required: ['Sources'], example: { SourceKind: 'snapshot', Sources: [{ Component: 'main', Name: 'main-2026-12-03' }], Distribution: 'bookworm', Architectures: ['amd64', 'all'] } },
);

/** PUT .../:distribution and POST .../update. */
export const PUBLISH_UPDATE: Schema = object(
  {
    Snapshots: sourceList('switch components to these snapshots (snapshot publishes)', { nullable: true }),
    SkipCleanup: optBool('accepted (aptly\'s; the server keeps what clients may still fetch)'),
    SkipBz2: optBool('accepted (no .bz2 indexes are written)'),
    ...COMMON,
  },
  { example: { Snapshots: [{ Component: 'main', Name: 'main-2026-12-04' }], Signing: { GpgKey: 'A1B2C3D4' } } },
);

/** POST .../sources: one source to stage. */
export const STAGE_SOURCE: Schema = { ...SOURCE_REF, 'x-error': `source must be ${SHAPE}` };

/** PUT .../sources: the whole staged list. */
export const STAGE_SOURCES: Schema = {
  type: 'array',
  items: { ...SOURCE_REF, 'x-error': `{field} must be ${SHAPE}` },
  'x-error': 'the request body must be a list of {Component, Name}',
  example: [{ Component: 'main', Name: 'main-2026-12-04' }],
};

/** PUT .../sources/:component. */
export const EDIT_STAGED: Schema = object({ Component: optStr('a new component name'), Name: optStr('a new source') }, { example: { Name: 'main-2026-12-05' } });

export const GPG_KEY: Schema = object(
  {
    GpgKeyArmor: optStr('the armored public key'),
    Keyring: optStr('the trusted keyring to add it to (default: trustedkeys.gpg)'),
    Keyserver: optStr('refused: the server reaches no keyserver'),
    GpgKeyID: optStr('refused without GpgKeyArmor'),
  },
  { example: { GpgKeyArmor: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n…\n-----END PGP PUBLIC KEY BLOCK-----\n' } },
);
