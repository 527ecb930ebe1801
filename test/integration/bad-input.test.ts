// Bad specs: a clear error naming the field (and line), exit code 2, nothing at the output path.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { Project } from '../support/project.js';

const HEAD = `name: bad-input
version: "1.0"
maintainer: A B <a@example.org>
description: test package
`;

interface Case {
  name: string;
  spec: string;
  /** Expected in stderr: the field path and a reason. */
  error: RegExp;
  setup?: (p: Project) => Promise<void>;
  env?: Record<string, string>;
  unprivileged?: boolean;
  /** More build options. */
  args?: string[];
}

const cases: Case[] = [
  {
    name: 'missing src file',
    spec: `${HEAD}contents:\n  - { src: a.txt, dst: /usr/share/a }\n  - { src: missing.txt, dst: /usr/share/b }\n`,
    error: /debpkg\.yaml:7:\d+: contents\[1\]\.src: 'missing\.txt' does not exist \(looked for \/.*\/missing\.txt\)/,
  },
  {
    name: 'glob matching nothing',
    spec: `${HEAD}contents:\n  - { src: "nothing/*.conf", dst: /etc/x }\n`,
    error: /contents\[0\]\.src: no file matches 'nothing\/\*\.conf'/,
  },
  { name: 'bad version', spec: HEAD.replace('"1.0"', '"abc"'), error: /:2:\d+: version: 'abc' is not a valid Debian version/ },
  { name: 'bad name', spec: HEAD.replace('bad-input', 'Bad_Name'), error: /:1:\d+: name: 'Bad_Name' is not a valid package name/ },
  { name: 'relative dst', spec: `${HEAD}contents:\n  - { src: a.txt, dst: usr/share/a }\n`, error: /contents\[0\]\.dst: 'usr\/share\/a' must be an absolute path/ },
  {
    name: 'duplicate dst',
    spec: `${HEAD}contents:\n  - { src: a.txt, dst: /usr/share/a }\n  - { src: a.txt, dst: /usr/share/a }\n`,
    error: /contents\[1\]: duplicate destination '\/usr\/share\/a' \(also produced by contents\[0\]\)/,
  },
  { name: 'symlink without target', spec: `${HEAD}contents:\n  - { dst: /usr/bin/x, type: symlink }\n`, error: /contents\[0\]\.src: a symlink needs src/ },
  {
    name: 'unreadable file',
    spec: `${HEAD}contents:\n  - { src: secret.txt, dst: /usr/share/secret }\n`,
    error: /contents\[0\]\.src: 'secret\.txt' is not readable/,
    unprivileged: true,
    setup: async (p) => {
      await p.write('secret.txt', 'x');
      await chmod(p.path('secret.txt'), 0o000);
    },
  },
  { name: 'unknown field', spec: `${HEAD}contents:\n  - { src: a.txt, dst: /usr/share/a, sorce: x }\n`, error: /contents\[0\]\.sorce: unknown field/ },
  { name: 'unknown top-level field', spec: `${HEAD}dependz: [a]\n`, error: /:5:\d+: dependz: unknown field/ },
  { name: 'missing required field', spec: HEAD.replace(/version.*\n/, ''), error: /version: is required: add `version: 1\.0\.0`/ },
  { name: 'bad content type', spec: `${HEAD}contents:\n  - { src: a.txt, dst: /a, type: fil }\n`, error: /contents\[0\]\.type: must be one of: file, config/ },
  { name: 'bad mode', spec: `${HEAD}contents:\n  - { src: a.txt, dst: /a, file_info: { mode: 0999 } }\n`, error: /contents\[0\]\.file_info\.mode: has an invalid value \(expected octal/ },
  { name: 'bad dependency', spec: `${HEAD}depends:\n  - "libc6 (>= )"\n`, error: /depends\[0\]: / },
  { name: 'long synopsis', spec: HEAD.replace('test package', 'x'.repeat(81)), error: /description: synopsis .* 81 characters/ },
  { name: 'bad maintainer', spec: HEAD.replace('A B <a@example.org>', 'A, B <a@example.org>'), error: /maintainer: 'A, B <a@example\.org>' must look like/ },
  {
    name: 'unset environment variable with --strict-env',
    spec: HEAD.replace('"1.0"', '"${NOPE_NOT_SET}"'),
    args: ['--strict-env'],
    error: /version: environment variable NOPE_NOT_SET is not set/,
  },
  { name: 'bad compression', spec: `${HEAD}deb:\n  compression: lz4\n`, error: /deb\.compression: has an invalid value/ },
  { name: 'zstd level out of range', spec: `${HEAD}deb:\n  compression: "zstd:25"\n`, error: /deb\.compression: compression level for zstd must be 1\.\.19/ },
  {
    name: 'empty directory given as file',
    spec: `${HEAD}contents:\n  - { src: empty, dst: /a }\n`,
    error: /contents\[0\]\.src: 'empty' is an empty directory \(use type: dir/,
    setup: async (p) => {
      await mkdir(p.path('empty'));
    },
  },
  { name: 'invalid YAML', spec: `${HEAD}contents: [\n`, error: /debpkg\.yaml:\d+:\d+: invalid YAML/ },
  {
    name: 'missing maintainer script',
    spec: `${HEAD}scripts:\n  postinstall: nope.sh\n`,
    error: /scripts\.postinstall: 'nope\.sh' does not exist/,
  },
  {
    name: 'file where a directory is needed',
    spec: `${HEAD}contents:\n  - { src: a.txt, dst: /usr/share/a }\n  - { src: a.txt, dst: /usr/share/a/b }\n`,
    error: /'\/usr\/share\/a' is a file \(contents\[0\]\) but '\/usr\/share\/a\/b' \(contents\[1\]\) needs it to be a directory/,
  },
  { name: 'bad SOURCE_DATE_EPOCH', spec: HEAD, env: { SOURCE_DATE_EPOCH: 'yesterday' }, error: /SOURCE_DATE_EPOCH='yesterday' is not a whole number/ },
];

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const p = await Project.create({ 'a.txt': 'a\n', 'dir/inner': 'x' });
    try {
      await p.spec(c.spec);
      await c.setup?.(p);
      const r = await p.cli(['build', '--output', 'out', ...(c.args ?? [])], c.env, { unprivileged: c.unprivileged === true });
      assert.is(r.code, 2, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, /^debpkg: error: /);
      assert.match(r.stderr, c.error);
      assert.is(r.stdout, '', 'nothing on stdout');
      const left = await readdir(p.path('out')).catch(() => [] as string[]);
      assert.equal(left, [], 'nothing written to the output directory');
    } finally {
      await p.destroy();
    }
  });
}

