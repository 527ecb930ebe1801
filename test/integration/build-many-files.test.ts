// Many small files: the control archive is really compressed, the file list stays small in
// memory (and a 200,000-file build's peak RSS within 120 MB), a control archive larger than its reserved slot still makes a valid package, and the
// staged small-file path and the streamed large-file path give dpkg-deb the same bytes as GNU tar.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { writeDebFile } from '../../builder/deb-file.js';
import { CLI, Project, REPO_ROOT, sh } from '../support/project.js';

const execFileP = promisify(execFile);

/** `count` files of varied size and content under dir/d<n>/ (text compresses, as real files do). */
async function manyFiles(dir: string, count: number, maxSize: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 250)}`);
    if (i % 250 === 0) await mkdir(sub, { recursive: true });
    const line = `line ${i} of a generated file\n`;
    await writeFile(join(sub, `f${i}.txt`), line.repeat(1 + ((i * 7919) % Math.max(1, Math.floor(maxSize / line.length)))));
  }
}

test('control.tar.gz is compressed: within 5% + 512 bytes of gzip -9 of the same control.tar', async () => {
  const p = await Project.create();
  try {
    await manyFiles(p.path('tree'), 3000, 2000);
    await p.spec(`name: many\nversion: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: many files\ncontents:\n  - { src: tree, dst: /usr/share/many, type: tree }\n`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const member = Number((await sh(`ar p ${deb} control.tar.gz | wc -c`)).stdout.trim());
    const best = Number((await sh(`ar p ${deb} control.tar.gz | gzip -dc | gzip -9n | wc -c`)).stdout.trim());
    const md5sums = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./md5sums | wc -l`)).stdout.trim();
    assert.is(md5sums, '3002', 'every file (and the two generated docs) has its md5sums line');
    assert.ok(member <= best * 1.05 + 512, `control.tar.gz is ${member} bytes, gzip -9 makes ${best}`);
    // dpkg's own checker over the whole package, md5sums included.
    const x = p.path('x');
    await sh(`dpkg-deb -R ${deb} ${x} && cd ${x} && md5sum --quiet -c DEBIAN/md5sums`);
  } finally {
    await p.destroy();
  }
});

test('20,000 entries are kept in under 120 bytes each, heap and array buffers together', async () => {
  const p = await Project.create();
  try {
    await manyFiles(p.path('tree'), 20000, 40);
    const probe = p.path('probe.mjs');
    // The same list resolved again and kept: what the second and later copies add is the cost per
    // entry (code, caches and the first copy's warm-up are not). Minimum of three: an array
    // buffer freed by a collection is returned to the allocator a little later.
    await writeFile(
      probe,
      `import { resolveContents } from ${JSON.stringify(join(REPO_ROOT, 'dist/builder/contents.js'))};
const resolve = () => resolveContents([{ src: ${JSON.stringify(p.path('tree'))}, dst: '/usr/share/many', type: 'tree' }], { baseDir: '/', defaultMtime: 1700000000 });
const memory = () => { global.gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
const kept = [await resolve()];
const costs = [];
for (let i = 0; i < 3; i++) {
  const before = memory();
  kept.push(await resolve());
  costs.push((memory() - before) / kept[0].list.length);
}
process.stdout.write(JSON.stringify({ entries: kept[0].list.length, perEntry: Math.min(...costs) }));`,
    );
    const { stdout } = await execFileP(process.execPath, ['--expose-gc', probe]);
    const m = JSON.parse(stdout) as { entries: number; perEntry: number };
    assert.ok(m.entries > 20000, `${m.entries} entries`);
    assert.ok(m.perEntry < 120, `${m.perEntry.toFixed(0)} bytes retained per entry`);
  } finally {
    await p.destroy();
  }
});

