// contents[].src resolution (builder/contents.ts + builder/sources.ts + builder/glob.ts) on real
// temporary directories: every glob form, directory sources, dst ending in "/", and nfpm's
// placement rules (goreleaser/nfpm internal/glob and its acceptance configs) as the reference.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { resolveContents, type ResolvedContents } from '../../builder/contents.js';
import { SpecError } from '../../builder/spec-error.js';
import type { ContentSpec } from '../../builder/spec-types.js';

type Tree = Record<string, string | { link: string } | { dir: true }>;

/** A temporary project; the name has glob characters so a base dir read as a pattern would show. */
async function withTree(files: Tree, body: (dir: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'contents-src-'));
  const dir = join(root, 'proj [1] {x}');
  try {
    await mkdir(dir);
    for (const [rel, f] of Object.entries(files)) {
      const abs = join(dir, rel);
      await mkdir(typeof f === 'object' && 'dir' in f ? abs : dirname(abs), { recursive: true });
      if (typeof f === 'string') await writeFile(abs, f);
      else if ('link' in f) await symlink(f.link, abs);
    }
    await body(dir);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const resolve = (dir: string, contents: ContentSpec[], disableGlobbing = false): Promise<ResolvedContents> =>
  resolveContents(contents, { baseDir: dir, defaultMtime: 1700000000, ...(disableGlobbing ? { disableGlobbing } : {}) });

/** Shipped files and symlinks (directories are implied parents), "path" or "path -> target". */
function shipped(r: ResolvedContents): string[] {
  return r.entries.filter((e) => e.type !== 'directory').map((e) => (e.type === 'symlink' ? `${e.path} -> ${e.linkTarget}` : e.path));
}

async function specError(p: Promise<unknown>): Promise<SpecError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error('expected a SpecError');
}

const FOLDER: Tree = {
  'folder/file1': '1',
  'folder/file2': '2',
  'folder/folder2/file1': '21',
  'folder/folder2/file2': '22',
};

test('* matches within one directory; the docs example conf/*.conf (relative) works', async () => {
  await withTree({ 'conf/a.conf': 'a', 'conf/b.conf': 'b', 'conf/c.txt': 'c', 'conf/sub/d.conf': 'd' }, async (dir) => {
    const r = await resolve(dir, [{ src: 'conf/*.conf', dst: '/etc/app/conf.d' }]);
    assert.equal(shipped(r), ['/etc/app/conf.d/a.conf', '/etc/app/conf.d/b.conf']);
    assert.ok(r.entries.filter((e) => e.type === 'file').every((e) => e.conffile), 'files under /etc are conffiles');
    const slash = await resolve(dir, [{ src: 'conf/*.conf/', dst: '/etc/app/conf.d' }]);
    assert.equal(shipped(slash), shipped(r), 'a trailing / on the pattern changes nothing');
  });
});

test('an absolute pattern, and ./ and ../ relative ones', async () => {
  await withTree({ 'conf/a.conf': 'a', 'spec/x': '', 'conf/b.conf': 'b' }, async (dir) => {
    const abs = await resolve(dir, [{ src: `${dir.replace(/[[\]{}*?\\]/g, '\\$&')}/conf/*.conf`, dst: '/usr/share/a' }]);
    assert.equal(shipped(abs), ['/usr/share/a/a.conf', '/usr/share/a/b.conf']);
    const dot = await resolve(dir, [{ src: './conf/a.*', dst: '/usr/share/a' }]);
    assert.equal(shipped(dot), ['/usr/share/a/a.conf']);
    const up = await resolve(join(dir, 'spec'), [{ src: '../conf/?.conf', dst: '/usr/share/a' }]);
    assert.equal(shipped(up), ['/usr/share/a/a.conf', '/usr/share/a/b.conf']);
  });
});

test('** crosses directories and keeps the path below the static directory (nfpm: needs one directory for a/**/b)', async () => {
  await withTree({ 'docs/top.md': 't', 'docs/guide/a.md': 'a', 'docs/guide/deep/b.md': 'b', 'docs/guide/c.txt': 'c' }, async (dir) => {
    const r = await resolve(dir, [{ src: 'docs/**/*.md', dst: '/usr/share/doc/app' }]);
    assert.equal(shipped(r), ['/usr/share/doc/app/guide/a.md', '/usr/share/doc/app/guide/deep/b.md']);
    const all = await resolve(dir, [{ src: 'docs/**', dst: '/usr/share/doc/app' }]);
    assert.equal(shipped(all), ['/usr/share/doc/app/guide/a.md', '/usr/share/doc/app/guide/c.txt', '/usr/share/doc/app/guide/deep/b.md', '/usr/share/doc/app/top.md']);
  });
});

test('{a,b} alternatives, also across directories; [..] classes; \\ quotes a wildcard', async () => {
  await withTree({ 'bin/app': '', 'bin/tool': '', 'bin/other': '', 'lib/x.so': '', 'bin/t1': '', 'bin/t2': '', '{d}/q': '' }, async (dir) => {
    const r = await resolve(dir, [{ src: 'bin/{app,tool}', dst: '/usr/bin' }]);
    assert.equal(shipped(r), ['/usr/bin/app', '/usr/bin/tool']);
    const across = await resolve(dir, [{ src: '{bin/app,lib/*.so}', dst: '/opt/x' }]);
    assert.equal(shipped(across), ['/opt/x/bin/app', '/opt/x/lib/x.so']);
    const cls = await resolve(dir, [{ src: 'bin/t[!1]', dst: '/opt/t' }]);
    assert.equal(shipped(cls), ['/opt/t/t2']);
    const quoted = await resolve(dir, [{ src: '\\{d\\}/*', dst: '/opt/q' }]);
    assert.equal(shipped(quoted), ['/opt/q/q']);
  });
});

