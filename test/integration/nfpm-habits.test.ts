// An nfpm user's habits with the real CLI: every problem of a spec in one run, overrides.deb,
// other packagers' sections, nfpm's defaults with warnings, nfpm.yaml found by default, nfpm's
// `package -p deb -t` form, -o FILE.deb vs -o DIR/, the host's architecture, ${VAR} and --strict-env.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { execFileP, Project } from '../support/project.js';

const FILES = { 'app.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 }, 'app.conf': 'x = 1\n' };

test('a spec with eight distinct problems yields one run listing all eight, each with its line', async () => {
  const p = await Project.create(FILES);
  try {
    await p.spec(
      [
        'name: demo', //                                 1
        'versoin: 1.0.0', //                             2: unknown field, and version missing
        'contents:', //                                  3
        '  - src: app.sh', //                            4: dst missing
        '    dts: /usr/bin/app', //                      5: unknown field
        'deb:', //                                       6
        '  compression: lz4', //                         7: bad value
        'rpm:', //                                       8
        '  summary: [not, a, string]', //                9: type error in rpm's section
        'overrides:', //                                 10
        '  debian: {}', //                               11: no such packager
        'priority: sometimes', //                        12: not a priority
        'maintainer: A B <a@example.org>',
        'description: demo',
        '',
      ].join('\n'),
    );
    const r = await p.cli(['build', '-o', 'out/']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /^debpkg: error: debpkg\.yaml: 8 problems:\n/);
    const expected = [
      /debpkg\.yaml:1:1: version: is required: add `version: 1\.0\.0`/,
      /debpkg\.yaml:2:1: versoin: unknown field/,
      /debpkg\.yaml:4:5: contents\[0\]\.dst: is required/,
      /debpkg\.yaml:5:5: contents\[0\]\.dts: unknown field/,
      /debpkg\.yaml:7:3: deb\.compression: has an invalid value/,
      /debpkg\.yaml:9:3: rpm\.summary: must be a string/,
      /debpkg\.yaml:11:3: overrides\.debian: unknown field \(nfpm has no such packager/,
      /debpkg\.yaml:12:1: priority: must be one of/,
    ];
    for (const e of expected) assert.match(r.stderr, e);
    assert.equal(await readdir(p.path('out')).catch(() => []), []);
  } finally {
    await p.destroy();
  }
});

test('overrides.deb merges as nfpm does; other packagers are validated and ignored; nfpm defaults warn with the fix', async () => {
  const p = await Project.create(FILES);
  try {
    await p.spec(
      `name: demo
version: 1.0.0
arch: all
maintainer: Jane Doe
depends: [dash]
recommends:
  - \${OPTIONAL_REC}
  - less
contents:
  - { src: app.sh, dst: /usr/bin/app }
  - { src: app.conf, dst: /usr/share/demo/rpm.conf, packager: rpm }
deb:
  fields: { X-Top: top, X-Both: top }
rpm: { group: Applications, compression: xz }
apk: { signature: { key_name: origin } }
archlinux: { pkgbase: demo }
ipk: { abi_version: "1", essential: true }
msix: { publisher: "CN=Me" }
overrides:
  deb:
    depends: [bash]
    deb:
      fields: { X-Both: override }
    contents:
      - { src: app.sh, dst: /usr/bin/app-deb }
  rpm:
    depends: [rpm-only]
`,
      'nfpm.yaml',
    );
    const r = await p.cli(['build', '-o', 'out/']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /debpkg: warning: nfpm\.yaml:4:1: maintainer: 'Jane Doe' is not 'Name <email>'.*write `maintainer: Jane Doe <you@example\.org>`/);
    assert.match(r.stderr, /debpkg: warning: nfpm\.yaml:1:1: description: not set: nfpm's 'no description given' is used; add `description: /);
    const deb = r.stdout.trim();
    assert.match(deb, /\/out\/demo_1\.0\.0_all\.deb$/);
    const field = async (f: string): Promise<string> => (await execFileP('dpkg-deb', ['-f', deb, f])).stdout.trim();
    assert.is(await field('Depends'), 'bash', 'the override replaces the list');
    assert.is(await field('Recommends'), 'less', 'an empty item is dropped');
    assert.is(await field('X-Top'), 'top', 'maps merge key by key');
    assert.is(await field('X-Both'), 'override');
    assert.is(await field('Maintainer'), 'Jane Doe');
    assert.is(await field('Description'), 'no description given');
    const files = (await execFileP('dpkg-deb', ['-c', deb])).stdout;
    assert.match(files, /\.\/usr\/bin\/app-deb\n/);
    assert.not.match(files, /\.\/usr\/bin\/app\n/, 'contents replaced whole');
  } finally {
    await p.destroy();
  }
});

test('CLI habits: nfpm.yaml by default, -o FILE.deb, -o DIR/, package -p deb -t, host arch, --strict-env', async () => {
  const p = await Project.create(FILES);
  try {
    await p.spec('name: demo\nversion: ${DEMO_VERSION}\nmaintainer: A B <a@example.org>\ndescription: demo\ncontents:\n  - { src: app.sh, dst: /usr/bin/app }\n', 'nfpm.yml');
    const host = (await execFileP('dpkg', ['--print-architecture'])).stdout.trim();

    const file = await p.cli(['build', '-o', 'out/my.deb'], { DEMO_VERSION: '1.2' });
    assert.is(file.code, 0, file.stderr);
    assert.is(file.stdout.trim(), p.path('out/my.deb'));
    assert.equal(await readdir(p.path('out')), ['my.deb'], 'a file, not a directory my.deb/');
    assert.match(file.stderr, new RegExp(`arch not set: building for ${host} \\(this host, dpkg --print-architecture\\)`));
    assert.is((await execFileP('dpkg-deb', ['-f', p.path('out/my.deb'), 'Architecture'])).stdout.trim(), host);

    const dir = await p.cli(['build', '-t', 'dist/'], { DEMO_VERSION: '1.2' });
    assert.is(dir.code, 0, dir.stderr);
    assert.equal(await readdir(p.path('dist')), [`demo_1.2_${host}.deb`]);

    const pkg = await p.cli(['package', '-p', 'deb', '-f', 'nfpm.yml', '-t', 'pkg/'], { DEMO_VERSION: '1.3' });
    assert.is(pkg.code, 0, pkg.stderr);
    assert.equal(await readdir(p.path('pkg')), [`demo_1.3_${host}.deb`]);
    const rpm = await p.cli(['package', '-p', 'rpm', '-t', 'pkg/'], { DEMO_VERSION: '1.3' });
    assert.is(rpm.code, 2);
    assert.match(rpm.stderr, /debpkg builds only deb packages, not rpm: use -p deb/);
    const guessed = await p.cli(['package', '-t', 'pkg/named.deb'], { DEMO_VERSION: '1.3' });
    assert.is(guessed.code, 0, guessed.stderr);
    assert.ok((await readdir(p.path('pkg'))).includes('named.deb'), 'nfpm guesses the packager from the extension');

    // Unset: nfpm's empty string (here an empty, hence invalid, version); --strict-env names it.
    const empty = await p.cli(['build', '-o', 'x/'], { DEMO_VERSION: '' });
    assert.is(empty.code, 2);
    assert.match(empty.stderr, /nfpm\.yml:2:\d+: version: '' is not a valid Debian version/);
    const strict = await p.cli(['build', '-o', 'x/', '--strict-env'], {});
    assert.is(strict.code, 2);
    assert.match(strict.stderr, /nfpm\.yml:2:\d+: version: environment variable DEMO_VERSION is not set/);
  } finally {
    await p.destroy();
  }
});

test('build -f packaging/nfpm.yaml from the project root takes src from the root, as nfpm; a debpkg spec from its own directory', async () => {
  const p = await Project.create(FILES);
  try {
    await mkdir(p.path('packaging'), { recursive: true });
    await writeFile(p.path('packaging/nfpm.yaml'), 'name: demo\nversion: 1.0\narch: all\nmaintainer: A B <a@example.org>\ndescription: demo\ncontents:\n  - { src: app.sh, dst: /usr/bin/app }\n');
    const nfpm = await p.cli(['build', '-f', 'packaging/nfpm.yaml', '-o', 'out/']);
    assert.is(nfpm.code, 0, nfpm.stderr);
    assert.match((await execFileP('dpkg-deb', ['-c', p.path('out/demo_1.0_all.deb')])).stdout, /\.\/usr\/bin\/app/);
    // The same file list under a debpkg name resolves next to the spec, where app.sh is not.
    await writeFile(p.path('packaging/debpkg.yaml'), 'name: demo\nversion: 1.0\narch: all\nmaintainer: A B <a@example.org>\ndescription: demo\ncontents:\n  - { src: app.sh, dst: /usr/bin/app }\n');
    const own = await p.cli(['build', '-f', 'packaging/debpkg.yaml', '-o', 'out2/']);
    assert.is(own.code, 2, own.stderr);
    assert.match(own.stderr, /packaging\/app\.sh/);
  } finally {
    await p.destroy();
  }
});

test.run();
