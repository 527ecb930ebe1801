// The spec as validated against schema/debpkg.schema.json (nfpm's field names).
// Scalars arrive as strings (versions like 1.10 must not become numbers), except booleans.

import type { DebScriptsSpec } from './deb-extras.js';
import type { DebSignatureSpec } from './deb-signature.js';
import type { DebTriggersSpec } from './deb-triggers.js';

export type ContentType = 'file' | 'config' | 'config|noreplace' | 'config|missingok' | 'dir' | 'symlink' | 'tree' | 'config|tree' | 'config|noreplace|tree' | 'config|missingok|tree' | 'ghost';

export interface FileInfoSpec {
  mode?: string;
  owner?: string;
  group?: string;
  mtime?: string;
  /** rpm's %lang; no deb equivalent (nfpm ignores it for deb too). */
  lang?: string;
}

export interface ContentSpec {
  src?: string;
  dst: string;
  type?: ContentType;
  packager?: string;
  file_info?: FileInfoSpec;
  /** nfpm's per-entry switch for ${VAR} in src/dst; debpkg expands every string anyway. */
  expand?: boolean;
  /** nfpm (rpm): directories not owned; deb ships every directory, so no effect. */
  disown_subtree?: string[];
}

export interface ScriptsSpec {
  preinstall?: string;
  postinstall?: string;
  preremove?: string;
  postremove?: string;
}

export interface DebSpec {
  compression?: string;
  breaks?: string[];
  pre_depends?: string[];
  predepends?: string[];
  fields?: Record<string, string>;
  lintian_overrides?: string[];
  triggers?: DebTriggersSpec;
  scripts?: DebScriptsSpec;
  arch_variant?: string;
  signature?: DebSignatureSpec;
}

export interface SystemdUnitFields {
  description?: string;
  documentation?: string;
  after?: string[];
  wants?: string[];
  requires?: string[];
  type?: string;
  user?: string;
  group?: string;
  working_directory?: string;
  environment?: Record<string, string>;
  environment_file?: string;
  exec_start_pre?: string[];
  exec_start: string;
  exec_reload?: string;
  restart?: string;
  restart_sec?: string;
  limit_nofile?: string;
  wanted_by?: string[];
}

export interface SystemdSpec {
  /** Unit name, e.g. "app.service". */
  name: string;
  /** A unit file shipped as is (mutually exclusive with `unit`). */
  file?: string;
  /** Fields rendered into a unit file from templates/systemd/service.mustache. */
  unit?: SystemdUnitFields;
  enable?: boolean;
  start?: boolean;
  restart_on_upgrade?: boolean;
}

export interface ColorHealthSpec {
  /** HTTP path the agent GETs on 127.0.0.1:<port> (default /healthz). */
  path?: string;
  /** Heartbeat and health-check interval, e.g. 2s or 500ms (default 2s). */
  interval?: string;
  /** Timeout of one health check (default 1s). */
  timeout?: string;
}

/** Blue/green membership: ships a registration agent (docs/color-groups.md §1). */
export interface ColorSpec {
  /** Service name in the registry (default: the package name). */
  service?: string;
  port: string;
  health?: ColorHealthSpec;
  /** Relative capacity of one unit within its color, 1-256 (default 100). */
  weight?: string;
}

export interface Spec {
  name: string;
  version: string;
  version_schema?: 'semver' | 'none';
  epoch?: string;
  release?: string;
  prerelease?: string;
  version_metadata?: string;
  arch?: string;
  platform?: string;
  maintainer: string;
  description: string;
  homepage?: string;
  license?: string;
  section?: string;
  priority?: string;
  vendor?: string;
  depends?: string[];
  recommends?: string[];
  suggests?: string[];
  conflicts?: string[];
  replaces?: string[];
  provides?: string[];
  contents?: ContentSpec[];
  scripts?: ScriptsSpec;
  deb?: DebSpec;
  changelog?: string;
  mtime?: string;
  disable_globbing?: boolean;
  /** nfpm's umask (octal). */
  umask?: string;
  systemd?: SystemdSpec[];
  color?: ColorSpec;
}
