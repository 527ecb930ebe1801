// Every problem of a spec in one run: a migrating nfpm user must not discover one field per build.
// Schema errors are worded for a person here, collected with YAML, environment and nfpm-default
// problems, located on their lines and thrown together as one SpecProblems.

import type { ErrorObject } from 'ajv';
import { SpecError, type FieldPath } from './spec-error.js';

/** Several located problems of one spec; its message lists each on its own line, in file order. */
export class SpecProblems extends SpecError {
  constructor(readonly problems: SpecError[], file: string) {
    super([], summary(problems), file);
  }
}

function summary(problems: SpecError[]): string {
  const n = problems.length;
  return `${n} problem${n === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p.message}`).join('\n')}`;
}

/** One error as is, several as a SpecProblems (sorted by line, then column). */
export function combine(problems: SpecError[], file: string): SpecError {
  const sorted = [...problems].sort(
    (a, b) => (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0),
  );
  const only = sorted[0];
  return sorted.length === 1 && only ? only : new SpecProblems(sorted, file);
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
}

/**
 * All schema errors, one per field: ajv reports a wrong type and, say, a pattern for one value,
 * so the first (most telling) reason per field wins.
 */
export function schemaProblems(errors: ErrorObject[]): SpecError[] {
  const rank = (e: ErrorObject): number =>
    e.keyword === 'additionalProperties' ? 0 : e.keyword === 'required' ? 1 : e.keyword === 'type' ? 2 : e.keyword === 'enum' ? 3 : 4;
  const byField = new Map<string, SpecError>();
  for (const e of [...errors].sort((a, b) => rank(a) - rank(b))) {
    const error = schemaError(e);
    const key = error.field;
    if (!byField.has(key)) byField.set(key, error);
  }
  return [...byField.values()];
}

function schemaError(e: ErrorObject): SpecError {
  const path = pathOf(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return new SpecError([...path, String(params.additionalProperty)], unknownField(path));
    case 'required':
      return new SpecError([...path, String(params.missingProperty)], requiredField(path, String(params.missingProperty)));
    case 'enum':
      return new SpecError(path, `must be one of: ${(params.allowedValues as unknown[]).join(', ')}`);
    case 'const':
      return new SpecError(path, `must be ${String(params.allowedValue)}`);
    case 'pattern':
      return new SpecError(path, `has an invalid value (expected ${describePattern(path)})`);
    case 'type':
      return new SpecError(path, `must be ${params.type === 'array' ? 'a list' : params.type === 'object' ? 'a mapping' : `a ${String(params.type)}`}`);
    case 'minLength':
      return new SpecError(path, 'must not be empty');
    default:
      return new SpecError(path, e.message ?? 'is invalid');
  }
}

function unknownField(parent: FieldPath): string {
  if (parent.length === 1 && parent[0] === 'overrides') {
    return 'unknown field (nfpm has no such packager: deb, rpm, apk, archlinux, ipk or msix)';
  }
  return 'unknown field';
}

const REQUIRED_FIX: Record<string, string> = {
  name: "add `name: my-package` (lowercase letters, digits, + - .)",
  version: 'add `version: 1.0.0` (or `version: ${VERSION}` to take it from the environment)',
  dst: 'add `dst: /absolute/path/in/package`',
  exec_start: 'add `exec_start: /usr/bin/my-daemon`',
};

function requiredField(parent: FieldPath, missing: string): string {
  const fix = parent.length === 0 || missing !== 'name' ? REQUIRED_FIX[missing] : undefined;
  return fix ? `is required: ${fix}` : 'is required';
}

function describePattern(path: FieldPath): string {
  const last = path[path.length - 1];
  switch (last) {
    case 'mode':
    case 'umask':
      return 'octal permission bits like 0644';
    case 'compression':
      return path[0] === 'rpm' ? 'gzip, lzma, xz or zstd (optionally :LEVEL)' : 'gzip, xz, zstd (optionally :LEVEL) or none';
    case 'epoch':
      return 'a non-negative integer';
    case 'owner':
    case 'group':
      return 'a user/group name or numeric id';
    case 'name':
      return 'a systemd unit name like app.service';
    case 'service':
      return 'a registry service name: lowercase letters, digits and -, at most 63 characters';
    case 'port':
      return 'a TCP port 1-65535';
    case 'weight':
      return 'a whole number 1-256';
    case 'priority':
      return 'a whole number';
    case 'interval':
    case 'timeout':
      return 'a duration like 2s, 1.5s or 500ms';
    case 'path':
      return 'an absolute URL path of A-Z a-z 0-9 . _ ~ / - (no query string)';
    default:
      return 'a different format';
  }
}
