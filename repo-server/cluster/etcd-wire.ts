// The wire form of etcd's JSON gateway (grpc-gateway's proto3 JSON): keys and values base64,
// revisions and lease IDs as decimal strings, compares and ops as tagged objects. Pure mapping,
// no I/O: the client (etcd-client.ts) sends and parses with these.

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  lease: string;
}

export type Compare =
  | { key: string; target: 'CREATE' | 'MOD' | 'VERSION'; result: 'EQUAL' | 'NOT_EQUAL' | 'GREATER' | 'LESS'; revision: number }
  | { key: string; target: 'VALUE'; result: 'EQUAL' | 'NOT_EQUAL'; value: string };

export type Op = { put: { key: string; value: string; lease?: string } } | { del: { key: string; prefix?: boolean } };

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
}

export type Json = Record<string, unknown>;

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: unknown): string => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) return Buffer.concat([b.subarray(0, i), Buffer.from([b[i]! + 1])]).toString('base64');
  }
  return b64('\0');
}

export function kvOf(j: Json): KeyValue {
  return {
    key: unb64(j.key),
    value: unb64(j.value),
    createRevision: Number(j.create_revision ?? 0),
    modRevision: Number(j.mod_revision ?? 0),
    lease: String(j.lease ?? '0'),
  };
}

export function opJson(op: Op): Json {
  if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease ? { lease: op.put.lease } : {}) } };
  return { request_delete_range: { key: b64(op.del.key), ...(op.del.prefix ? { range_end: prefixEnd(op.del.key) } : {}) } };
}

export function compareJson(c: Compare): Json {
  const base = { key: b64(c.key), target: c.target, result: c.result };
  if (c.target === 'VALUE') return { ...base, value: b64(c.value) };
  const field = c.target === 'CREATE' ? 'create_revision' : c.target === 'MOD' ? 'mod_revision' : 'version';
  return { ...base, [field]: String(c.revision) };
}


/** One line of a watch stream: its events and revision, 'compacted' (the start revision is gone), or nothing to act on. */
export function watchAnswer(line: string): { events: WatchEvent[]; revision: number } | 'compacted' | undefined {
  const j = JSON.parse(line) as Json;
  const r = j.result as Json | undefined;
  if (!r) return undefined;
  if (r.compact_revision !== undefined && Number(r.compact_revision) > 0) return 'compacted';
  const events = ((r.events as Json[] | undefined) ?? []).map((e): WatchEvent => ({ type: e.type === 'DELETE' ? 'delete' : 'put', kv: kvOf(e.kv as Json) }));
  return { events, revision: Number((r.header as Json | undefined)?.revision ?? 0) };
}

/** The lease keepalive stream's answers, one JSON object per line: lease ID → TTL (0: gone). An error line throws. */
export function keepAliveAnswers(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const j = JSON.parse(line) as Json;
    const r = j.result as Json | undefined;
    if (!r) throw new Error(String((j.error as Json | undefined)?.message ?? j.error ?? 'keepalive failed'));
    out.set(String(r.ID), Number(r.TTL ?? 0));
  }
  return out;
}
