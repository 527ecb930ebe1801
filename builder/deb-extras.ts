// nfpm's extras: umask (parsed here, applied in contents.ts); deb-only control extras: deb.scripts (debconf's templates and config, and rules, shipped
// in control.tar as nfpm does: config and rules 0755, templates 0644) and deb.arch_variant (the
// Architecture-Variant field, "v3" meaning "amd64v3" as in nfpm).

import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { ControlMember } from './control-tar.js';
import { SpecError } from './spec-error.js';

export interface DebScriptsSpec {
  rules?: string;
  templates?: string;
  config?: string;
}

const MODES: [keyof DebScriptsSpec, number][] = [
  ['config', 0o755],
  ['rules', 0o755],
  ['templates', 0o644],
];

export async function debScriptMembers(scripts: DebScriptsSpec | undefined, baseDir: string): Promise<ControlMember[]> {
  const out: ControlMember[] = [];
  for (const [name, mode] of MODES) {
    const src = scripts?.[name];
    if (src === undefined) continue;
    const field = ['deb', 'scripts', name];
    let data: Buffer;
    try {
      data = await readFile(isAbsolute(src) ? src : resolve(baseDir, src));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SpecError(field, `'${src}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}`);
    }
    if (data.length === 0) throw new SpecError(field, `'${src}' is empty`);
    if (mode === 0o755 && !data.subarray(0, 2).equals(Buffer.from('#!'))) {
      throw new SpecError(field, `'${src}' must start with #! (dpkg and debconf run it)`);
    }
    if (data.includes('\r\n')) throw new SpecError(field, `'${src}' has CRLF line endings`);
    out.push({ name, data, mode });
  }
  return out;
}

/** nfpm's rule: v1..v4 are amd64 levels; anything else is written as given. */
export function archVariantField(variant: string | undefined): [string, string] | undefined {
  if (variant === undefined || variant === '') return undefined;
  if (!/^[a-z0-9][a-z0-9.+-]*$/.test(variant)) throw new SpecError(['deb', 'arch_variant'], `'${variant}' is not an architecture variant (e.g. v3 or amd64v3)`);
  return ['Architecture-Variant', /^v[1-4]$/.test(variant) ? `amd64${variant}` : variant];
}

/** nfpm's umask, octal ("022", "0o027"): cleared from the modes debpkg derives for files and tree directories. */
export function parseUmask(text: string): number {
  if (!/^(0o)?[0-7]{1,4}$/.test(text)) throw new SpecError(['umask'], `'${text}' is not an octal umask (e.g. 022)`);
  const umask = parseInt(text.replace(/^0o/, ''), 8);
  if ((umask & 0o700) !== 0) throw new SpecError(['umask'], `'${text}' would take permissions from the owner (root); files must stay readable by dpkg`);
  return umask;
}
