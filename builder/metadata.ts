// Spec → the binary package's identity and control fields, each validated against
// Debian's rules with errors naming the spec field.

import { parseRelationField, formatRelation, RelationError } from '../deb/relation.js';
import { parseVersion, VersionError } from '../deb/version.js';
import { DescriptionError, formatDescription } from '../deb/control.js';
import { SpecError } from './spec-error.js';
import type { Spec } from './spec-types.js';

export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** GOARCH and nfpm spellings → Debian architecture names. */
const ARCH_ALIASES: Record<string, string> = {
  '386': 'i386',
  x86_64: 'amd64',
  aarch64: 'arm64',
  arm5: 'armel',
  arm6: 'armhf',
  arm7: 'armhf',
  armv7: 'armhf',
  mipsle: 'mipsel',
  mips64le: 'mips64el',
  ppc64le: 'ppc64el',
  s390: 's390x',
};

export interface PackageMetadata {
  name: string;
  version: string;
  /** Revision present → not a native package (decides changelog.Debian.gz vs changelog.gz). */
  native: boolean;
  architecture: string;
  maintainer: string;
  /** Ordered control fields without Installed-Size (computed while the data is written). */
  fields: [string, string][];
}

/** nfpm's version assembly: [epoch:]version[~prerelease][+metadata][-release]. */
export function assembleVersion(spec: Spec): string {
  let upstream = spec.version.trim().replace(/^v(?=[0-9])/, '');
  let prerelease = spec.prerelease;
  let metadata = spec.version_metadata;
  if ((spec.version_schema ?? 'semver') === 'semver') {
    const m = /^([0-9]+(?:\.[0-9]+)*)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(upstream);
    if (m) {
      upstream = m[1]!;
      prerelease ??= m[2];
      metadata ??= m[3];
    }
  }
  if (prerelease) upstream += `~${prerelease}`;
  if (metadata) upstream += `+${metadata}`;
  const epoch = spec.epoch !== undefined && spec.epoch !== '' ? `${Number(spec.epoch)}:` : '';
  const release = spec.release !== undefined && spec.release !== '' ? `-${spec.release}` : '';
  return `${epoch}${upstream}${release}`;
}

const RELATION_FIELDS: [keyof Spec | ['deb', 'pre_depends' | 'predepends' | 'breaks'], string][] = [
  [['deb', 'pre_depends'], 'Pre-Depends'],
  ['depends', 'Depends'],
  ['recommends', 'Recommends'],
  ['suggests', 'Suggests'],
  [['deb', 'breaks'], 'Breaks'],
  ['conflicts', 'Conflicts'],
  ['replaces', 'Replaces'],
  ['provides', 'Provides'],
];

/** Fields debpkg computes; deb.fields may add others but not override these. */
const COMPUTED_FIELDS = new Set(
  ['Package', 'Version', 'Architecture', 'Maintainer', 'Installed-Size', 'Description', 'Section', 'Priority', 'Homepage'].concat(
    RELATION_FIELDS.map(([, f]) => f),
  ).map((f) => f.toLowerCase()),
);

export function packageMetadata(spec: Spec): PackageMetadata {
  const name = spec.name;
  if (!PACKAGE_NAME.test(name)) {
    throw new SpecError(['name'], `'${name}' is not a valid package name (lowercase letters, digits, + - . ; at least two characters, starting with a letter or digit)`);
  }
  const version = assembleVersion(spec);
  let parsed;
  try {
    parsed = parseVersion(version);
  } catch (err) {
    if (err instanceof VersionError) throw new SpecError(['version'], `'${version}' is not a valid Debian version: ${err.message}`);
    throw err;
  }
  const architecture = ARCH_ALIASES[spec.arch ?? 'all'] ?? spec.arch ?? 'all';
  if (!/^[a-z0-9][a-z0-9-]*$/.test(architecture) || architecture === 'any') {
    throw new SpecError(['arch'], `'${spec.arch}' is not a Debian architecture (amd64, arm64, all, ...)`);
  }
  const maintainer = spec.maintainer.trim();
  // 'Name' without an address builds with a warning, as in nfpm (spec-defaults.ts says the fix);
  // what would break the control file is refused.
  if (maintainer === '' || /[\n,]/.test(maintainer)) {
    throw new SpecError(['maintainer'], `'${maintainer}' must look like 'Full Name <email@example.org>' (one person, one line)`);
  }
  let description: string;
  try {
    description = formatDescription(spec.description);
  } catch (err) {
    if (err instanceof DescriptionError) throw new SpecError(['description'], err.message);
    throw err;
  }
  if (spec.deb?.pre_depends && spec.deb.predepends) {
    throw new SpecError(['deb', 'predepends'], 'use either pre_depends or predepends (nfpm spelling), not both');
  }

  const fields: [string, string][] = [
    ['Package', name],
    ['Version', version],
    ['Architecture', architecture],
    ['Maintainer', maintainer],
  ];
  for (const [key, field] of RELATION_FIELDS) {
    let list: string[] | undefined;
    let path: (string | number)[];
    if (Array.isArray(key)) {
      const deb = spec.deb ?? {};
      const k = key[1] === 'pre_depends' && !deb.pre_depends && deb.predepends ? 'predepends' : key[1];
      list = deb[k];
      path = ['deb', k];
    } else {
      list = spec[key] as string[] | undefined;
      path = [key];
    }
    if (!list || list.length === 0) continue;
    const groups = list.map((item, i) => {
      try {
        const parsedField = parseRelationField(item, { field, binary: true });
        if (parsedField.length !== 1) throw new RelationError(`one relation per list item, got '${item}'`);
        return parsedField[0]!;
      } catch (err) {
        if (err instanceof RelationError || err instanceof VersionError) throw new SpecError([...path, i], err.message);
        throw err;
      }
    });
    fields.push([field, formatRelation(groups)]);
  }
  fields.push(['Section', spec.section ?? 'misc']);
  fields.push(['Priority', spec.priority ?? 'optional']);
  if (spec.homepage) {
    if (!/^https?:\/\/\S+$/.test(spec.homepage)) throw new SpecError(['homepage'], `'${spec.homepage}' must be an http(s) URL`);
    fields.push(['Homepage', spec.homepage]);
  }
  for (const [k, v] of Object.entries(spec.deb?.fields ?? {})) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(k)) throw new SpecError(['deb', 'fields', k], 'is not a valid control field name');
    if (COMPUTED_FIELDS.has(k.toLowerCase())) throw new SpecError(['deb', 'fields', k], 'is computed by debpkg; set it with its own spec field');
    if (v.includes('\n') && !v.split('\n').slice(1).every((l) => l.trim() !== '')) {
      throw new SpecError(['deb', 'fields', k], 'multi-line values must not contain empty lines');
    }
    fields.push([k, v]);
  }
  fields.push(['Description', description]);
  return { name, version, native: parsed.revision === '', architecture, maintainer, fields };
}
