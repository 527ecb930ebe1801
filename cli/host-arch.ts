// The build host's Debian architecture, nfpm users' default for a spec without `arch`: dpkg's own
// answer where dpkg exists, else Node's process.arch in Debian's names.

import { execFileSync } from 'node:child_process';

const NODE_TO_DEBIAN: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  ia32: 'i386',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mipsel: 'mipsel',
  mips64el: 'mips64el',
};

export interface HostArch {
  arch: string;
  source: string;
}

export function hostArch(): HostArch {
  try {
    const out = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    if (/^[a-z0-9][a-z0-9-]*$/.test(out)) return { arch: out, source: 'this host, dpkg --print-architecture' };
  } catch {
    // No dpkg here (a non-Debian build host): fall back to Node's view of the CPU.
  }
  const mapped = NODE_TO_DEBIAN[process.arch] ?? process.arch;
  return { arch: mapped, source: `this host, Node's process.arch ${process.arch}` };
}
