// A test VM: QEMU with direct kernel boot on a copy-on-write overlay of an image, first-boot
// data over fw_cfg (packer/local/firstboot.sh reads it), user-mode networking with hostfwd, and
// SSH as root with the harness key. Software emulation (TCG, tb-size=128: ~1 GB of translation
// cache per QEMU otherwise) unless DEBPKG_VM_ACCEL says kvm. Every QEMU started here is killed
// when the test process exits, also on a failed assertion, an uncaught error or a signal.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execCollect } from '../support/image-root.js';
import { HOST_ENV, type RunResult } from '../support/fleet-node.js';

export const ACCEL = process.env.DEBPKG_VM_ACCEL ?? 'tcg,tb-size=128';

/**
 * Running children, each the leader of its own process group: Packer's plugins and the QEMU it
 * starts are in its group. Packer ignores a SIGINT from a parent that is exiting (it waits on
 * its provisioner), so every group is killed outright; nothing outlives the test process.
 */
const live = new Set<ChildProcess>();
/** Work directories removed when the process ends on a signal (test.after does not run then). */
const scratch = new Set<string>();
function killAll(): void {
  for (const p of live) {
    try {
      if (p.pid !== undefined) process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Starts argv in its own process group, killed (with everything it started) when this process exits. */
export function spawnTracked(argv: string[], opts: { cwd?: string; env: Record<string, string>; stdio: StdioOptions }): ChildProcess {
  const p = spawn(argv[0]!, argv.slice(1), { ...opts, detached: true });
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

/** A directory to remove if the process is ended by a signal (DEBPKG_VM_KEEP keeps it). */
export function removeOnSignal(dir: string): void {
  scratch.add(dir);
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    if (!process.env.DEBPKG_VM_KEEP) for (const d of scratch) rmSync(d, { recursive: true, force: true });
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

export interface BootFiles {
  kernel: string;
  initrd: string;
  /** The image (qcow2) the overlay is based on. */
  image: string;
  /** Private key whose public half goes into root's authorized_keys at first boot. */
  sshKey: string;
}

export interface VmOptions {
  name: string;
  boot: BootFiles;
  /** Files for the first boot (path under / → content, mode). */
  files: Record<string, { data: string; mode: number }>;
  sshPort: number;
  /** Extra host forwards: `hostAddress:hostPort` → guest port. */
  forwards?: Array<{ hostAddress: string; hostPort: number; guestPort: number }>;
  memoryMb?: number;
  workDir: string;
}

/** A tar of the first-boot files, owned by root, made with the host's tar. */
export async function firstbootTar(dir: string, files: VmOptions['files']): Promise<string> {
  const tree = await mkdtemp(join(dir, 'fb-'));
  for (const [path, f] of Object.entries(files)) {
    const rel = path.replace(/^\/+/, '');
    await mkdir(join(tree, rel, '..'), { recursive: true, mode: 0o700 });
    await writeFile(join(tree, rel), f.data, { mode: f.mode });
  }
  const tar = `${tree}.tar`;
  const r = await execCollect(['tar', '--owner=0', '--group=0', '--numeric-owner', '-C', tree, '-cf', tar, '.'], HOST_ENV);
  if (r.code !== 0) throw new Error(`tar of the first-boot files failed: ${r.stderr}`);
  await rm(tree, { recursive: true, force: true });
  return tar;
}

export class Vm {
  startedAt = Date.now();
  private exited = false;
  private child: ChildProcess;
  private stderr = '';

  private constructor(
    readonly opts: VmOptions,
    private readonly argv: string[],
    readonly overlay: string,
    readonly serialLog: string,
  ) {
    this.child = this.launch();
  }

  private launch(): ChildProcess {
    const p = spawnTracked(['qemu-system-x86_64', ...this.argv], { stdio: ['ignore', 'ignore', 'pipe'], env: HOST_ENV });
    this.exited = false;
    this.startedAt = Date.now();
    p.stderr?.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-2000)));
    p.once('exit', () => {
      this.exited = true;
    });
    return p;
  }

  static async boot(opts: VmOptions): Promise<Vm> {
    await mkdir(opts.workDir, { recursive: true });
    const overlay = join(opts.workDir, `${opts.name}.qcow2`);
    const img = await execCollect(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', opts.boot.image, '-F', 'qcow2', overlay], HOST_ENV);
    if (img.code !== 0) throw new Error(`qemu-img create ${overlay}: ${img.stderr}`);
    const pub = await readFile(`${opts.boot.sshKey}.pub`, 'utf8');
    const tar = await firstbootTar(opts.workDir, {
      '/root/.ssh/authorized_keys': { data: pub, mode: 0o600 },
      '/etc/hostname': { data: `${opts.name}\n`, mode: 0o644 },
      ...opts.files,
    });
    const serialLog = join(opts.workDir, `${opts.name}.serial.log`);
    const fwd = [`hostfwd=tcp:127.0.0.1:${opts.sshPort}-:22`, ...(opts.forwards ?? []).map((f) => `hostfwd=tcp:${f.hostAddress}:${f.hostPort}-:${f.guestPort}`)];
    // prettier-ignore
    const argv = [
      '-name', opts.name,
      '-accel', ACCEL,
      '-cpu', 'max',
      '-m', String(opts.memoryMb ?? 384),
      '-smp', '1',
      '-kernel', opts.boot.kernel,
      '-initrd', opts.boot.initrd,
      // systemd-firstboot would wait for a key on the console: the image's machine id is reset.
      '-append', 'root=/dev/vda rw console=ttyS0 systemd.firstboot=off',
      '-drive', `file=${overlay},if=virtio,format=qcow2`,
      '-nic', `user,model=virtio-net-pci,${fwd.join(',')}`,
      '-fw_cfg', `name=opt/debpkg/firstboot,file=${tar}`,
      '-serial', `file:${serialLog}`,
      '-display', 'none',
      '-monitor', 'none',
      // A guest reboot ends QEMU; restart() launches it again (direct kernel boot needs QEMU anyway).
      '-no-reboot',
    ];
    const vm = new Vm(opts, argv, overlay, serialLog);
    await sleep(500);
    if (vm.exited) throw new Error(`qemu for ${opts.name} exited at once: ${vm.stderr}`);
    return vm;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** After a guest reboot (QEMU exits with -no-reboot): the same overlay, launched again. */
  async restart(timeoutMs = 10 * 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < deadline) await sleep(500);
    if (!this.exited) throw new Error(`${this.opts.name}: the guest did not shut down within ${timeoutMs / 1000} s`);
    this.child = this.launch();
  }

  /** Runs a command over SSH as root (one string for the remote shell: pass trusted text only). */
  ssh(command: string, timeoutMs = 120_000): Promise<RunResult> {
    // prettier-ignore
    return execCollect(
      [
        'timeout', String(Math.ceil(timeoutMs / 1000)),
        'ssh', '-i', this.opts.boot.sshKey, '-p', String(this.opts.sshPort),
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '-o', 'ServerAliveInterval=10',
        'root@127.0.0.1', command,
      ],
      HOST_ENV,
    );
  }

  /** SSH command that must succeed; returns its stdout. */
  async run(command: string, timeoutMs = 300_000): Promise<string> {
    const r = await this.ssh(command, timeoutMs);
    if (r.code !== 0) throw new Error(`${this.opts.name}: '${command}' exited ${r.code}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Waits until SSH answers and systemd finished starting; returns the seconds since launch. */
  async waitSsh(timeoutMs = 900_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.opts.name}: qemu exited; serial console:\n${await this.serialTail()}`);
      const r = await this.ssh('systemctl is-system-running --wait || true', 60_000);
      if (r.code === 0) return (Date.now() - this.startedAt) / 1000;
      await sleep(5000);
    }
    throw new Error(`${this.opts.name}: no SSH within ${timeoutMs / 1000} s; serial console:\n${await this.serialTail()}`);
  }

  async serialTail(lines = 30): Promise<string> {
    const text = await readFile(this.serialLog, 'utf8').catch(() => '');
    // eslint-disable-next-line no-control-regex
    return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd().split('\n').slice(-lines).join('\n');
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}
