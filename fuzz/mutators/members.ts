// Rewriting one tar member of a .deb: unpack it with the tool it was packed with, let a
// function change the tar, pack it again the same way and re-link the ar archive. Shared by
// the tar-header and control-file mutators.

import { buildAr, parseAr } from '../ar.js';
import { compress, decompress, kindOfMember } from '../codec.js';
import { BLOCK, fileEntry, listHeaders } from '../tar.js';

export type Which = 'control' | 'data';

/** The deb with member `which` rewritten by `fn`, or undefined if the deb has no such member. */
export function rewriteMember(deb: Buffer, which: Which, fn: (tar: Buffer) => Buffer): Buffer | undefined {
  const members = parseAr(deb);
  const i = members.findIndex((m) => m.name.startsWith(`${which}.tar`));
  const m = members[i];
  if (!m) return undefined;
  const kind = kindOfMember(m.name);
  if (!kind) return undefined;
  const tar = fn(Buffer.from(decompress(kind, m.data)));
  const parts = members.map((x) => ({ name: x.name, data: x.data }));
  parts[i] = { name: m.name, data: compress(kind, tar) };
  return buildAr(parts);
}

/** The text of control-archive file `name` ("./control", "./conffiles"…), if present. */
export function readControlFile(tar: Buffer, name: string): string | undefined {
  const h = listHeaders(tar).find((x) => x.name === name || x.name === name.replace(/^\.\//, ''));
  return h ? tar.subarray(h.at + BLOCK, h.at + BLOCK + h.size).toString('latin1') : undefined;
}

/** The tar with entry `name` replaced by (or, when missing, extended with) a file holding `body`. */
export function replaceEntry(tar: Buffer, name: string, body: Buffer, mode = 0o644): Buffer {
  const headers = listHeaders(tar);
  const parts: Buffer[] = [];
  let replaced = false;
  for (const h of headers) {
    const end = h.at + BLOCK + Math.ceil(h.size / BLOCK) * BLOCK;
    if (h.name === name || h.name === name.replace(/^\.\//, '')) {
      parts.push(fileEntry(name, body, mode));
      replaced = true;
    } else parts.push(tar.subarray(h.at, end));
  }
  if (!replaced) parts.push(fileEntry(name, body, mode));
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Gives the package its own version ("<v>+c<case>") so an accepted mutant never collides with its seed. */
export function bumpVersion(deb: Buffer, caseNo: number): Buffer {
  return (
    rewriteMember(deb, 'control', (tar) => {
      const text = readControlFile(tar, './control');
      if (text === undefined) return tar;
      return replaceEntry(tar, './control', Buffer.from(text.replace(/^Version: (.*)$/m, `Version: $1+c${caseNo}`), 'latin1'));
    }) ?? deb
  );
}
