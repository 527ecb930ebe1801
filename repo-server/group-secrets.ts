// A group on S3 alone (`--etcd … --blobs s3://…`, no --shared-dir) has no directory in common,
// so the secrets a single server creates on first start (signing key, admin and node tokens)
// must be given to every server by its operator (config management): the same key signs on
// every server, and the same tokens authenticate. Each server reads its key from its own
// <data>/keys/signing-key.asc (0600), the tokens from the environment; none is stored on etcd
// or the bucket, served or logged.

import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What is missing for a server of a group on S3 alone, or undefined when all is given. */
export async function groupSecretsProblem(keysDir: string, env: { adminToken?: string | undefined; nodeToken?: string | undefined }): Promise<string | undefined> {
  const keyFile = join(keysDir, 'signing-key.asc');
  const missing: string[] = [];
  if (!(await access(keyFile).then(() => true, () => false))) missing.push(`the group's signing key in ${keyFile} (0600; the same file on every server)`);
  if (!env.adminToken) missing.push('$DEBPKG_ADMIN_TOKEN');
  if (!env.nodeToken) missing.push('$DEBPKG_NODE_TOKEN');
  if (missing.length === 0) {
    const mode = (await stat(keyFile)).mode & 0o077;
    if (mode !== 0) return `${keyFile} is readable by group or others (mode ${(0o600 | mode).toString(8)}): chmod 600 it`;
    return undefined;
  }
  return `--etcd with --blobs s3://… and no --shared-dir: each server must be given the group's secrets (no server creates its own): missing ${missing.join(', ')}`;
}

/** Throws when a server of a group on S3 alone was not given its secrets. */
export async function groupSecretsGiven(config: { adminToken?: string; nodeTokens: string[] }, keysDir: string): Promise<void> {
  const problem = await groupSecretsProblem(keysDir, {
    adminToken: config.adminToken || process.env.DEBPKG_ADMIN_TOKEN,
    nodeToken: config.nodeTokens.length > 0 ? config.nodeTokens.join(',') : process.env.DEBPKG_NODE_TOKEN,
  });
  if (problem) throw new Error(problem);
}
