// The S3 backend of the byte store (storage/bytes.ts): each key is an object under
// s3://bucket/prefix/. S3 has no append and no rename, which the contract does not need: a PUT
// is all-or-nothing and signs the body's SHA-256, so the server refuses bytes that do not
// match and nothing half-written is ever visible. Objects over the multipart threshold (5 GiB
// by default: S3's single-PUT limit) go up as a multipart upload (storage/s3-multipart.ts),
// all-or-nothing too, aborted on any failure.

import { Readable } from 'node:stream';
import { DigestMismatchError, checkKey, type ByteRange, type ByteStore, type ObjectInfo, type PutBody } from './bytes.js';
import { maybe, readAll, S3Client, S3Error, xmlText } from '../cluster/s3-client.js';
import type { S3BlobsConfig } from '../config.js';
import { abortMultipart, listMultipart, multipartPut, type PendingUpload } from './s3-multipart.js';

/** S3's single-PUT limit: larger objects must be multipart uploads. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

export type S3BytesConfig = S3BlobsConfig;

/** Internal knobs (tests set them small: radosgw, like S3, wants parts of 5 MiB at least). */
export interface S3Tuning {
  /** Objects larger than this are multipart uploads (default and at most MAX_PUT_BYTES). */
  multipartThreshold?: number;
  /** Part size of a multipart upload (default 64 MiB; grown to stay within 10,000 parts). */
  partBytes?: number;
}

/** s3://bucket[/prefix] → bucket and prefix. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`'${url}' is not s3://BUCKET[/PREFIX] with a valid bucket name (3-63 of a-z 0-9 . -)`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') checkKey(prefix);
  return { bucket: m[1]!, prefix };
}

export class S3Bytes implements ByteStore {
  readonly kind = 's3';
  readonly location: string;
  readonly client: S3Client;

  private readonly threshold: number;
  private readonly partBytes: number;

  constructor(
    readonly config: S3BytesConfig,
    tuning: S3Tuning = {},
  ) {
    this.client = new S3Client(config);
    this.threshold = Math.min(tuning.multipartThreshold ?? MAX_PUT_BYTES, MAX_PUT_BYTES);
    this.partBytes = tuning.partBytes ?? 64 * 1024 * 1024;
    this.location = `s3://${config.bucket}${config.prefix ? '/' + config.prefix : ''}`;
  }

  private key(key: string): string {
    checkKey(key);
    return this.config.prefix ? `${this.config.prefix}/${key}` : key;
  }

  /**
   * Start-up check: the bucket exists and these credentials may use it. Creates the bucket when
   * `create` and it is missing. Errors name the endpoint, the bucket and what to fix.
   */
  async checkAccess(create = false): Promise<void> {
    const where = `${this.location} at ${this.config.endpoint}`;
    try {
      const res = await maybe(this.client, { method: 'HEAD', key: '' });
      res?.resume();
      if (!res) {
        if (!create) throw new Error(`S3 bucket ${where} does not exist; create it first`);
        (await this.client.call({ method: 'PUT', key: '' })).resume();
      }
    } catch (e) {
      if (e instanceof S3Error && e.denied)
        throw new Error(`S3 ${where}: access denied (${e.code}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy`);
      throw e;
    }
  }

  async put(key: string, body: PutBody): Promise<void> {
    try {
      if (body.size > this.threshold) return await multipartPut(this.client, this.key(key), body, this.partBytes, key);
      (await this.client.call({ method: 'PUT', key: this.key(key), body, headers: { 'content-type': 'application/octet-stream' } })).resume();
    } catch (e) {
      if (e instanceof S3Error && (e.code === 'XAmzContentSHA256Mismatch' || e.code === 'BadDigest')) throw new DigestMismatchError(key);
      if (e instanceof Error && /ERR_HTTP_CONTENT_LENGTH_MISMATCH|content-length/i.test(`${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`))
        throw new DigestMismatchError(key);
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const native = range && this.config.rangeRequests !== false;
    const headers = native ? { range: `bytes=${range.start}-${range.end}` } : undefined;
    const res = await maybe(this.client, { method: 'GET', key: this.key(key), ...(headers ? { headers } : {}) });
    if (!res || !range || native) return res;
    return Readable.from(cut(res, range.start, range.end));
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const res = await maybe(this.client, { method: 'HEAD', key: this.key(key) });
    res?.resume();
    if (!res) return undefined;
    const size = Number(res.headers['content-length']);
    const modified = res.headers['last-modified'];
    return { size, mtime: modified ? new Date(modified) : new Date(0) };
  }

  async delete(key: string): Promise<void> {
    (await maybe(this.client, { method: 'DELETE', key: this.key(key) }))?.resume();
  }

  /** Multipart uploads begun under `prefix` and neither completed nor aborted (keys relative). */
  async *pendingUploads(prefix: string): AsyncIterable<PendingUpload> {
    const strip = this.config.prefix ? this.config.prefix.length + 1 : 0;
    for await (const u of listMultipart(this.client, this.config.prefix ? `${this.config.prefix}/${prefix}` : prefix)) yield { ...u, key: u.key.slice(strip) };
  }

  async abortUpload(u: PendingUpload): Promise<void> {
    await abortMultipart(this.client, this.key(u.key), u.uploadId);
  }

  async *list(prefix: string): AsyncIterable<string> {
    for await (const o of this.listInfo(prefix)) yield o.key;
  }

  /** Every object under `prefix` with its size and LastModified (ListObjectsV2, paged by 1000). */
  async *listInfo(prefix: string): AsyncIterable<{ key: string } & ObjectInfo> {
    const full = this.config.prefix ? `${this.config.prefix}/${prefix}` : prefix;
    const strip = this.config.prefix ? this.config.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix: full, 'max-keys': '1000' };
      if (token) query['continuation-token'] = token;
      const xml = (await readAll(await this.client.call({ method: 'GET', key: '', query }))).toString('utf8');
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const field = (n: string): string => new RegExp(`<${n}>([^<]*)</${n}>`).exec(m[1]!)?.[1] ?? '';
        yield { key: xmlText(field('Key')).slice(strip), size: Number(field('Size')), mtime: new Date(field('LastModified')) };
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') || undefined : undefined;
    } while (token);
  }
}

/** Bytes [start, end] of a stream read from its beginning; stops reading once past end. */
async function* cut(source: Readable, start: number, end: number): AsyncIterable<Buffer> {
  let at = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from) yield chunk.subarray(from, to);
      if (at > end) break;
    }
  } finally {
    source.destroy();
  }
}
