// Temporary spec projects for tests: write files + debpkg.yaml, build, clean up.

import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'dist/cli/main.js');

export interface ProjectFile {
  content: string | Buffer;
  mode?: number;
  symlinkTo?: string;
}

export class Project {
  private constructor(readonly dir: string) {}

  static async create(files: Record<string, string | Buffer | ProjectFile> = {}): Promise<Project> {
    const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-project-'));
    const p = new Project(dir);
    for (const [rel, f] of Object.entries(files)) await p.write(rel, f);
    return p;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  async write(rel: string, f: string | Buffer | ProjectFile): Promise<void> {
    const file: ProjectFile = typeof f === 'string' || Buffer.isBuffer(f) ? { content: f } : f;
    const abs = this.path(rel);
    await mkdir(dirname(abs), { recursive: true });
    if (file.symlinkTo !== undefined) {
      await symlink(file.symlinkTo, abs);
      return;
    }
    await writeFile(abs, file.content);
    await chmod(abs, file.mode ?? 0o644);
  }

  async spec(yaml: string, name = 'debpkg.yaml'): Promise<string> {
    await this.write(name, yaml);
    return this.path(name);
  }

  /** Runs the real CLI; never throws, returns exit code and output. */
  async cli(args: string[], env: Record<string, string> = {}, opts: { unprivileged?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    // Root reads every file whatever its mode, so permission tests run the CLI as nobody.
    const asNobody = opts.unprivileged === true && process.getuid?.() === 0;
    if (asNobody) await chmod(this.dir, 0o777);
    const [cmd, argv] = asNobody
      ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args]]
      : [process.execPath, [CLI, ...args]];
    try {
      const { stdout, stderr } = await execFileP(cmd, argv, {
        cwd: this.dir,
        env: { ...process.env, ...env },
        maxBuffer: 64 << 20,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** Builds with the CLI and returns the .deb path (last stdout line); throws on failure. */
  async build(args: string[] = [], env: Record<string, string> = {}): Promise<string> {
    const r = await this.cli(['build', '--output', 'out', ...args], env);
    if (r.code !== 0) throw new Error(`debpkg build failed (${r.code}): ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    return lines[lines.length - 1]!;
  }

  async destroy(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export async function sh(cmd: string, opts: { cwd?: string; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP('sh', ['-c', cmd], { cwd: opts.cwd, maxBuffer: 256 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (!opts.allowFail) throw new Error(`command failed (${e.code}): ${cmd}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
