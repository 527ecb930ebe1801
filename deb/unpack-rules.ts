// What dpkg's own extractor needs of a data.tar beyond a sound tar structure (lib/dpkg/tarfn.c,
// src/main/archives.c): paths inside the package root, entry kinds it unpacks, and hard links to
// a regular file that came earlier in the archive. Found by the fuzzer: packages with a hard link
// to a missing or later file, or named like a directory, passed the structural check and were
// then refused by `dpkg --unpack` on the node. Pure: callers feed entries in archive order.

export class UnpackRuleError extends Error {}

type Kind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

/** "./usr/bin/x", "usr/bin/x/", "/usr/bin/x" → "usr/bin/x" (the form dpkg compares). */
function normal(path: string): string {
  return path.replace(/^(?:\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

export class DataArchiveRules {
  private readonly files = new Set<string>();

  check(entry: { path: string; type: Kind; linkTarget?: string }): void {
    const path = normal(entry.path);
    const shown = entry.path.slice(0, 120);
    if (path.split('/').includes('..')) throw new UnpackRuleError(`entry '${shown}' leaves the package root`);
    // Only the root directory itself ("./") has no name below the root.
    // dpkg keeps file lists one name per line: a line break in a name is refused (found by the fuzzer).
    if (/[\n\r]/.test(entry.path) || /[\n\r]/.test(entry.linkTarget ?? '')) throw new UnpackRuleError(`entry '${JSON.stringify(shown).slice(1, -1)}' has a line break in its name or link target`);
    if (path === '' && entry.type !== 'directory') throw new UnpackRuleError(`a ${entry.type} entry has an empty name`);
    if (entry.type === 'other') throw new UnpackRuleError(`entry '${shown}' is of a kind dpkg does not unpack`);
    if (entry.type === 'hardlink') {
      if (entry.path.endsWith('/')) throw new UnpackRuleError(`hard link '${shown}' is named like a directory`);
      const target = normal(entry.linkTarget ?? '');
      if (!this.files.has(target)) throw new UnpackRuleError(`hard link '${shown}' points to '${(entry.linkTarget ?? '').slice(0, 120)}', which is not a regular file earlier in the archive`);
    }
    if (entry.type === 'file') this.files.add(path);
  }
}
