// Checks real answers against /api/openapi.json: a request's answer must have a status the
// document lists for its operation (an error: the default), a JSON body must validate (Ajv)
// against the schema documented for that status with every object closed (so a field the
// server sends and the document does not list fails too), any other body must have a
// documented media type. Mismatches are collected, and which statuses were seen, so a test can
// also ask which documented answers it never saw. Used by openapi-responses.test.ts.

import { Ajv, type ValidateFunction } from 'ajv';
import { TEST_TOKEN } from './repo-server.js';

type Json = Record<string, unknown>;
export interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>>;
  components: { schemas: Record<string, Json> };
}
export interface CheckedAnswer {
  status: number;
  /** The media type, without parameters. */
  type: string;
  json: unknown;
  text: string;
  headers: Headers;
}
export interface CallOptions {
  token?: string | null;
  headers?: Record<string, string>;
  /** Read the head only (an event stream never ends). */
  headOnly?: boolean;
}

/** Every documented object closed: an undocumented field in an answer is a mismatch. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const o: Json = {};
  for (const [k, v] of Object.entries(node as Json)) o[k] = k === 'example' || k === 'enum' ? v : closed(v);
  if (o.type === 'object' && o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
  return o;
}

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

export class AnswerChecker {
  private readonly ajv = new Ajv({ strict: false, logger: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  /** `METHOD template status` of every answer checked. */
  readonly seen = new Set<string>();
  readonly problems: string[] = [];

  constructor(
    private readonly doc: OpenApiDoc,
    private readonly baseUrl: string,
  ) {
    this.ajv.addSchema(closed(doc) as Json, 'openapi.json');
  }

  /** The validator of the schema at a JSON pointer into the (closed) document. */
  validatorFor(pointer: string): ValidateFunction {
    let v = this.validators.get(pointer);
    if (!v) {
      v = this.ajv.getSchema(`openapi.json#${pointer}`);
      if (!v) throw new Error(`no schema at ${pointer}`);
      this.validators.set(pointer, v);
    }
    return v;
  }

  errorsText(v: ValidateFunction): string {
    return this.ajv.errorsText(v.errors);
  }

  /** The document's path template a request path is answered by: literal segments before parameters, the tree's catch-all last. */
  templateFor(path: string): string | undefined {
    const candidates = Object.keys(this.doc.paths).filter((t) => {
      const re = t.replace(/[.]/g, '\\.').replace(/\{path\}/g, '.*').replace(/\{[^}]+\}/g, '[^/]+');
      return new RegExp(`^${re}$`).test(path);
    });
    const rank = (t: string): number => (t === '/{path}' ? 1e6 : (t.match(/\{/g)?.length ?? 0) * 1000 - t.length);
    return candidates.sort((a, b) => rank(a) - rank(b))[0];
  }

  /** A request to the server, its answer checked against the document. */
  async call(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<CheckedAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? TEST_TOKEN : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | Buffer | FormData | undefined;
    if (body instanceof FormData || Buffer.isBuffer(body)) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const ac = new AbortController();
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, redirect: 'manual', signal: ac.signal, ...(payload !== undefined ? { body: payload } : {}) });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    let text = '';
    if (options.headOnly) ac.abort();
    else text = await res.text();
    const json: unknown = type === 'application/json' && text !== '' ? JSON.parse(text) : undefined;
    const answer: CheckedAnswer = { status: res.status, type, json, text, headers: res.headers };
    this.check(method, path, answer);
    return answer;
  }

  private check(method: string, url: string, a: CheckedAnswer): void {
    const path = url.split('?')[0]!;
    const where = `${method} ${path} → ${a.status}`;
    const template = this.templateFor(path);
    const op = template === undefined ? undefined : this.doc.paths[template]![method.toLowerCase()];
    if (!template || !op) return void this.problems.push(`${where}: no documented operation`);
    const code = String(a.status);
    const documented = op.responses[code] !== undefined ? code : a.status >= 400 ? 'default' : undefined;
    if (!documented) return void this.problems.push(`${where}: status not documented (documented: ${Object.keys(op.responses).join(', ')})`);
    this.seen.add(`${method} ${template} ${code}`);
    const content = op.responses[documented]!.content ?? {};
    const listed = Object.keys(content).join(', ') || 'no body';
    // No body: a HEAD, a redirect, not modified, and an unsatisfiable range of a pool file.
    if (method === 'HEAD' || a.status === 304 || a.status === 302 || (a.status === 416 && a.type === '')) {
      if (a.text !== '') this.problems.push(`${where}: a body where none is documented`);
      return;
    }
    if (a.type === 'application/json') {
      if (!content['application/json']) return void this.problems.push(`${where}: answered JSON, documented ${listed}`);
      const v = this.validatorFor(`/paths/${esc(template)}/${method.toLowerCase()}/responses/${documented}/content/application~1json/schema`);
      if (!v(a.json)) this.problems.push(`${where}: ${this.errorsText(v)} in ${a.text.slice(0, 300)}`);
      return;
    }
    if (!content[a.type] && !content['*/*']) this.problems.push(`${where}: answered ${a.type || 'no content type'}, documented ${listed}`);
  }

  /** Documented success statuses (2xx, 3xx; `skip` says which to leave out) of operations no answer had. */
  unseen(skip: (method: string, code: string) => boolean): string[] {
    const out: string[] = [];
    for (const [template, item] of Object.entries(this.doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const code of Object.keys(op.responses)) {
          const key = `${method.toUpperCase()} ${template} ${code}`;
          if (/^[23]\d\d$/.test(code) && !skip(method.toUpperCase(), code) && !this.seen.has(key)) out.push(key);
        }
      }
    }
    return out;
  }
}
