// aptly's uploaders rules (deb/uploaders.go, `uploaders.json`): which signing keys may include
// which .changes into a repo. A repo's own rules (its `Uploaders` field) replace the server's
// global ones (<data>/keys/uploaders.json, aptly's `repo include -uploaders-file`); with
// neither, any key of the trusted uploaders keyring may include into any repo.
//
// Semantics as aptly's IsAllowed: rules are tried in order; a rule whose condition (aptly's
// package query over the .changes fields) matches first checks `deny` — any signer listed
// (or "*") refuses the upload — then `allow` — any signer listed (or "*") accepts it —
// and otherwise the next rule is tried; no rule deciding refuses. Lists may name groups,
// expanded recursively (a cycle stops). A .changes included without a verified signature
// (ignoreSignature, acceptUnsigned) has no signers, so rules refuse it, as aptly's do.
// Beyond aptly: a key may be named by its fingerprint as well as its long or short key id,
// and names that are neither a key id, "*" nor a group are refused when the rules are set
// (aptly would keep them and never match).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Paragraph } from '../../deb/control.js';
import { matches, parse, QueryError, type PackageFields, type QueryNode } from '../packages/query.js';
import type { UploadersRules } from '../storage/records.js';
import { invalid } from './errors.js';

const MAX_RULES = 1000;
const MAX_GROUPS = 1000;
const MAX_ITEMS = 1000;
const MAX_TEXT = 1000;
/** The global rules file is read at each include; it is the operator's, but still bounded. */
const MAX_FILE_BYTES = 1 << 20;
const KEY_ID = /^(?:0x)?([0-9A-Fa-f]{8}|[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40})$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

/** Where the server's global rules live (aptly's -uploaders-file). */
export const globalUploadersFile = (keysDir: string): string => join(keysDir, 'uploaders.json');

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > MAX_ITEMS || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > MAX_TEXT)) {
    throw invalid(`${field} must be a list of at most ${MAX_ITEMS} key ids or group names`);
  }
  return v as string[];
}

/**
 * Checks an uploaders.json value (aptly's shape: {"groups": {name: [items]}, "rules":
 * [{"condition", "allow", "deny"}]}) and returns it normalized; `field` names it in errors.
 */
export function parseUploaders(raw: unknown, field = 'Uploaders'): UploadersRules {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${field} must be an object with "groups" and "rules"`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'groups' && k !== 'rules') throw invalid(`${field}: unknown field '${k.slice(0, 50)}' (aptly's uploaders.json has "groups" and "rules")`);
  const groups: Record<string, string[]> = {};
  if (o.groups !== undefined && o.groups !== null) {
    if (typeof o.groups !== 'object' || Array.isArray(o.groups)) throw invalid(`${field}.groups must be an object of lists`);
    const entries = Object.entries(o.groups as Record<string, unknown>);
    if (entries.length > MAX_GROUPS) throw invalid(`${field}.groups: at most ${MAX_GROUPS} groups`);
    for (const [name, items] of entries) {
      if (!GROUP_NAME.test(name) || name === '*') throw invalid(`${field}.groups: invalid group name '${name.slice(0, 100)}'`);
      groups[name] = stringList(items, `${field}.groups.${name}`);
    }
  }
  if (!Array.isArray(o.rules)) throw invalid(`${field}.rules must be a list of rules`);
  if (o.rules.length > MAX_RULES) throw invalid(`${field}.rules: at most ${MAX_RULES} rules`);
  const known = (item: string, where: string): void => {
    if (item !== '*' && !KEY_ID.test(item) && !(item in groups)) throw invalid(`${where}: '${item.slice(0, 100)}' is neither "*", a key id or fingerprint, nor a group`);
  };
  for (const [name, items] of Object.entries(groups)) items.forEach((it, i) => known(it, `${field}.groups.${name}[${i}]`));
  const rules = o.rules.map((r: unknown, i) => {
    const at = `${field}.rules[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw invalid(`${at} must be an object`);
    const rule = r as Record<string, unknown>;
    for (const k of Object.keys(rule)) if (!['condition', 'allow', 'deny'].includes(k)) throw invalid(`${at}: unknown field '${k.slice(0, 50)}'`);
    if (typeof rule.condition !== 'string' || rule.condition.length > MAX_TEXT) throw invalid(`${at}.condition must be a package query of at most ${MAX_TEXT} characters`);
    compile(rule.condition, `${at}.condition`);
    const allow = stringList(rule.allow, `${at}.allow`);
    const deny = stringList(rule.deny, `${at}.deny`);
    allow.forEach((it, j) => known(it, `${at}.allow[${j}]`));
    deny.forEach((it, j) => known(it, `${at}.deny[${j}]`));
    return { condition: rule.condition, allow, deny };
  });
  return { groups, rules };
}

function compile(condition: string, where: string): QueryNode {
  try {
    return parse(condition);
  } catch (err) {
    if (err instanceof QueryError) throw invalid(`${where}: unable to parse query '${condition.slice(0, 100)}': ${err.message}`);
    throw err;
  }
}

/** aptly's ExpandGroups: groups replaced by their members, recursively; a cycle stops. */
function expand(u: UploadersRules, items: string[], trail: string[] = []): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (trail.includes(item)) continue;
    const members = u.groups[item];
    out.push(...(members === undefined ? [item] : expand(u, members, [...trail, item])));
  }
  return [...new Set(out)];
}

/** Does a rule's item name this signer? Fingerprints match whole; key ids by their tail (aptly: long or short id). */
function names(item: string, signer: string): boolean {
  if (item === '*') return true;
  const id = KEY_ID.exec(item)?.[1]?.toUpperCase();
  return id !== undefined && signer.toUpperCase().endsWith(id);
}

/** The .changes as aptly's rule conditions see it: its fields as written, everything else empty. */
function changesFields(fields: Paragraph): PackageFields {
  return { get: (f) => fields.get(f) ?? '' };
}

/**
 * null when the signers may upload this .changes; else the reason, in aptly's words.
 * `signers` are the fingerprints of the verified signing key and its primary key.
 */
export function uploadRefusal(u: UploadersRules, fields: Paragraph, signers: string[]): string | null {
  const pkg = changesFields(fields);
  for (const rule of u.rules) {
    if (!matches(compile(rule.condition, 'condition'), pkg)) continue;
    const deny = expand(u, rule.deny);
    if (signers.some((s) => deny.some((d) => names(d, s)))) return `denied according to rule: ${JSON.stringify(rule)}`;
    const allow = expand(u, rule.allow);
    if (signers.some((s) => allow.some((a) => names(a, s)))) return null;
  }
  return 'denied as no rule matches';
}

/** The server's global rules, read at each include (no restart); undefined without the file. */
export async function globalUploaders(keysDir: string): Promise<UploadersRules | undefined> {
  const path = globalUploadersFile(keysDir);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (bytes.length > MAX_FILE_BYTES) throw invalid(`keys/uploaders.json is ${bytes.length} bytes; at most ${MAX_FILE_BYTES} are allowed`);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`keys/uploaders.json: not JSON: ${(err as Error).message}`);
  }
  return parseUploaders(raw, 'keys/uploaders.json');
}
