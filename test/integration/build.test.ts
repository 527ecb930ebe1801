// debpkg build judged by the real tools: dpkg-deb, lintian, GNU tar, binutils ar.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile, readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Project, REPO_ROOT, sh } from '../support/project.js';
import { EDGE_NAMES, edgeProject } from '../support/fixtures.js';

const EXAMPLE = join(REPO_ROOT, 'examples/hello/debpkg.yaml');
const sha256 = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex');

test('the example builds, dpkg-deb reads it, lintian reports no errors', async () => {
  const p = await Project.create();
  try {
    const r = await p.cli(['build', '--config', EXAMPLE, '--output', 'out'], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.is(r.code, 0, r.stderr);
    const deb = r.stdout.trim().split('\n').pop()!;
    assert.ok(deb.endsWith('/hello-debpkg_1.0.0-1_all.deb'), deb);
    const info = (await sh(`dpkg-deb --info ${deb}`)).stdout;
    assert.match(info, /Package: hello-debpkg/);
    assert.match(info, /Installed-Size: \d+/);
    const ctrl = (await sh(`dpkg-deb --field ${deb} Version Architecture Depends`)).stdout;
    assert.is(ctrl, 'Version: 1.0.0-1\nArchitecture: all\nDepends: dash (>= 0.5)\n');
    const listing = (await sh(`dpkg-deb --contents ${deb}`)).stdout;
    assert.match(listing, /-rwxr-xr-x root\/root .* \.\/usr\/bin\/hello-debpkg/);
    assert.match(listing, /\.\/usr\/lib\/systemd\/system\/hello-debpkg\.service/);
    assert.match(listing, /\.\/usr\/share\/doc\/hello-debpkg\/copyright/);
    assert.not.match(listing, /hello-debpkg\.log/, 'ghost files are not shipped');
    assert.is((await sh(`ar t ${deb}`)).stdout, 'debian-binary\ncontrol.tar.gz\ndata.tar.gz\n');
    assert.match((await sh(`ar tv ${deb}`)).stdout, /^rw-r--r-- 0\/0/m);
    const conffiles = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./conffiles`)).stdout;
    assert.is(conffiles, '/etc/hello-debpkg/hello.conf\n');
    const lint = await sh(`lintian --no-tag-display-limit --fail-on error ${deb} 2>&1`, { allowFail: true });
    assert.is(lint.code, 0, lint.stdout);
    assert.not.match(lint.stdout, /^E: /m, lint.stdout);
  } finally {
    await p.destroy();
  }
});

test('edge cases: long, unicode, long link targets, empty files and dirs, exec bits, epoch + tilde', async () => {
  const p = await edgeProject();
  try {
    const deb = await p.build();
    assert.ok(deb.endsWith('/edge-case_1.0~rc1-1_all.deb'), 'file name drops the epoch');
    assert.is((await sh(`dpkg-deb --field ${deb} Version`)).stdout.trim(), '2:1.0~rc1-1');
    // Never PAX: dpkg would refuse it. GNU tar --list --verbose prints any PAX keyword headers.
    const typeflags = (await sh(`dpkg-deb --fsys-tarfile ${deb} | od -An -tx1 -v -w512 | cut -c 469-471 | sort | uniq -c`)).stdout;
    assert.not.match(typeflags, / 78$| 67$/m, `PAX typeflag found: ${typeflags}`);
    const out = p.path('x');
    await sh(`dpkg-deb -x ${deb} ${out}`);
    for (const [key, path] of Object.entries(EDGE_NAMES)) {
      const st = await sh(`stat -c '%F %a %s' '${out}${path}'`, { allowFail: true });
      assert.is(st.code, 0, `${key}: ${path} missing after dpkg-deb -x`);
    }
    assert.is((await sh(`stat -c '%a %s' '${out}${EDGE_NAMES.exec}'`)).stdout.trim(), '755 20');
    assert.is((await sh(`stat -c '%s' '${out}${EDGE_NAMES.empty}'`)).stdout.trim(), '0');
    assert.is((await sh(`readlink '${out}${EDGE_NAMES.linkLong}'`)).stdout.trim(), `/opt/edge/${'t'.repeat(120)}/target`);
    assert.is((await readFile(`${out}${EDGE_NAMES.long}`, 'utf8')), 'long\n');
    assert.is((await readFile(`${out}${EDGE_NAMES.unicode}`, 'utf8')), 'unicode\n');
    assert.is((await readdir(`${out}${EDGE_NAMES.emptyDir}`)).length, 0);
    // md5sums agree with the shipped bytes
    const md5 = await sh(`cd ${out} && dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./md5sums | md5sum -c --quiet`, { allowFail: true });
    assert.is(md5.code, 0, md5.stdout + md5.stderr);
    const lint = await sh(`lintian --fail-on error ${deb} 2>&1`, { allowFail: true });
    assert.is(lint.code, 0, lint.stdout);
  } finally {
    await p.destroy();
  }
});

test('every compression is accepted by dpkg-deb and extracts the same files', async () => {
  const p = await edgeProject();
  try {
    const listings = new Set<string>();
    for (const compression of ['gzip', 'gzip:9', 'xz', 'zstd', 'zstd:19', 'none']) {
      const spec = (await readFile(p.path('debpkg.yaml'), 'utf8')).replace(/\ndeb:.*$/s, '');
      await p.write('debpkg.yaml', `${spec}\ndeb:\n  compression: "${compression}"\n`);
      const deb = await p.build(['--output', `out-${compression.replace(':', '-')}`], { SOURCE_DATE_EPOCH: '1700000000' });
      const member = (await sh(`ar t ${deb}`)).stdout.split('\n')[2];
      const ext = { gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' }[compression.split(':')[0] as 'gzip'];
      assert.is(member, `data.tar${ext}`);
      const listing = (await sh(`dpkg-deb --contents ${deb}`)).stdout;
      listings.add(listing);
    }
    assert.is(listings.size, 1, 'all compressions list the same entries');
  } finally {
    await p.destroy();
  }
});

test('reproducible: two builds with SOURCE_DATE_EPOCH are byte-identical whatever the file mtimes', async () => {
  const p = await Project.create();
  try {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = await p.cli(['build', '--config', EXAMPLE, '--output', 'a'], env);
    // Touch every source file: a fresh checkout has new mtimes.
    for (const f of ['bin/hello', 'etc/hello.conf', 'scripts/postinst.sh']) {
      const path = join(REPO_ROOT, 'examples/hello', f);
      const now = new Date();
      await utimes(path, now, now);
    }
    const b = await p.cli(['build', '--config', EXAMPLE, '--output', 'b'], env);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    const [da, db] = [a.stdout.trim().split('\n').pop()!, b.stdout.trim().split('\n').pop()!];
    assert.is(await sha256(da), await sha256(db));
    const mtimes = (await sh(`dpkg-deb --fsys-tarfile ${da} | tar -tv --full-time | awk '{print $4" "$5}' | sort -u`)).stdout.trim();
    assert.is(mtimes, '2023-11-14 22:13:20', 'every entry carries SOURCE_DATE_EPOCH');
    const c = await p.cli(['build', '--config', EXAMPLE, '--output', 'c'], { SOURCE_DATE_EPOCH: '1700000001' });
    assert.is.not(await sha256(c.stdout.trim().split('\n').pop()!), await sha256(da), 'the epoch really is in the bytes');
  } finally {
    await p.destroy();
  }
});

test('the same tree rebuilt by dpkg-deb has the same files, modes and owners', async () => {
  const p = await edgeProject();
  try {
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const root = p.path('raw');
    await sh(`dpkg-deb -R ${deb} ${root}`);
    await sh(`dpkg-deb --root-owner-group -b ${root} ${p.path('ref.deb')} >/dev/null`);
    const norm = "awk '{print $1, $2, $3, $6, $7, $8}' | sort";
    const ours = (await sh(`dpkg-deb -c ${deb} | ${norm}`)).stdout;
    const theirs = (await sh(`dpkg-deb -c ${p.path('ref.deb')} | ${norm}`)).stdout;
    assert.fixture(ours, theirs);
    const oursInfo = (await sh(`dpkg-deb -f ${deb}`)).stdout;
    const theirsInfo = (await sh(`dpkg-deb -f ${p.path('ref.deb')}`)).stdout;
    assert.fixture(oursInfo, theirsInfo);
  } finally {
    await p.destroy();
  }
});

test('inspect shows fields, scripts, conffiles and contents; --json is machine-readable', async () => {
  const p = await Project.create();
  try {
    const r = await p.cli(['build', '--config', EXAMPLE, '--output', 'out', '--json'], { SOURCE_DATE_EPOCH: '1700000000' });
    assert.is(r.code, 0, r.stderr);
    const meta = JSON.parse(r.stdout) as { path: string; package: string; sha256: string; size: number; conffiles: string[] };
    assert.is(meta.package, 'hello-debpkg');
    assert.is(meta.sha256, await sha256(meta.path));
    assert.equal(meta.conffiles, ['/etc/hello-debpkg/hello.conf']);
    const text = await p.cli(['inspect', meta.path]);
    assert.is(text.code, 0, text.stderr);
    assert.match(text.stdout, / Package: hello-debpkg/);
    assert.match(text.stdout, /Conffiles:\n {2}\/etc\/hello-debpkg\/hello\.conf/);
    assert.match(text.stdout, /postinst/);
    assert.match(text.stdout, /-rwxr-xr-x root\/root .* \.\/usr\/bin\/hello-debpkg/);
    const json = JSON.parse((await p.cli(['inspect', meta.path, '--json'])).stdout) as {
      control: Record<string, string>;
      scripts: Record<string, string>;
      contents: { path: string }[];
    };
    assert.is(json.control.Package, 'hello-debpkg');
    assert.ok(json.scripts.postinst?.includes('deb-systemd-helper'));
    assert.ok(json.contents.some((c) => c.path === './usr/bin/hello-debpkg'));
    const bad = await p.cli(['inspect', p.path('debpkg.yaml')]);
    assert.is(bad.code, 2);
    assert.match(bad.stderr, /not a Debian package|cannot read/);
  } finally {
    await p.destroy();
  }
});

test.run();
