// contents[].src globs, directories and dst ending in "/" through the real CLI, judged by
// dpkg-deb: the file list of the built .deb, and the located error of a glob matching nothing.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Project, REPO_ROOT, sh } from '../support/project.js';

const HEAD = `name: glob-demo
version: "1.0"
maintainer: Glob Tester <glob@example.org>
description: glob test package
`;

/** Shipped files and symlinks of a .deb as dpkg-deb lists them ("./path" or "./path -> target"). */
async function listing(deb: string): Promise<string[]> {
  const out = (await sh(`dpkg-deb -c ${deb}`)).stdout;
  return out
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('d'))
    .map((l) => l.replace(/^(\S+\s+){5}/, ''))
    .filter((p) => !p.startsWith('./usr/share/doc/'));
}

test('every glob form, a directory src and dst ending in / build into the listed paths', async () => {
  const p = await Project.create({
    'conf/a.conf': 'a=1\n',
    'conf/b.conf': 'b=1\n',
    'conf/notes.txt': 'not a conf\n',
    'build/app': { content: '#!/bin/sh\necho app\n', mode: 0o755 },
    'build/helper': { content: '#!/bin/sh\n', mode: 0o755 },
    'build/README': 'readme\n',
    'folder/file1': '1\n',
    'folder/folder2/file2': '22\n',
    'docs/guide/intro.md': '# intro\n',
    'docs/api/ref.md': '# ref\n',
    'lib/libdemo.so.1': 'elf\n',
    'lib/libdemo.so': { content: '', symlinkTo: 'libdemo.so.1' },
    'share/x/y.txt': 'y\n',
  });
  try {
    await p.spec(`${HEAD}contents:
  - { src: "conf/*.conf", dst: /etc/glob-demo/conf.d }
  - { src: "build/{app,helper}", dst: /usr/bin/ }
  - { src: build/README, dst: /usr/share/glob-demo/ }
  - { src: "folder/*", dst: /usr/share/glob-demo/folder }
  - { src: "docs/**/*.md", dst: /usr/share/glob-demo/docs }
  - { src: "docs/**/*.md", dst: /usr/share/glob-demo/flat/ }
  - { src: "${p.path('lib')}/libdemo.*", dst: /usr/lib/glob-demo }
  - { src: share, dst: /usr/share/glob-demo/share }
`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.equal(await listing(deb), [
      './etc/glob-demo/conf.d/a.conf',
      './etc/glob-demo/conf.d/b.conf',
      './usr/bin/app',
      './usr/bin/helper',
      './usr/lib/glob-demo/libdemo.so -> libdemo.so.1',
      './usr/lib/glob-demo/libdemo.so.1',
      './usr/share/glob-demo/README',
      './usr/share/glob-demo/docs/api/ref.md',
      './usr/share/glob-demo/docs/guide/intro.md',
      './usr/share/glob-demo/flat/intro.md',
      './usr/share/glob-demo/flat/ref.md',
      './usr/share/glob-demo/folder/file1',
      './usr/share/glob-demo/folder/folder2/file2',
      './usr/share/glob-demo/share/x/y.txt',
    ]);
    const modes = (await sh(`dpkg-deb -c ${deb} | grep -E ' \\./usr/bin/(app|helper)$' | cut -c1-10 | sort -u`)).stdout.trim();
    assert.is(modes, '-rwxr-xr-x', 'executables keep 0755');
    const conffiles = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./conffiles`)).stdout;
    assert.is(conffiles, '/etc/glob-demo/conf.d/a.conf\n/etc/glob-demo/conf.d/b.conf\n');
  } finally {
    await p.destroy();
  }
});

test("docs/spec.md's contents example builds as documented", async () => {
  const doc = await readFile(join(REPO_ROOT, 'docs/spec.md'), 'utf8');
  const example = /## Contents\n\n```yaml\n(contents:\n[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'the contents example is in docs/spec.md');
  const p = await Project.create({
    'build/app': { content: '#!/bin/sh\n', mode: 0o755 },
    'conf/a.conf': 'a\n',
    'conf/extra/b.conf': 'b\n',
    'etc/app.toml': 'x = 1\n',
    'share/index.html': '<p>\n',
    'dist/app-linux-amd64/app-helper': { content: '#!/bin/sh\n', mode: 0o755 },
  });
  try {
    await p.spec(`${HEAD}${example}`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const files = await listing(deb);
    for (const path of ['./usr/bin/app', './etc/app/conf.d/a.conf', './etc/app/app.toml', './usr/share/app/index.html']) {
      assert.ok(files.includes(path), `${path} in ${files.join(', ')}`);
    }
  } finally {
    await p.destroy();
  }
});

test('a glob matching nothing: exit 2, the field and its line, nothing written', async () => {
  const p = await Project.create({ 'conf/a.conf': 'a\n' });
  try {
    await p.spec(`${HEAD}contents:\n  - { src: "conf/*.conf", dst: /etc/x/ }\n  - { src: "conf/*.toml", dst: /etc/x/ }\n`);
    const r = await p.cli(['build', '--output', 'out']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /debpkg\.yaml:7:\d+: contents\[1\]\.src: no file matches 'conf\/\*\.toml'/);
    assert.is(r.stdout, '');
  } finally {
    await p.destroy();
  }
});

test.run();
