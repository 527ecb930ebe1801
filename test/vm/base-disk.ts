// The base disk for the local-qemu Packer source (packer/local/base-disk.sh), cached under
// ~/.cache/debpkg/vm/base-<hash>/ by the hash of everything that goes into it (the script, the
// first-boot reader and its unit, the suite), plus the harness's SSH key. A build takes ~6 min
// (mmdebstrap of ~300 packages); a cached one is reused as long as those files do not change.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execCollect } from '../support/image-root.js';
import { HOST_ENV, tail } from '../support/fleet-node.js';
import { REPO_ROOT } from '../support/project.js';

const LOCAL = join(REPO_ROOT, 'packer', 'local');
const INPUTS = ['base-disk.sh', 'firstboot.sh', 'debpkg-firstboot.service'];

export interface BaseDisk {
  dir: string;
  image: string;
  kernel: string;
  initrd: string;
  sshKey: string;
  /** Seconds the build took; 0 when it came from the cache. */
  buildSeconds: number;
}

export function vmCacheDir(): string {
  return process.env.DEBPKG_VM_CACHE ?? join(homedir(), '.cache', 'debpkg', 'vm');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function ensureBaseDisk(suite = 'bookworm'): Promise<BaseDisk> {
  const h = createHash('sha256').update(suite);
  for (const f of INPUTS) h.update(`\0${f}\0`).update(await readFile(join(LOCAL, f)));
  const dir = join(vmCacheDir(), `base-${suite}-${h.digest('hex').slice(0, 16)}`);
  const files = { dir, image: join(dir, 'base.qcow2'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), sshKey: join(dir, 'id_ed25519') };
  if (await exists(join(dir, 'complete'))) return { ...files, buildSeconds: 0 };
  await mkdir(vmCacheDir(), { recursive: true });
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  const t0 = Date.now();
  const r = await execCollect(['sh', join(LOCAL, 'base-disk.sh'), partial, suite], { ...HOST_ENV, TMPDIR: process.env.DEBPKG_TEST_TMP ?? '/tmp' });
  if (r.code !== 0) {
    await rm(partial, { recursive: true, force: true });
    throw new Error(`packer/local/base-disk.sh failed (exit ${r.code}):\n${tail(r.stderr, 30)}`);
  }
  const key = await execCollect(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'debpkg-vm-harness', '-f', join(partial, 'id_ed25519')], HOST_ENV);
  if (key.code !== 0) throw new Error(`ssh-keygen: ${key.stderr}`);
  await execCollect(['touch', join(partial, 'complete')], HOST_ENV);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return { ...files, buildSeconds: (Date.now() - t0) / 1000 };
}
