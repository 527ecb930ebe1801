// `debpkg serve --blobs s3://bucket/prefix`: the options of the S3 byte store, checked before the
// server starts. Credentials come from the environment as every S3 tool reads them (never a
// flag, so they stay out of `ps`).

import type { S3BytesConfig } from '../../repo-server/storage/bytes-s3.js';
import { parseS3Url } from '../../repo-server/storage/bytes-s3.js';
import { UsageError } from '../errors.js';
import { parseByteSize } from './serve.js';

export interface S3Args {
  blobs?: string;
  's3-endpoint'?: string;
  's3-region': string;
  's3-cache-max'?: string;
  'blob-grace'?: string;
}

/** "1h", "30m", "90s", "0": a duration in ms (the grace of shared-blob deletion). */
export function parseGrace(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  const n = m ? Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd']) : NaN;
  if (!m || !Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a duration like 1h, 30m or 90s, got '${text}'`);
  return n;
}

export function s3BlobsConfig(args: S3Args, env: NodeJS.ProcessEnv = process.env): S3BytesConfig | undefined {
  if (args.blobs === undefined) {
    if (args['s3-cache-max'] !== undefined) throw new UsageError('--s3-cache-max needs --blobs s3://BUCKET[/PREFIX]: without it the pool is the only copy and is never evicted');
    if (args['s3-endpoint'] !== undefined && env.DEBPKG_S3_ENDPOINT === undefined) throw new UsageError('--s3-endpoint needs --blobs s3://BUCKET[/PREFIX]');
    return undefined;
  }
  let where: { bucket: string; prefix: string };
  try {
    where = parseS3Url(args.blobs);
  } catch (e) {
    throw new UsageError(`--blobs: ${(e as Error).message}`);
  }
  const endpoint = args['s3-endpoint'];
  if (!endpoint) throw new UsageError('--blobs s3://… needs the S3 API URL: --s3-endpoint URL or $DEBPKG_S3_ENDPOINT');
  const u = URL.canParse(endpoint) ? new URL(endpoint) : undefined;
  if (!u || !/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '')) throw new UsageError(`--s3-endpoint: '${endpoint}' is not an http(s)://HOST[:PORT] URL`);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new UsageError('--blobs s3://… needs credentials in $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY');
  const cacheMaxBytes = args['s3-cache-max'] !== undefined ? parseByteSize(args['s3-cache-max'], '--s3-cache-max') : undefined;
  return { endpoint: u.origin, region: args['s3-region'], accessKeyId, secretAccessKey, ...where, ...(cacheMaxBytes !== undefined ? { cacheMaxBytes } : {}) };
}

/**
 * A group on S3 alone (--etcd and --blobs, no --shared-dir) shares no directory, so each server
 * must be given the group's signing key and tokens (repo-server/group-secrets.ts): a usage error
 * (exit 2) before anything starts when one is missing.
 */
export async function checkS3GroupSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { groupSecretsProblem } = await import('../../repo-server/group-secrets.js');
  const { join, resolve } = await import('node:path');
  const problem = await groupSecretsProblem(join(resolve(dataDir), 'keys'), { adminToken: env.DEBPKG_ADMIN_TOKEN, nodeToken: env.DEBPKG_NODE_TOKEN });
  if (problem) throw new UsageError(problem);
}
