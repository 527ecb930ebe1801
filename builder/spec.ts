// Loading a spec: YAML → plain values (scalars kept as written) → ${ENV} expansion → JSON-schema
// validation → nfpm's overrides.deb merged → nfpm's defaults. Every problem found on the way is
// collected and reported in one run (spec-problems.ts), each with its field path and line.

import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { SpecError, type FieldPath, type SourcePosition } from './spec-error.js';
import { combine, schemaProblems } from './spec-problems.js';
import { applyDebOverride, originOf, type Origin, type PlainMap } from './spec-overrides.js';
import { applyNfpmDefaults, type DefaultsOptions } from './spec-defaults.js';
import { specValidator } from './spec-schema.js';
import type { Spec } from './spec-types.js';

export interface LoadedSpec {
  spec: Spec;
  /** The spec file; relative paths inside the spec are resolved against baseDir. */
  file: string;
  baseDir: string;
  /** Turns an error about a field into one that also names its line. */
  locate(error: SpecError): SpecError;
  mtime: number;
  /** Located problems that do not stop the build (nfpm's defaults used), each with the fix. */
  warnings: SpecError[];
  /** What the loader chose for the user (the default architecture). */
  notes: string[];
}

export type Environment = Readonly<Record<string, string | undefined>>;

export interface LoadOptions extends DefaultsOptions {
  /** Directory relative paths are resolved from (default: the spec's directory). */
  baseDir?: string;
  mtime?: number;
  /** An unset ${VAR} is an error instead of nfpm's empty string. */
  strictEnv?: boolean;
}

export async function loadSpec(file: string, env: Environment = process.env, opts: LoadOptions = {}): Promise<LoadedSpec> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SpecError([], `cannot read spec: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, file);
  }
  const mtime = Math.floor((await stat(path)).mtimeMs / 1000);
  return parseSpec(text, file, env, { baseDir: dirname(path), mtime, ...opts });
}

export function parseSpec(text: string, file: string, env: Environment = process.env, opts: LoadOptions = {}): LoadedSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  // Paths of the final spec map back to where they were written: an item dropped from a list
  // shifts the others, a value merged from overrides.deb lives under it.
  let origins: Origin[] = [];
  const shifts: Origin[] = [];
  const writtenPath = (path: FieldPath): FieldPath => originOf(originOf(path, origins), shifts);
  const positionOf = (written: FieldPath): SourcePosition | undefined => {
    // A field names the line of its key (an unknown or misspelt key has no useful value).
    const last = written[written.length - 1];
    const parent = doc.getIn(written.slice(0, -1), true);
    if (typeof last === 'string' && isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
      if (pair && isScalar(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]);
    }
    for (let n = written.length; n >= 0; n--) {
      const node = doc.getIn(written.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        return lineCounter.linePos(node.range[0]);
      }
    }
    return undefined;
  };
  const locate = (error: SpecError): SpecError => {
    const written = writtenPath(error.path);
    return new SpecError(written, error.reason, file, positionOf(written));
  };

  if (doc.errors.length > 0) {
    throw combine(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
        return new SpecError([], `invalid YAML: ${e.message.split('\n')[0]}`, file, pos);
      }),
      file,
    );
  }
  const problems: SpecError[] = [];
  const raw = toPlain(doc, doc.contents, [], problems);
  if (raw === undefined || typeof raw !== 'object' || Array.isArray(raw) || raw === null) {
    throw new SpecError([], 'the spec must be a YAML mapping of fields', file);
  }
  const expanded = expandEnv(raw, [], { env, strict: opts.strictEnv ?? false, problems, shifts }) as PlainMap;
  const validate = specValidator();
  if (!validate(expanded)) problems.push(...schemaProblems(validate.errors ?? []));
  const { merged, origins: fromOverrides } = applyDebOverride(expanded);
  origins = fromOverrides;
  // Tolerates ill-typed values, so its refusals join the schema's in the same run.
  const defaults = applyNfpmDefaults(merged, opts);
  problems.push(...defaults.problems);
  if (problems.length > 0) {
    const warnings = defaults.warnings.map((w) => new SpecError(w.path, `warning: ${w.reason}`));
    throw combine([...problems, ...warnings].map(locate), file);
  }
  return {
    spec: merged as unknown as Spec,
    file,
    baseDir: opts.baseDir ?? process.cwd(),
    locate,
    mtime: opts.mtime ?? 0,
    warnings: defaults.warnings.map(locate),
    notes: defaults.notes,
  };
}

type Plain = string | boolean | Plain[] | { [key: string]: Plain } | undefined;

/** Scalars keep their source text (1.10 stays "1.10", 0644 stays "0644"); null means absent. */
function toPlain(doc: Document, node: unknown, path: FieldPath, problems: SpecError[]): Plain {
  if (node === null || node === undefined) return undefined;
  if (isScalar(node)) {
    if (node.value === null) return undefined;
    if (typeof node.value === 'boolean') return node.value;
    if (typeof node.value === 'number' || typeof node.value === 'bigint') {
      return node.source ?? String(node.value);
    }
    return String(node.value);
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => {
      const value = toPlain(doc, item, [...path, i], problems);
      return value === undefined ? '' : value;
    });
  }
  if (isMap(node)) {
    const out: { [key: string]: Plain } = {};
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = toPlain(doc, pair.value, [...path, key], problems);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  problems.push(new SpecError(path, 'unsupported YAML node (aliases and tags are not allowed here)'));
  return undefined;
}

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * nfpm-style ${VAR} expansion (plus ${VAR:-default} and $$). An unset variable is "" as in nfpm;
 * with strict set it is an error naming the variable and the field.
 */
export function expandString(value: string, path: FieldPath, env: Environment, strict = false): string {
  return value.replace(ENV_REF, (match, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    if (match === '$$') return '$';
    const name = braced ?? bare ?? '';
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (found === '' || !strict) return '';
    throw new SpecError(path, `environment variable ${name} is not set (use \${${name}:-default} for a default)`);
  });
}

interface ExpandContext {
  env: Environment;
  strict: boolean;
  problems: SpecError[];
  /** Lists that lost empty items: new index → index in the file. */
  shifts: Origin[];
}

function expandEnv(value: Plain, path: FieldPath, ctx: ExpandContext): Plain {
  if (typeof value === 'string') {
    try {
      return expandString(value, path, ctx.env, ctx.strict);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      ctx.problems.push(err);
      return '';
    }
  }
  if (Array.isArray(value)) {
    const expanded = value.map((v, i) => expandEnv(v, [...path, i], ctx));
    if (!expanded.every((v) => typeof v === 'string')) return expanded;
    // nfpm drops list items that are empty once expanded (`- ${OPTIONAL_DEP}`).
    const kept: Plain[] = [];
    expanded.forEach((v, i) => {
      if (typeof v !== 'string' || v.trim() === '') return;
      if (kept.length !== i) ctx.shifts.push({ at: [...path, kept.length], from: [...path, i] });
      kept.push(v.trim());
    });
    return kept;
  }
  if (value && typeof value === 'object') {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, [...path, k], ctx);
    return out;
  }
  return value;
}
