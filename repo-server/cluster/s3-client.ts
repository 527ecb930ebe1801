// A small S3 client: AWS Signature Version 4 over node:http(s), path-style addressing, the six
// calls a byte store needs (PUT, GET with Range, HEAD, DELETE, ListObjectsV2, PUT bucket).
// Why not @aws-sdk/client-s3: ~100 packages for six requests, and we need exact control of
// Content-Length on a streamed PUT (fetch would send it chunked, which S3 refuses).
//
// Every PUT signs the payload's SHA-256 (x-amz-content-sha256): the server recomputes it and
// refuses a body that does not match (XAmzContentSHA256Mismatch), so a torn or corrupted upload
// never becomes visible under its key: S3 PUTs are all-or-nothing.

import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { S3Endpoint } from '../config.js';
import { Unavailable, UpstreamFailed } from '../model/errors.js';

export type S3Config = S3Endpoint;

/** An S3 answer that was not a success, with the XML error's Code when there was one (API: 502). */
export class S3Error extends UpstreamFailed {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly op: string,
    message: string,
  ) {
    super(`S3 ${op}: ${status} ${code}${message ? `: ${message}` : ''}`);
  }

  /** The credentials or the bucket's policy refused the request. */
  get denied(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The S3 endpoint did not answer (refused, reset, timed out); retry later (API: 503). */
export class S3Unreachable extends Unavailable {}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** RFC 3986 encoding as SigV4 wants it (slashes kept in keys). */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export interface S3Request {
  /** POST: multipart upload's Create and Complete (storage/s3-multipart.ts). */
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';
  /** Object key ('' for the bucket itself). */
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** The body and its SHA-256 (hex); size is its exact length. */
  body?: { data: Buffer | Readable; size: number; sha256: string };
}

export class S3Client {
  private readonly url: URL;

  constructor(readonly config: S3Config) {
    this.url = new URL(config.endpoint);
    if (!/^https?:$/.test(this.url.protocol)) throw new Error(`S3 endpoint '${config.endpoint}' is not an http(s) URL`);
  }

  /** Sends one signed request; resolves with the response (body unread) whatever its status. */
  send(req: S3Request): Promise<IncomingMessage> {
    const now = new Date();
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const path = `/${uriEncode(this.config.bucket, false)}${req.key === '' ? '' : '/' + uriEncode(req.key, true)}`;
    const query = Object.entries(req.query ?? {})
      .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const payload = req.body?.sha256 ?? EMPTY_SHA256;
    const headers: Record<string, string> = {
      host: this.url.host,
      'x-amz-content-sha256': payload,
      'x-amz-date': amzDate,
      ...Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.trim()])),
    };
    if (req.body) headers['content-length'] = String(req.body.size);
    const names = Object.keys(headers).sort();
    const signed = names.join(';');
    const canonical = [req.method, path, query, names.map((n) => `${n}:${headers[n]}\n`).join(''), signed, payload].join('\n');
    const scope = `${day}/${this.config.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    let key: Buffer = hmac('AWS4' + this.config.secretAccessKey, day);
    for (const part of [this.config.region, 's3', 'aws4_request']) key = hmac(key, part);
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.config.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${hmac(key, toSign).toString('hex')}`;

    const requestFn = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const op = `${req.method} ${req.key || this.config.bucket}`;
    return new Promise((resolve, reject) => {
      const r = requestFn(
        { protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, method: req.method, path: query ? `${path}?${query}` : path, headers },
        resolve,
      );
      r.setTimeout(this.config.timeoutMs ?? 30_000, () => r.destroy(new S3Unreachable(`S3 ${op}: no answer from ${this.config.endpoint} within ${this.config.timeoutMs ?? 30_000} ms`)));
      r.on('error', (e: NodeJS.ErrnoException) => {
        if (e instanceof S3Unreachable || e.code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH') reject(e);
        else reject(new S3Unreachable(`S3 ${op}: ${this.config.endpoint}: ${e.code ?? e.message}`));
      });
      const body = req.body?.data;
      if (body === undefined) r.end();
      else if (Buffer.isBuffer(body)) r.end(body);
      else {
        body.on('error', (e) => {
          reject(e); // the local source failed, not S3
          r.destroy();
        });
        body.pipe(r);
      }
    });
  }

  /** Sends, and turns any non-2xx answer (other than `allow`) into an S3Error. */
  async call(req: S3Request, allow: number[] = []): Promise<IncomingMessage> {
    const res = await this.send(req);
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || allow.includes(status)) return res;
    const text = req.method === 'HEAD' ? '' : (await readAll(res)).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? (status === 404 ? 'NotFound' : status === 403 ? 'AccessDenied' : 'Error');
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
    res.resume();
    throw new S3Error(status, code, `${req.method} ${req.key || this.config.bucket}`, message);
  }
}

/** The answer to a request on an object, or undefined when there is no such object (404). */
export async function maybe(client: S3Client, req: S3Request): Promise<IncomingMessage | undefined> {
  const res = await client.call(req, [404]);
  if (res.statusCode !== 404) return res;
  res.resume();
  return undefined;
}

export async function readAll(res: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Decodes the XML entities S3 uses in keys of a listing. */
export function xmlText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}