test('a source that changes size while building fails cleanly and leaves nothing behind', async () => {
  // Uses the library directly to change the file between planning and writing.
  const { loadSpec } = await import('../../builder/spec.js');
  const { buildPackage } = await import('../../builder/builder.js');
  const p = await Project.create({ 'a.txt': 'a\n' });
  try {
    await p.spec(`${HEAD}contents:\n  - { src: a.txt, dst: /usr/share/a }\n`);
    const loaded = await loadSpec(p.path('debpkg.yaml'));
    let grown = false;
    const err = await buildPackage(loaded, {
      outputDir: p.path('out'),
      onPayload: () => {
        if (!grown) {
          grown = true;
          writeFileSync(p.path('a.txt'), 'a much longer content now\n');
        }
        return undefined;
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'the build fails');
    assert.match(err!.message, /changed size while the package was built/);
    assert.equal(await readdir(p.path('out')), []);
  } finally {
    await p.destroy();
  }
});

test('usage errors exit 2; --help works', async () => {
  const p = await Project.create();
  try {
    const help = await p.cli(['--help']);
    assert.is(help.code, 0);
    assert.match(help.stdout, /debpkg build/);
    assert.match(help.stdout, /debpkg inspect/);
    const unknown = await p.cli(['frobnicate']);
    assert.is(unknown.code, 2);
    const noSpec = await p.cli(['build']);
    assert.is(noSpec.code, 2);
    assert.match(noSpec.stderr, /none of debpkg\.yaml, nfpm\.yaml, nfpm\.yml is in .*: pass -f FILE/);
    const missing = await p.cli(['build', '-f', 'nope.yaml']);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot read spec: ENOENT/);
  } finally {
    await p.destroy();
  }
});

test.run();
