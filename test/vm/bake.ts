// `packer build -only=local.qemu.local` of the foundation image from the base disk, against a repo
// server on the host (the build VM reaches it at 10.0.2.2). Packer 1.6.6 (Debian 12) builds a
// copy of packer/ without plugins.pkr.hcl (docs/images.md); newer Packer runs `packer init`.

import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execCollect } from '../support/image-root.js';
import { tail } from '../support/fleet-node.js';
import { REPO_ROOT } from '../support/project.js';
import type { BaseDisk } from './base-disk.js';
import { ACCEL, firstbootTar, spawnTracked } from './vm.js';

export interface BakeResult {
  image: string;
  manifest: { builds: Array<{ artifact_id: string; custom_data: Record<string, string> }> };
  /** package → version, from dpkg-query in the build VM. */
  packages: Map<string, string>;
  seconds: number;
  log: string;
}

export interface BakeOptions {
  base: BaseDisk;
  repoUrl: string;
  packages: Record<string, string>;
  outDir: string;
}

const TOOL_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C.UTF-8', HOME: process.env.HOME ?? '/root' };

/** packer, killed with its plugins and QEMU if this process exits first. */
function runPacker(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawnTracked(['packer', ...args], { cwd, env: { ...TOOL_ENV, PACKER_NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    // The build's progress as it happens (a bake runs for half an hour): <work>/packer.log.
    const progress = createWriteStream(join(cwd, 'packer.log'));
    let stdout = '';
    let stderr = '';
    p.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      progress.write(b);
    });
    p.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      progress.write(b);
    });
    p.on('close', () => progress.end());
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function packerBuild(o: BakeOptions): Promise<BakeResult> {
  const work = await mkdtemp(join(o.outDir, 'packer-'));
  const dir = join(work, 'packer');
  const version = await execCollect(['packer', 'version'], TOOL_ENV);
  const legacy = /Packer v1\.[0-6]\./.test(version.stdout);
  await cp(join(REPO_ROOT, 'packer'), dir, { recursive: true, filter: (src) => !(legacy && src.endsWith('/plugins.pkr.hcl')) });
  await symlink(join(REPO_ROOT, 'ansible'), join(work, 'ansible'));
  if (!legacy) {
    const init = await execCollect(['packer', 'init', dir], TOOL_ENV);
    if (init.code !== 0) throw new Error(`packer init: ${init.stdout}${init.stderr}`);
  }
  const firstboot = await firstbootTar(work, { '/root/.ssh/authorized_keys': { data: await readFile(`${o.base.sshKey}.pub`, 'utf8'), mode: 0o600 } });
  const vars: Record<string, string> = {
    image_type: 'foundation',
    bake_packages: 'true',
    keep_ansible: 'true',
    repo_url: o.repoUrl,
    packages: JSON.stringify(o.packages),
    local_base_disk: o.base.image,
    local_kernel: o.base.kernel,
    local_initrd: o.base.initrd,
    local_firstboot: firstboot,
    local_ssh_private_key_file: o.base.sshKey,
    local_accel: ACCEL,
    local_serial_log: join(work, 'serial.log'),
    qemu_output_directory: join(work, 'output'),
    manifest_output: join(work, 'packer-manifest.json'),
    packages_output: join(work, 'image-packages.tsv'),
  };
  const t0 = Date.now();
  const r = await runPacker(['build', '-only=local.qemu.local', ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]), dir], work);
  const seconds = (Date.now() - t0) / 1000;
  const log = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) {
    const serial = await readFile(join(work, 'serial.log'), 'utf8').catch(() => '');
    throw new Error(`packer build failed (exit ${r.code}) after ${seconds.toFixed(0)} s:\n${tail(log, 40)}\n--- serial console:\n${tail(serial, 20)}`);
  }
  const text = await readFile(vars.manifest_output!, 'utf8').catch(() => {
    throw new Error(`packer build wrote no manifest (no build ran?):\n${tail(log, 20)}`);
  });
  const manifest = JSON.parse(text) as BakeResult['manifest'];
  const last = manifest.builds[manifest.builds.length - 1];
  if (!last) throw new Error('packer wrote no build to the manifest');
  const tsv = await readFile(vars.packages_output!, 'utf8');
  const packages = new Map(tsv.trim().split('\n').map((l) => l.split('\t') as [string, string]));
  // Packer 1.6.6's qemu artifact id is just "VM": the disk is the one qcow2 in the output directory.
  const outDirs = await readdir(join(work, 'output'));
  const files = outDirs.length === 1 ? (await readdir(join(work, 'output', outDirs[0]!))).filter((n) => n.endsWith('.qcow2')) : [];
  if (files.length !== 1) throw new Error(`packer build left ${outDirs.join(', ')} / ${files.join(', ')} in ${join(work, 'output')}, not one qcow2`);
  return { image: join(work, 'output', outDirs[0]!, files[0]!), manifest, packages, seconds, log };
}
