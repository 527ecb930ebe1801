// The in-process gzip engine (deb/gzip-parallel.ts) is what builds use on hosts without pigz.
// Test hosts always have pigz, so DEBPKG_GZIP=zlib forces it here: its stream must gunzip to
// the exact input, and a .deb built with it must carry the same data.tar as a pigz build and
// be accepted by dpkg-deb.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { ParallelGzip } from '../../deb/gzip-parallel.js';
import { Project } from '../support/project.js';

const execFileP = promisify(execFile);

/** Compressible but not trivial bytes (text with a counter), so blocks back-reference each other. */
function sample(size: number): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) off += out.write(`line ${i} ${(i * 2654435761) % 1000003} the quick brown fox\n`, off);
  return out;
}

async function parallelGzip(input: Buffer, blockSize: number, parallel: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const gz = new ParallelGzip({ level: 6, blockSize, parallel }, async (c) => {
    chunks.push(Buffer.from(c));
  });
  // Uneven writes: block boundaries must not depend on how the caller slices its input.
  for (let off = 0; off < input.length; off += 70_001) await gz.write(input.subarray(off, off + 70_001));
  await gz.end();
  return Buffer.concat(chunks);
}

test('ParallelGzip: many blocks decompress to the input, same bytes at any parallelism', async () => {
  const input = sample(3 << 20);
  const gz = await parallelGzip(input, 64 << 10, 3);
  assert.ok(gunzipSync(gz).equals(input), 'zlib gunzip returns the input');
  assert.ok((await parallelGzip(input, 64 << 10, 1)).equals(gz), 'output does not depend on parallelism');
  assert.ok(gz.length < input.length / 3, `compressed ${gz.length} of ${input.length} bytes`);
});

test('ParallelGzip: empty input is a valid empty gzip member', async () => {
  const gz = await parallelGzip(Buffer.alloc(0), 64 << 10, 3);
  assert.equal(gunzipSync(gz).length, 0);
});

test('DEBPKG_GZIP=zlib: the .deb has the same data.tar as a pigz build and dpkg-deb accepts it', async () => {
  const big = sample(2 << 20); // four of the engine's 512 KiB blocks
  const p = await Project.create({ 'big.txt': big, 'small.txt': 'hello\n' });
  try {
    await p.spec(`name: gz-engine
version: 1.0.0
arch: all
maintainer: Test <test@example.org>
description: gzip engine test
contents:
  - { src: big.txt, dst: /usr/share/gz-engine/big.txt }
  - { src: small.txt, dst: /usr/share/gz-engine/small.txt }
`);
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const zlibDeb = p.path('zlib.deb');
    await rename(await p.build([], { ...env, DEBPKG_GZIP: 'zlib' }), zlibDeb);
    const pigzDeb = await p.build([], { ...env, DEBPKG_GZIP: 'pigz' });

    const member = async (deb: string): Promise<Buffer> => (await execFileP('ar', ['p', deb, 'data.tar.gz'], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
    const zlibGz = await member(zlibDeb);
    const pigzGz = await member(pigzDeb);
    assert.not.ok(zlibGz.equals(pigzGz), 'the two engines write different gzip bytes (else the zlib engine did not run)');

    const fsys = async (deb: string): Promise<Buffer> => (await execFileP('dpkg-deb', ['--fsys-tarfile', deb], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
    const zlibTar = await fsys(zlibDeb);
    assert.ok(zlibTar.equals(await fsys(pigzDeb)), 'same data.tar from both engines');
    assert.ok(gunzipSync(zlibGz).equals(zlibTar), 'zlib gunzip of the member is the data.tar dpkg-deb reads');

    await execFileP('dpkg-deb', ['--info', zlibDeb]);
    await execFileP('dpkg-deb', ['-x', zlibDeb, p.path('root')]);
    assert.ok((await readFile(join(p.path('root'), 'usr/share/gz-engine/big.txt'))).equals(big));
    assert.equal(await readFile(join(p.path('root'), 'usr/share/gz-engine/small.txt'), 'utf8'), 'hello\n');
    await execFileP('sh', ['-c', `ar p '${zlibDeb}' data.tar.gz | gzip -t`]);
  } finally {
    await p.destroy();
  }
});

test.run();
