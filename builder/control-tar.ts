// control.tar, built in memory (it is small): control, md5sums, conffiles, scripts.

import { encodeHeader, endOfArchive, paddingFor } from '../deb/tar.js';

export interface ControlMember {
  name: string;
  data: Buffer;
  mode: number;
}

export function buildControlTar(members: ControlMember[], mtime: number): Buffer {
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  const parts: Buffer[] = [encodeHeader({ path: './', type: 'directory', mode: 0o755, size: 0, ...owner })];
  for (const m of [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    parts.push(encodeHeader({ path: `./${m.name}`, type: 'file', mode: m.mode, size: m.data.length, ...owner }));
    parts.push(m.data, paddingFor(m.data.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}
