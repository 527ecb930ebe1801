// The nfpm configs in test/fixtures/nfpm that are built side by side with real nfpm: where each
// is built from and the environment nfpm's acceptance tests give it. One list for the recorder
// (bench/record-nfpm.ts) and the comparison test, so they cannot drift apart.

import { join } from 'node:path';
import type { DebSummary } from './deb-summary.js';
import { REPO_ROOT } from './project.js';

export const NFPM_FIXTURES = join(REPO_ROOT, 'test/fixtures/nfpm');
export const NFPM_RESULTS = join(NFPM_FIXTURES, 'nfpm-results.json');
// nfpm's acceptance tests set these for every config (acceptance_test.go).
export const NFPM_ENV: Record<string, string> = { BUILD_ARCH: 'amd64', SEMVER: 'v1.0.0-0.1.b1+git.abcdefgh' };

export interface NfpmConfig {
  config: string;
  /** Directory the build runs in, relative to the fixtures (nfpm's acceptance tests: nfpm's root). */
  cwd: string;
}

const ACCEPTANCE = [
  'core.complex', 'core.env-var-version', 'core.meta', 'core.min', 'core.no-glob', 'core.overrides', 'core.signed',
  'core.simple', 'core.symlink', 'core.withchangelog', 'deb.breaks', 'deb.debsign.sign', 'deb.dpkg-sig.sign',
  'deb.gzip.compression', 'deb.none.compression', 'deb.predepends', 'deb.rules', 'deb.triggers', 'deb.xz.compression',
  'deb.zstd.compression', 'upgrade.v1', 'upgrade.v2',
];

export const NFPM_CONFIGS: NfpmConfig[] = [
  ...ACCEPTANCE.map((n) => ({ config: `testdata/acceptance/${n}.yaml`, cwd: '.' })),
  ...['contents', 'contents_directory', 'contents_glob', 'env-fields', 'overrides', 'overrides-missing'].map((n) => ({ config: `testdata/${n}.yaml`, cwd: '.' })),
  { config: 'nfpm.yaml', cwd: 'init' },
];

/** Key of a config in the results file. */
export function configKey(c: NfpmConfig): string {
  return c.cwd === '.' ? c.config : `${c.cwd}/${c.config}`;
}

/** What nfpm did with each config: the package it wrote, or its error. */
export type NfpmResult = { summary: DebSummary } | { error: string };
export interface NfpmResults {
  nfpm: string;
  configs: Record<string, NfpmResult>;
}
