// A small client for the repo server's aptly-compatible API, shared by the upload, repo,
// snapshot and publish commands: JSON requests, errors mapped to exit codes, and a
// streaming multipart upload that never holds a file in memory.

import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { Argv } from 'yargs';
import { EXIT, UsageError } from './errors.js';

/** An API or transport failure; exitCode is picked up by cli/errors.ts. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

function whoami(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid (containers): keep $USER
  }
  return `${user}@${hostname()}`;
}

export type Query = Record<string, string | boolean | undefined>;

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Files up to this size are read whole into the multipart body instead of streamed. */
const SMALL_FILE = 256 << 10;

/** The errno-style code buried in fetch's "fetch failed" TypeError (possibly an AggregateError). */
function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.find((e) => typeof e.code === 'string')?.code;
  return typeof inner === 'string' ? inner : undefined;
}

export class ApiClient {
  readonly baseUrl: string;

  constructor(server: string, private readonly token: string | undefined) {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new UsageError(`--server must be a URL like http://host:8080, got '${server}'`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--server must be an http(s) URL, got '${server}'`);
    this.baseUrl = url.href.replace(/\/+$/, '');
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  /** A plain-text resource (rendered LB configs); errors as for JSON requests. */
  async getText(path: string, query?: Query): Promise<string> {
    const headers: Record<string, string> = { accept: 'text/plain' };
    let text = '';
    await this.send<unknown>('GET', path, query, headers, undefined, (t) => {
      text = t;
    });
    return text;
  }

  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, body, query);
  }

  put<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, body, query);
  }

  delete<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('DELETE', path, body, query);
  }

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.send<T>(method, path, query, headers, body === undefined ? undefined : JSON.stringify(body));
  }

  /**
   * Uploads files to /api/files/<dir> as one multipart request, streamed from disk: the body
   * is generated part by part, so memory stays flat whatever the file sizes.
   */
  async upload(dir: string, files: string[]): Promise<string[]> {
    const boundary = `----debpkg-${randomBytes(12).toString('hex')}`;
    const parts: { path: string; head: Buffer; size: number }[] = [];
    for (const path of files) {
      const name = basename(path).replace(/["\r\n\\]/g, '_');
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      );
      parts.push({ path, head, size: (await stat(path)).size });
    }
    const tail = Buffer.from(`--${boundary}--\r\n`);
    // Every part's size is known up front, so the request carries a Content-Length (no chunking).
    const total = parts.reduce((n, p) => n + p.head.length + p.size + 2, tail.length);
    const tick = uploadProgress(total);
    async function* multipart(): AsyncGenerator<Buffer> {
      const crlf = Buffer.from('\r\n');
      for (const p of parts) {
        yield p.head;
        if (p.size <= SMALL_FILE) {
          // One read for a small file: a stream per file costs more than the file when
          // thousands of small packages go in one request.
          const buf = readFileSync(p.path);
          if (buf.length !== p.size) throw new ClientError(`${p.path} changed size while being uploaded`, EXIT.failure);
          tick?.(buf.length);
          yield buf;
        } else {
          // Small chunks: less garbage piles up between collections, so peak memory stays low.
          for await (const chunk of createReadStream(p.path, { highWaterMark: 16 << 10 })) {
            tick?.((chunk as Buffer).length);
            yield chunk as Buffer;
          }
        }
        yield crlf;
      }
      yield tail;
    }
    const headers = {
      accept: 'application/json',
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(total),
    };
    try {
      return await this.send<string[]>('POST', `/api/files/${encodeURIComponent(dir)}`, undefined, headers, pullStream(multipart()));
    } finally {
      tick?.(Infinity);
    }
  }

  private async send<T>(
    method: string,
    path: string,
    query: Query | undefined,
    headers: Record<string, string>,
    body: string | ReadableStream<Uint8Array> | undefined,
    onText?: (text: string) => void,
  ): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined || v === false || v === '') continue;
      url.searchParams.set(k, v === true ? '1' : v);
    }
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // For the server's audit log (swaps): who ran the command, on which machine.
    headers['x-debpkg-user'] = whoami();
    let res: Response;
    try {
      // duplex: 'half' is what fetch requires for a streamed body. Without redirect: 'error'
      // and window: null, Node's fetch clones the request to be able to follow redirects,
      // which tees the body stream and keeps every byte sent in memory.
      res = await fetch(url, { method, headers, redirect: 'error', window: null, ...(body !== undefined ? { body, duplex: 'half' as const } : {}) });
    } catch (err) {
      const code = causeCode(err);
      if (code && UNREACHABLE.has(code)) throw new ClientError(`cannot reach the repo server at ${this.baseUrl} (${code})`, EXIT.failure);
      const detail = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new ClientError(`request to ${this.baseUrl} failed: ${detail}`, EXIT.failure);
    }
    const text = await res.text();
    if (res.ok) onText?.(text);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const serverMessage = typeof (json as { error?: unknown } | undefined)?.error === 'string' ? (json as { error: string }).error : text.trim() || res.statusText;
    if (res.status === 401) {
      throw new ClientError(
        `${this.token ? 'the server refused the token' : 'no token given'} (${serverMessage}): set DEBPKG_TOKEN to the server's admin token, or pass --token-file FILE`,
        EXIT.badInput,
        401,
        json,
      );
    }
    if (res.status === 409 && (json as { Code?: unknown } | undefined)?.Code === 'gate_refused') {
      throw new ClientError(serverMessage, EXIT.refused, 409, json);
    }
    // 4xx: the request was wrong (bad name, missing object, conflict); 5xx: the server failed.
    throw new ClientError(`${serverMessage} (HTTP ${res.status})`, res.status < 500 ? EXIT.badInput : EXIT.failure, res.status, json);
  }
}

