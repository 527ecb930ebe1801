// Odd upload names: path traversal ("../x.deb", "%2e%2e"), NUL, very long and non-UTF-8
// names, in the URL of a raw PUT (file or directory segment) and in a multipart filename.
// The body is a valid seed with its own version, so only the name decides the outcome.

import type { Rng } from '../prng.js';

export interface Upload {
  transport: 'put' | 'multipart';
  /** Directory segment, exactly as it goes into the URL (already percent-encoded). */
  dir: string;
  /** PUT: file segment as it goes into the URL; multipart: unused. */
  file: string;
  /** Multipart: the raw bytes of the filename parameter. */
  filename: Buffer;
}

const PUT_FILES = ['..%2fx.deb', '%2e%2e', '%2e%2e%2fx.deb', '..', '.', 'x%00.deb', '%00', '%ff%fe.deb', `${'a'.repeat(300)}.deb`, `${'a'.repeat(5000)}.deb`, '.deb', 'x.DEB', 'x.deb%20', '%20.deb', 'x%2fy.deb', '%c3%a9.deb', 'x.deb.', '-rf.deb', '*.deb', 'x%0a.deb', '%5c..%5cx.deb', '..%5cx.deb', '%252e%252e%252fx.deb'];
const DIRS = ['..', '%2e%2e', '.', 'a%00', 'x'.repeat(2000), '%ff', '%2f', '..%2f..%2ftmp'];
const MULTIPART = ['../x.deb', '../../x.deb', '/etc/x.deb', 'a/b.deb', 'x\0.deb', '\xff\xfe.deb', '..', '', `${'a'.repeat(300)}.deb`, 'x".deb', 'x\\..\\y.deb', 'C:\\x.deb', '.deb'];

export function normalUpload(rng: Rng, caseNo: number, pkg: string): Upload {
  const name = `${pkg}_${caseNo}.deb`;
  return { transport: rng.chance(0.75) ? 'put' : 'multipart', dir: `c${caseNo}`, file: name, filename: Buffer.from(name) };
}

/** A literal "../" in the request path (not encoded): the router, not the handler, sees it. */
const RAW_PATHS = ['../x.deb', './x.deb'];

export function oddUpload(rng: Rng, caseNo: number): { upload: Upload; what: string } {
  const dir = `c${caseNo}`;
  switch (rng.pick(['put-file', 'put-dir', 'put-raw', 'multipart'] as const)) {
    case 'put-file': {
      const file = rng.pick(PUT_FILES);
      return { upload: { transport: 'put', dir, file, filename: Buffer.alloc(0) }, what: `names/put-file: ${JSON.stringify(file.slice(0, 60))}` };
    }
    case 'put-dir': {
      const d = rng.pick(DIRS);
      return { upload: { transport: 'put', dir: d, file: 'x.deb', filename: Buffer.alloc(0) }, what: `names/put-dir: ${JSON.stringify(d.slice(0, 60))}` };
    }
    case 'put-raw': {
      const file = rng.pick(RAW_PATHS);
      return { upload: { transport: 'put', dir, file, filename: Buffer.alloc(0) }, what: `names/put-raw: ${JSON.stringify(file)}` };
    }
    case 'multipart': {
      const f = rng.pick(MULTIPART);
      return { upload: { transport: 'multipart', dir, file: '', filename: Buffer.from(f, 'latin1') }, what: `names/multipart: ${JSON.stringify(f.slice(0, 60))}` };
    }
  }
}