test('100,000 small files build within 120 MB peak RSS, and dpkg checks every md5sums line', async () => {
  const p = await Project.create();
  try {
    // Tiny files: what grows with the count is the entry list and md5sums, not the payload.
    await sh(`mkdir -p ${p.path('tree')} && cd ${p.path('tree')} && for d in $(seq 0 199); do mkdir d$d && (cd d$d && for f in $(seq 0 499); do echo "file $d/$f" > f$f; done); done`);
    await p.spec(`name: count\nversion: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: many files\ncontents:\n  - { src: tree, dst: /usr/share/count, type: tree }\n`);
    const r = await sh(`cd ${p.path('')} && SOURCE_DATE_EPOCH=1700000000 /usr/bin/time -f 'maxrss=%M' ${process.execPath} ${CLI} build --output out 2>time.txt; echo "exit=$?"; cat time.txt`);
    assert.match(r.stdout, /exit=0/, r.stdout);
    const rss = Number(/maxrss=(\d+)/.exec(r.stdout)?.[1]);
    assert.ok(rss > 0 && rss <= 120 * 1024, `peak RSS ${rss} KB > ${120 * 1024} KB`);
    const x = p.path('x');
    await sh(`dpkg-deb -R ${p.path('out/count_1.0_all.deb')} ${x} && cd ${x} && test $(wc -l < DEBIAN/md5sums) -eq 100002 && md5sum --quiet -c DEBIAN/md5sums`);
  } finally {
    await p.destroy();
  }
});

test('a control member larger than its reserved slot: data.tar is moved up and dpkg-deb reads the package', async () => {
  const p = await Project.create();
  try {
    const data = randomBytes(3 << 20);
    const target = p.path('moved.deb');
    // Data: a real data.tar.gz made by GNU tar, so dpkg-deb can list it.
    await mkdir(p.path('root/usr/share/moved'), { recursive: true });
    await writeFile(p.path('root/usr/share/moved/blob'), data);
    await sh(`tar -C ${p.path('root')} --owner=0 --group=0 -czf ${p.path('data.tar.gz')} ./`);
    await sh(`printf 'Package: moved\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: T <t@example.org>\\nDescription: moved\\n' > ${p.path('control')} && tar -C ${p.path('')} --owner=0 --group=0 -czf ${p.path('control.tar.gz')} ./control`);
    const realControl = await readFile(p.path('control.tar.gz'));
    const dataTar = await readFile(p.path('data.tar.gz'));
    assert.ok(realControl.length > 10, 'control archive made');
    await writeDebFile(
      target,
      { controlSize: 20, dataMember: 'data.tar.gz', mtime: 1700000000 },
      async (fh) => {
        await fh.write(dataTar, 0, dataTar.length, null);
      },
      async () => realControl,
    );
    const fields = (await sh(`dpkg-deb --field ${target} Package Version`)).stdout;
    assert.is(fields, 'Package: moved\nVersion: 1.0\n');
    await sh(`dpkg-deb -x ${target} ${p.path('x')}`);
    assert.ok((await readFile(p.path('x/usr/share/moved/blob'))).equals(data), 'payload intact after the move');
  } finally {
    await p.destroy();
  }
});

test('staged small files and streamed large files: the same archive bytes as the tree GNU tar reads', async () => {
  const p = await Project.create();
  try {
    // Sizes around the 1 MiB staging buffer and the 512-byte block: 0, 1, 511, 512, 513, 1 MiB ± 1, 3 MiB.
    const sizes = [0, 1, 511, 512, 513, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20];
    await mkdir(p.path('tree'), { recursive: true });
    for (const [i, size] of sizes.entries()) await writeFile(p.path(`tree/f${i}`), randomBytes(size));
    await p.spec(`name: sizes\nversion: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: sizes\ncontents:\n  - { src: tree, dst: /usr/share/sizes, type: tree }\n`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    await sh(`dpkg-deb -x ${deb} ${p.path('x')}`);
    for (const i of sizes.keys()) {
      const same = await sh(`cmp ${p.path(`tree/f${i}`)} ${p.path(`x/usr/share/sizes/f${i}`)}`, { allowFail: true });
      assert.is(same.code, 0, `f${i} (${sizes[i]} bytes) differs after dpkg-deb -x`);
    }
    const x = p.path('x2');
    await sh(`dpkg-deb -R ${deb} ${x} && cd ${x} && md5sum --quiet -c DEBIAN/md5sums`);
  } finally {
    await p.destroy();
  }
});

test.run();
