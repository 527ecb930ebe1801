// The bytes debpkg writes, pinned: a fixed tree (every tar and staging corner the data path
// has — empty files, whole-block sizes, files on either side of the 1 MiB staging buffer, a
// multi-MiB file, long and unicode names, a long link target, a conffile, an empty directory)
// built with SOURCE_DATE_EPOCH must give the recorded data.tar and control.tar, whatever the
// data compressor. A speed-up that changes one byte of either fails here. The compressed
// members are not pinned: their bytes belong to pigz's and zlib's versions, not to debpkg.
// (Recorded with the data path of 6851f3b, before the issue-18 start-up and per-file work.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { Project, sh } from '../support/project.js';
import { EDGE_NAMES } from '../support/fixtures.js';

const RECORDED = {
  dataTar: '13457c1888666a78de7cacbad40576da377412c88bfb1540d02272a9a3c4580e',
  controlTar: '49242a12667f7d7b2da4a6eb3b6479b335b10ccb1cd4d818458bee839da01642',
};

/** Deterministic bytes: text-like for most files, so compressors see realistic input. */
function content(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const r = s >>> 24;
    out[i] = r % 11 === 0 ? 0x0a : 0x61 + (r % 26);
  }
  return out;
}

async function fixedTree(compression: string): Promise<Project> {
  const p = await Project.create();
  const sizes = [0, 1, 511, 512, 513, 1024, 4096, 10000, 20480, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 77];
  let s = 99;
  for (let i = 0; i < 300; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    sizes.push(s % 24577);
  }
  for (const [i, size] of sizes.entries()) await p.write(`tree/d${i % 7}/f${i}.txt`, content(i + 1, size));
  await p.write('files/tool', { content: '#!/bin/sh\necho pinned\n', mode: 0o755 });
  await p.write('files/app.conf', 'key = value\n');
  await p.write('files/mid.txt', 'mid\n');
  await p.write('files/long.txt', 'long\n');
  await p.write('files/unicode.txt', 'unicode\n');
  await p.spec(`
name: pinned-bytes
version: "1.2.3"
release: "1"
arch: all
maintainer: Pin Tester <pin@example.org>
description: |
  Package whose bytes are pinned
  A fixed tree covering the data path's corners.
license: MIT
deb:
  compression: ${compression}
contents:
  - { src: tree, dst: /usr/share/pinned, type: tree }
  - { src: files/tool, dst: /usr/bin/pinned-tool }
  - { src: files/app.conf, dst: /etc/pinned/app.conf }
  - { src: files/mid.txt, dst: "${EDGE_NAMES.mid}" }
  - { src: files/long.txt, dst: "${EDGE_NAMES.long}" }
  - { src: files/unicode.txt, dst: "${EDGE_NAMES.unicode}" }
  - { src: "/opt/pinned/${'t'.repeat(120)}/target", dst: /usr/share/pinned/long-link, type: symlink }
  - { dst: /var/lib/pinned/empty, type: dir }
`);
  return p;
}

const digestOf = async (cmd: string): Promise<string> => {
  const { stdout } = await sh(`${cmd} | sha256sum`);
  return stdout.split(' ')[0]!;
};

for (const compression of ['gzip', 'none', 'zstd']) {
  test(`${compression}: data.tar and control.tar are the recorded bytes`, async () => {
    const p = await fixedTree(compression);
    try {
      const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
      const got = {
        dataTar: await digestOf(`dpkg-deb --fsys-tarfile ${deb}`),
        controlTar: await digestOf(`dpkg-deb --ctrl-tarfile ${deb}`),
      };
      assert.equal(got, RECORDED);
    } finally {
      await p.destroy();
    }
  });
}

test.run();
