// The server's bearer tokens: the admin token and the node tokens (register/heartbeat only).
// From the environment when set, else from a file under the data directory, created 0600 with a
// random token on first start so a fresh server is never open.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/fs-atomic.js';

/** $DEBPKG_ADMIN_TOKEN, else <data>/admin.token (created 0600 on first start). */
export function adminToken(dataDir: string, fromEnv = process.env.DEBPKG_ADMIN_TOKEN): Promise<string> {
  return tokenFile(dataDir, 'admin.token', fromEnv);
}

/** Node tokens (register/heartbeat only): $DEBPKG_NODE_TOKEN (comma-separated), else <data>/node.token. */
export async function nodeTokens(dataDir: string, fromEnv = process.env.DEBPKG_NODE_TOKEN): Promise<string[]> {
  if (fromEnv) return fromEnv.split(',').map((t) => t.trim()).filter(Boolean);
  return [await tokenFile(dataDir, 'node.token', undefined)];
}

async function tokenFile(dataDir: string, name: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv) return fromEnv;
  const path = join(dataDir, name);
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const token = randomBytes(24).toString('base64url');
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}
