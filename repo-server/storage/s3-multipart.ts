// S3 multipart upload for objects over the single-PUT threshold (S3 refuses a PUT over 5 GiB):
// CreateMultipartUpload, one UploadPart per part, CompleteMultipartUpload. Like a single PUT it
// is all-or-nothing to readers: the object appears only at Complete. Memory stays bounded by
// one part: the body is read into a part buffer, hashed (each part's payload SHA-256 is signed,
// so the server refuses a corrupted part), sent, and reused for the next. The server cannot
// check the whole object's SHA-256 (a multipart ETag is not a digest of the bytes), so it is
// computed on the way and compared before Complete. Any failure, the local source's included,
// aborts the upload so no parts stay billed and invisible.

import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { readAll, S3Error, xmlText, type S3Client } from '../cluster/s3-client.js';
import { DigestMismatchError, type PutBody } from './bytes.js';

/** S3's limits: parts of 5 MiB at least (but the last), 10,000 parts at most. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** An upload begun but neither completed nor aborted (ListMultipartUploads). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** The part size for `size` bytes: at least `wanted`, large enough to stay within 10,000 parts. */
export function partSizeFor(size: number, wanted: number): number {
  return Math.max(wanted, MIN_PART_BYTES, Math.ceil(size / MAX_PARTS));
}

/** Puts `body` under the full object key `key` in parts of about `partBytes`. */
export async function multipartPut(client: S3Client, key: string, body: PutBody, partBytes: number, name = key): Promise<void> {
  const created = (await readAll(await client.call({ method: 'POST', key, query: { uploads: '' }, headers: { 'content-type': 'application/octet-stream' } }))).toString('utf8');
  const uploadId = xmlText(/<UploadId>([^<]*)<\/UploadId>/.exec(created)?.[1] ?? '');
  if (!uploadId) throw new Error(`S3 CreateMultipartUpload ${name}: no UploadId in the answer`);
  try {
    const etags = await sendParts(client, key, uploadId, body, partSizeFor(body.size, partBytes), name);
    const xml = Buffer.from(
      `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
    );
    const res = await client.call({ method: 'POST', key, query: { uploadId }, body: { data: xml, size: xml.length, sha256: createHash('sha256').update(xml).digest('hex') } });
    // Complete may answer 200 and still fail: the error is then in the body.
    const text = (await readAll(res)).toString('utf8');
    if (/<Error>/.test(text)) throw new S3Error(200, /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'Error', `CompleteMultipartUpload ${name}`, /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '');
  } catch (e) {
    await abortMultipart(client, key, uploadId).catch(() => undefined); // the first error is the one to report
    throw e;
  }
}

async function sendParts(client: S3Client, key: string, uploadId: string, body: PutBody, partBytes: number, name: string): Promise<string[]> {
  const whole = createHash('sha256');
  const etags: string[] = [];
  let part = Buffer.allocUnsafe(Math.min(partBytes, Math.max(body.size, 1)));
  let filled = 0;
  let total = 0;
  const flush = async (): Promise<void> => {
    const data = part.subarray(0, filled);
    const res = await client.call({
      method: 'PUT',
      key,
      query: { partNumber: String(etags.length + 1), uploadId },
      body: { data, size: data.length, sha256: createHash('sha256').update(data).digest('hex') },
    });
    res.resume();
    const etag = res.headers.etag;
    if (!etag) throw new Error(`S3 UploadPart ${name} #${etags.length + 1}: no ETag in the answer`);
    etags.push(etag);
    // A fresh buffer: the one just sent may still be referenced by the socket's write queue.
    part = Buffer.allocUnsafe(part.length);
    filled = 0;
  };
  const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(body.data) ? [body.data] : (body.data as Readable as AsyncIterable<Buffer>);
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total > body.size) throw new DigestMismatchError(name);
    whole.update(chunk);
    for (let at = 0; at < chunk.length; ) {
      const n = chunk.copy(part, filled, at);
      filled += n;
      at += n;
      if (filled === part.length) await flush();
    }
  }
  if (filled > 0 || etags.length === 0) await flush();
  if (total !== body.size || whole.digest('hex') !== body.sha256) throw new DigestMismatchError(name);
  return etags;
}

export async function abortMultipart(client: S3Client, key: string, uploadId: string): Promise<void> {
  (await client.call({ method: 'DELETE', key, query: { uploadId } }, [404])).resume();
}

/** Uploads begun under `prefix` (full key prefix) and not finished, every page. */
export async function* listMultipart(client: S3Client, prefix: string): AsyncIterable<PendingUpload> {
  let keyMarker = '';
  let idMarker = '';
  for (;;) {
    const query: Record<string, string> = { uploads: '', prefix, 'max-uploads': '1000' };
    if (keyMarker) query['key-marker'] = keyMarker;
    if (idMarker) query['upload-id-marker'] = idMarker;
    const xml = (await readAll(await client.call({ method: 'GET', key: '', query }))).toString('utf8');
    for (const m of xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
      const field = (n: string): string => xmlText(new RegExp(`<${n}>([^<]*)</${n}>`).exec(m[1]!)?.[1] ?? '');
      yield { key: field('Key'), uploadId: field('UploadId'), initiated: new Date(field('Initiated')) };
    }
    if (!/<IsTruncated>true<\/IsTruncated>/.test(xml)) return;
    const nextKey = xmlText(/<NextKeyMarker>([^<]*)<\/NextKeyMarker>/.exec(xml)?.[1] ?? '');
    const nextId = xmlText(/<NextUploadIdMarker>([^<]*)<\/NextUploadIdMarker>/.exec(xml)?.[1] ?? '');
    if (!nextKey || (nextKey === keyMarker && nextId === idMarker)) return;
    keyMarker = nextKey;
    idMarker = nextId;
  }
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