/**
 * A web stream pulling one chunk at a time (highWaterMark 0: no read-ahead). fetch sends a web
 * stream as is, where a Node Readable or iterable body gets every chunk copied first; the
 * chunks here are fresh buffers from createReadStream, so handing them over is safe.
 */
function pullStream(source: AsyncGenerator<Buffer>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await source.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await source.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

const PROGRESS_THRESHOLD = 16 << 20;

/** A byte counter driving a progress bar on stderr, only for large uploads on a terminal. */
function uploadProgress(total: number): ((bytes: number) => void) | undefined {
  if (!process.stderr.isTTY || total <= PROGRESS_THRESHOLD) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'upload [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const mib = (n: number): number => Math.round(n / (1 << 20));
  bar.start(mib(total), 0);
  let done = 0;
  let stopped = false;
  return (bytes) => {
    if (stopped) return;
    done += bytes;
    if (done >= total) {
      stopped = true;
      bar.update(mib(total));
      bar.stop();
    } else bar.update(mib(done));
  };
}

// ---- shared command-line plumbing

export interface ClientArgs {
  server: string;
  'token-file'?: string;
  json: boolean;
}

/** --server, --token-file and --json, shared by every client command. */
export function clientOptions<T>(y: Argv<T>): Argv<T & ClientArgs> {
  return y
    .option('server', {
      type: 'string',
      default: process.env.DEBPKG_SERVER || 'http://127.0.0.1:8080',
      describe: 'repo server URL ($DEBPKG_SERVER)',
    })
    .option('token-file', { type: 'string', describe: 'read the API token from FILE (default: $DEBPKG_TOKEN)' })
    .option('json', { type: 'boolean', default: false, describe: "print the server's JSON" }) as Argv<T & ClientArgs>;
}

/** The token never comes from a flag value, so it stays out of shell history and ps. */
export async function clientFrom(args: ClientArgs): Promise<ApiClient> {
  let token = process.env.DEBPKG_TOKEN?.trim() || undefined;
  const file = args['token-file'];
  if (file !== undefined) {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --token-file ${file}: ${err.code ?? err.message}`);
    });
    token = text.trim();
    if (token === '') throw new UsageError(`--token-file ${file} is empty`);
  }
  return new ApiClient(args.server, token);
}

/**
 * main.ts keeps the last of a repeated flag, which also cuts variadic positionals down to
 * their last word; commands with list arguments re-enable duplicates and collapse every
 * other key back to its last value.
 */
export function withLists<T>(y: Argv<T>, lists: string[]): Argv<T> {
  return y.parserConfiguration({ 'duplicate-arguments-array': true }).middleware((argv) => {
    const all = argv as Record<string, unknown>;
    for (const [k, v] of Object.entries(all)) if (k !== '_' && !lists.includes(k) && Array.isArray(v)) all[k] = v[v.length - 1];
  }, true);
}

export const seg = (s: string): string => encodeURIComponent(s);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value ?? {}, null, 2)}\n`);
}

export const say = (line: string): void => void process.stderr.write(`${line}\n`);
export const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** Comma- or repeat-separated list flags ("a,b" or "a b") into a clean array. */
export function listArg(v: string | string[] | undefined): string[] {
  const items = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return items.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s !== '');
}
