// Memory stays flat at any payload size: a 3 GiB payload with one file over 2 GiB builds in
// ≤ 120 MB peak RSS, and dpkg-deb reads the result (ar member and tar entry sizes > 2 GiB).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLI, sh } from '../support/project.js';

const GiB = 1024 ** 3;
const BIG = Math.round(2.25 * GiB); // > 2 GiB: past every 32-bit size field
const REST = 3 * GiB - BIG;
const RSS_LIMIT_KB = 120 * 1024;

async function sparse(path: string, size: number, head: Buffer): Promise<void> {
  // Sparse files: the payload costs no disk, but every byte is still read, hashed and archived.
  const fh = await open(path, 'w');
  await fh.write(head, 0, head.length, 0);
  await fh.truncate(size);
  await fh.close();
}

async function project(): Promise<string> {
  // Disk-backed on purpose (not a tmpfs): this is about the builder's memory, not the page cache.
  const dir = await mkdtemp(join('/var/tmp', 'debpkg-large-'));
  await sparse(join(dir, 'big.bin'), BIG, randomBytes(1 << 20));
  await sparse(join(dir, 'rest.bin'), REST, randomBytes(1 << 20));
  await writeFile(
    join(dir, 'debpkg.yaml'),
    `name: large-payload
version: "1.0"
arch: all
maintainer: Big Tester <big@example.org>
description: 3 GiB payload
deb:
  compression: \${COMPRESSION}
contents:
  - { src: big.bin, dst: /srv/large/big.bin }
  - { src: rest.bin, dst: /srv/large/rest.bin }
`,
  );
  return dir;
}

for (const compression of ['gzip', 'none']) {
  test(`3 GiB payload (${compression}): peak RSS ≤ 120 MB, dpkg-deb reads the >2 GiB entry`, async () => {
    const dir = await project();
    try {
      const r = await sh(
        `cd ${dir} && COMPRESSION=${compression} /usr/bin/time -f 'maxrss=%M' ${process.execPath} ${CLI} build --output out 2>time.txt; echo "exit=$?"; cat time.txt`,
      );
      assert.match(r.stdout, /exit=0/, r.stdout);
      const rss = Number(/maxrss=(\d+)/.exec(r.stdout)?.[1]);
      assert.ok(rss > 0 && rss <= RSS_LIMIT_KB, `peak RSS ${rss} KB > ${RSS_LIMIT_KB} KB`);
      const deb = join(dir, 'out/large-payload_1.0_all.deb');
      const listing = (await sh(`dpkg-deb --contents ${deb}`)).stdout;
      assert.match(listing, new RegExp(`root/root\\s+${BIG} .*\\./srv/large/big\\.bin`));
      assert.match(listing, new RegExp(`root/root\\s+${REST} .*\\./srv/large/rest\\.bin`));
      if (compression === 'none') {
        const size = Number((await sh(`ar tv ${deb} | awk '/data.tar/ {print $3}'`)).stdout.trim());
        assert.ok(size > 3 * GiB, `data.tar member is ${size} bytes`);
      }
      // The >2 GiB file's bytes survive: its md5 in md5sums matches what dpkg-deb extracts.
      const listed = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./md5sums | grep big.bin`)).stdout.split(' ')[0];
      const actual = (await sh(`dpkg-deb --fsys-tarfile ${deb} | tar -xO ./srv/large/big.bin | md5sum`)).stdout.split(' ')[0];
      const source = (await sh(`md5sum ${join(dir, 'big.bin')}`)).stdout.split(' ')[0];
      assert.is(listed, source);
      assert.is(actual, source);
      process.stderr.write(`  [large-payload ${compression}] peak RSS ${rss} KB\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test.run();