test('a directory src packs its files and symlinks at dst/<path below it>; empty directories stay out', async () => {
  await withTree({ ...FOLDER, 'folder/link': { link: 'file1' }, 'folder/empty': { dir: true } }, async (dir) => {
    const r = await resolve(dir, [{ src: 'folder', dst: '/usr/share/whatever' }]);
    assert.equal(shipped(r), [
      '/usr/share/whatever/file1',
      '/usr/share/whatever/file2',
      '/usr/share/whatever/folder2/file1',
      '/usr/share/whatever/folder2/file2',
      '/usr/share/whatever/link -> file1',
    ]);
    assert.ok(!r.entries.some((e) => e.path.endsWith('/empty')), 'no empty directory');
    const slash = await resolve(dir, [{ src: 'folder/', dst: '/usr/share/whatever/' }]);
    assert.equal(shipped(slash), shipped(r), 'a directory keeps its layout with dst ending in /');
  });
});

test('folder/* brings the whole matched sub-directory (nfpm core.complex: folder/folder2/file1)', async () => {
  await withTree(FOLDER, async (dir) => {
    const r = await resolve(dir, [{ src: 'folder/*', dst: '/usr/share/whatever/folder' }]);
    assert.equal(shipped(r), [
      '/usr/share/whatever/folder/file1',
      '/usr/share/whatever/folder/file2',
      '/usr/share/whatever/folder/folder2/file1',
      '/usr/share/whatever/folder/folder2/file2',
    ]);
  });
});

test('dst ending in / puts a file inside that directory, and globs flat (nfpm core.env-var-version)', async () => {
  await withTree({ ...FOLDER, 'build/app': '#!/bin/sh\n' }, async (dir) => {
    await chmod(join(dir, 'build/app'), 0o755);
    const one = await resolve(dir, [{ src: 'build/app', dst: '/opt/app/bin/' }]);
    assert.equal(shipped(one), ['/opt/app/bin/app']);
    assert.is(one.entries.find((e) => e.path === '/opt/app/bin')?.type, 'directory');
    assert.is(one.entries.find((e) => e.path === '/opt/app/bin/app')?.mode, 0o755);
    const root = await resolve(dir, [{ src: 'build/app', dst: '/' }]);
    assert.equal(shipped(root), ['/app']);
    const flat = await resolve(dir, [{ src: 'folder/**/*', dst: '/usr/share/whatever/folder/' }]);
    assert.equal(shipped(flat), ['/usr/share/whatever/folder/file1', '/usr/share/whatever/folder/file2']);
    const txt = await resolve(dir, [{ src: 'folder/folder2/**', dst: '/etc/foo/' }]);
    assert.equal(shipped(txt), ['/etc/foo/file1', '/etc/foo/file2']);
  });
});

test('flattening two files of the same name is an error naming both', async () => {
  await withTree(FOLDER, async (dir) => {
    const err = await specError(resolve(dir, [{ src: 'folder/*', dst: '/etc/foo/' }]));
    assert.is(err.field, 'contents[0].src');
    assert.match(err.reason, /folder\/file1' and '.*folder\/folder2\/file1' would both be installed as '\/etc\/foo\/file1'/);
  });
});

test('symlinks a glob matches stay symlinks; a named symlink is followed', async () => {
  await withTree({ 'lib/libx.so.1': 'elf', 'lib/libx.so': { link: 'libx.so.1' } }, async (dir) => {
    const r = await resolve(dir, [{ src: 'lib/*', dst: '/usr/lib' }]);
    assert.equal(shipped(r), ['/usr/lib/libx.so -> libx.so.1', '/usr/lib/libx.so.1']);
    const named = await resolve(dir, [{ src: 'lib/libx.so', dst: '/usr/lib/libx.so' }]);
    assert.equal(named.entries.find((e) => e.path === '/usr/lib/libx.so')?.type, 'file');
  });
});

test('a glob matching nothing, a missing static directory, a bad glob, an empty directory: spec errors on src', async () => {
  await withTree({ 'conf/a.conf': 'a', 'empty/': { dir: true } }, async (dir) => {
    const none = await specError(resolve(dir, [{ src: 'conf/*.toml', dst: '/etc/x' }]));
    assert.is(none.field, 'contents[0].src');
    assert.match(none.reason, /^no file matches 'conf\/\*\.toml'/);
    const nodir = await specError(resolve(dir, [{ src: 'nothing/*.conf', dst: '/etc/x' }]));
    assert.match(nodir.reason, /^no file matches 'nothing\/\*\.conf' \(.*nothing does not exist\)/);
    const bad = await specError(resolve(dir, [{ src: 'conf/[a.conf', dst: '/etc/x' }]));
    assert.match(bad.reason, /is not a valid glob: unclosed '\['/);
    const empty = await specError(resolve(dir, [{ src: 'empty', dst: '/srv/x' }]));
    assert.match(empty.reason, /'empty' is an empty directory/);
  });
});

test('disable_globbing reads src literally', async () => {
  await withTree({ 'odd/a*b': 'x', 'odd/axb': 'y' }, async (dir) => {
    const r = await resolve(dir, [{ src: 'odd/a*b', dst: '/srv/' }], true);
    assert.equal(shipped(r), ['/srv/a*b']);
  });
});

test.run();
