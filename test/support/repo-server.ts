// An in-process repo server on 127.0.0.1 with a fresh data directory, plus a tiny API client.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { apiCall, type ApiAnswer } from './api-client.js';
import { createRepoServer, type RepoServer, type ServerOverrides } from '../../repo-server/server.js';

export const TEST_TOKEN = 'test-admin-token';
/** May only register/heartbeat units (color registry). */
export const TEST_NODE_TOKEN = 'test-node-token';

export class TestRepoServer {
  private constructor(
    readonly server: RepoServer,
    readonly dataDir: string,
    readonly url: string,
  ) {}

  static async start(config: ServerOverrides = {}, dataDir?: string, port = 0): Promise<TestRepoServer> {
    const dir = dataDir ?? (await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-repo-')));
    const server = await createRepoServer({ dataDir: dir, adminToken: TEST_TOKEN, nodeTokens: [TEST_NODE_TOKEN], logger: false, keepSeconds: 0, ...config });
    const address = await server.app.listen({ host: '127.0.0.1', port });
    return new TestRepoServer(server, dir, address);
  }

  api(method: string, path: string, body?: unknown, token: string | null = TEST_TOKEN): Promise<ApiAnswer> {
    return apiCall(this.url, method, path, body, token);
  }

  /** Uploads .deb files into an upload dir and adds them to a repo; throws unless 200. */
  async addPackages(repo: string, debs: string[], dir = `up-${Math.random().toString(36).slice(2, 8)}`): Promise<void> {
    const form = new FormData();
    for (const d of debs) form.append('file', new Blob([await readFile(d)]), d.split('/').pop()!);
    const up = await this.api('POST', `/api/files/${dir}`, form);
    if (up.status !== 200) throw new Error(`upload failed: ${up.status} ${up.text}`);
    const add = await this.api('POST', `/api/repos/${encodeURIComponent(repo)}/file/${dir}`);
    if (add.status !== 200) throw new Error(`add failed: ${add.status} ${add.text}`);
  }

  async stop(keepData = false): Promise<void> {
    await this.server.close();
    if (!keepData) await rm(this.dataDir, { recursive: true, force: true });
  }
}
