// The invariants every case is held to, and the names of their violations. Per answer: 2xx or
// 4xx with a JSON body, within the deadline, never a reset or an empty reply. Per case: the
// server still runs, its RSS stays under the limit, nothing was written outside the data dir.

import type { Reply } from './client.js';

export type ViolationKind = 'exit' | 'rss' | 'hang' | '5xx' | 'reset' | 'non-json' | 'traversal' | 'publish' | 'apt-update' | 'apt-install';

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

export const LIMITS = {
  /** No request may take longer. */
  requestMs: 10_000,
  /** The server process's RSS ceiling (docs/repo-server.md, Limits and hardening). */
  rssKb: 300 * 1024,
  /** Its decompressor children together: xz is capped at 80 MiB, zstd at 128 MB of window. */
  childrenRssKb: 160 * 1024,
};

export function checkReply(r: Reply): Violation[] {
  const what = `${r.method} ${r.path.slice(0, 120)}`;
  if (r.error === 'timeout') return [{ kind: 'hang', detail: `${what}: no answer within ${LIMITS.requestMs} ms` }];
  if (r.error !== undefined || r.status === 0) return [{ kind: 'reset', detail: `${what}: ${r.error ?? 'no status'}` }];
  const out: Violation[] = [];
  if (r.ms > LIMITS.requestMs) out.push({ kind: 'hang', detail: `${what}: took ${r.ms} ms` });
  if (r.status >= 500 || r.status < 200 || (r.status >= 300 && r.status < 400)) out.push({ kind: '5xx', detail: `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}` });
  let json = true;
  try {
    JSON.parse(r.text);
  } catch {
    json = false;
  }
  if (!json || !/json/.test(r.contentType)) out.push({ kind: 'non-json', detail: `${what}: HTTP ${r.status} ${r.contentType || 'no content-type'} ${JSON.stringify(r.text.slice(0, 200))}` });
  return out;
}

/** "unable to import: c12/x.deb: ar member 'data.tar' is truncated (4 bytes…)" → a refusal class. */
export function refusalClass(r: Reply): string {
  let msg = '';
  try {
    const v = JSON.parse(r.text) as { error?: unknown; Report?: { Warnings?: unknown[] } };
    const w = v.Report?.Warnings?.[0];
    msg = typeof w === 'string' ? w : typeof v.error === 'string' ? v.error : '';
  } catch {
    msg = r.text;
  }
  const norm = msg
    .replace(/^[^:]*\/[^:]*: /, '') // "dir/file: " prefix of import warnings
    .replace(/'[^']*'|"[^"]*"|\([^)]*\)/g, '…')
    .replace(/\d+/g, 'N')
    .slice(0, 70);
  return `${r.status} ${norm}`;
}
