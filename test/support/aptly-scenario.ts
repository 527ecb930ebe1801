// What the ported aptly API scenarios share: a server per scenario, packages built with our
// own builder, uploads, and aptly's check_task / check_task_fail (wait for a 202 task, read
// its state and output).

import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { buildPackage } from '../../builder/builder.js';
import { parseSpec } from '../../builder/spec.js';
import { Project } from './project.js';
import type { ServerOverrides } from '../../repo-server/server.js';
import { TestRepoServer } from './repo-server.js';

export const SUCCEEDED = 2;
export const FAILED = 3;

/** Builds name_version_<arch>.deb with its own payload; returns the file's path. */
export async function makeDeb(p: Project, name: string, version: string, arch = 'all', content = `${name} ${version}\n`): Promise<string> {
  const src = `src/${name}-${Math.random().toString(36).slice(2, 8)}`;
  await p.write(src, content);
  const yaml =
    `name: ${name}\nversion: "${version}"\narch: ${arch}\nmaintainer: Api Tester <api@example.org>\ndescription: aptly scenario package\n` +
    `contents:\n  - { src: ${src}, dst: /usr/share/${name}/data }\n`;
  const loaded = parseSpec(yaml, 'debpkg.yaml', { SOURCE_DATE_EPOCH: '1700000000' }, { baseDir: p.dir, mtime: 1700000000 });
  const r = await buildPackage(loaded, { outputDir: p.path(`out/${Math.random().toString(36).slice(2, 10)}`), env: { SOURCE_DATE_EPOCH: '1700000000' } });
  return r.path;
}

/** POST /api/files/:dir with the files as multipart parts; asserts 200 and returns the answer. */
export async function upload(s: TestRepoServer, dir: string, files: [string, Buffer][]): Promise<unknown> {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('file', new Blob([bytes]), name);
  const r = await s.api('POST', `/api/files/${dir}`, form);
  assert.is(r.status, 200, r.text);
  return r.json;
}

export async function uploadPaths(s: TestRepoServer, dir: string, paths: string[]): Promise<void> {
  await upload(s, dir, await Promise.all(paths.map(async (f): Promise<[string, Buffer]> => [f.split('/').pop()!, await readFile(f)])));
}

export async function withServer(fn: (s: TestRepoServer, p: Project) => Promise<void>, config: ServerOverrides = {}): Promise<void> {
  const p = await Project.create();
  const s = await TestRepoServer.start(config);
  try {
    await fn(s, p);
  } finally {
    await s.stop().catch(() => undefined);
    await p.destroy();
  }
}

export interface TaskResult {
  state: number;
  output: string;
  id: number;
}

/** Runs `method path?_async=1` and waits for its task (aptly's post_task + wait). */
export async function task(s: TestRepoServer, method: string, path: string, body?: unknown): Promise<TaskResult> {
  const r = await s.api(method, `${path}${path.includes('?') ? '&' : '?'}_async=1`, body);
  assert.is(r.status, 202, r.text);
  const id = (r.json as { ID: number }).ID;
  const done = (await s.api('GET', `/api/tasks/${id}/wait`)).json as { State: number };
  return { state: done.State, output: (await s.api('GET', `/api/tasks/${id}/output`)).json as string, id };
}

/** aptly's check_task: the task succeeded. */
export async function ok(s: TestRepoServer, method: string, path: string, body?: unknown): Promise<TaskResult> {
  const t = await task(s, method, path, body);
  assert.is(t.state, SUCCEEDED, `${method} ${path}: ${t.output}`);
  return t;
}

/** aptly's check_task_fail: the task failed. */
export async function fails(s: TestRepoServer, method: string, path: string, body?: unknown): Promise<TaskResult> {
  const t = await task(s, method, path, body);
  assert.is(t.state, FAILED, `${method} ${path} should fail: ${t.output}`);
  return t;
}

export async function keys(s: TestRepoServer, path: string): Promise<string[]> {
  const r = await s.api('GET', path);
  assert.is(r.status, 200, r.text);
  return (r.json as string[]).slice().sort();
}
