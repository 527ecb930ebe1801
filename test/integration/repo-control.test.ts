// Publishing never emits an index apt cannot parse. The worst control files the repo server
// still accepts (a field at the size bound, every relation operator and arch qualifier, multi-line
// values with "." lines, odd field names, UTF-8, a right Description-md5) are built with real
// dpkg-deb, published, and read by apt-get update + install on bookworm and trixie; the control
// files that broke apt for a whole distribution are refused with a 400 naming the field.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetNode, SUITES, type Suite } from '../support/fleet-node.js';
import { execFileP, Project } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';
import { CONTROL_LIMITS } from '../../repo-server/packages/control-check.js';

const head = (name: string): string => `Package: ${name}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Contrôle Tester <ctl@example.org>\nInstalled-Size: 4\n`;

/** A .deb from a hand-written DEBIAN/control; --nocheck lets dpkg-deb pack what it would refuse. */
async function dpkgDeb(p: Project, name: string, control: string, nocheck = false): Promise<string> {
  const root = p.path(`roots/${name}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  await mkdir(join(root, 'usr/share/doc', name), { recursive: true });
  await writeFile(join(root, 'DEBIAN/control'), control);
  await writeFile(join(root, 'usr/share/doc', name, 'README'), `${name}\n`);
  const out = p.path(`${name}.deb`);
  await execFileP('dpkg-deb', ['--root-owner-group', ...(nocheck ? ['--nocheck'] : []), '-Zxz', '--build', root, out]);
  return out;
}

// Fills a field to exactly `bytes` bytes of control text (name line + continuation lines).
function fieldOf(name: string, bytes: number): string {
  const line = ` ${'x'.repeat(99)}\n`;
  let s = `${name}: v\n`;
  while (bytes - s.length >= line.length) s += line;
  const rest = bytes - s.length;
  if (rest > 0) s += rest >= 2 ? ` ${'y'.repeat(rest - 2)}\n` : '';
  return s;
}

const WORST_DESCRIPTION = 'Description: the worst control file still accepted — ünïcødé ✓\n First paragraph,\n .\n   indented  line\twith a tab\n .\n Last line.';
const worstControl = (): string =>
  head('ctl-worst') +
  'Pre-Depends: dpkg (>= 1.15)\n' +
  'Depends: libc6:amd64 (>= 2.0) | libc6.1, base-files (>> 1),\n dpkg (<< 99:1), tar (<= 99)\n' +
  'Recommends: ctl-none-a:any (= 1.0) | base-files\n' +
  'Suggests: ctl-none-b:i386 (< 1), ctl-none-c (> 2), ctl-none-d:any\n' +
  'Enhances: ctl-none-e (>= 1:0.1~rc1+git.2-0.1)\n' +
  'Breaks: ctl-none-f:any (<< 1), ctl-none-g:amd64\n' +
  'Conflicts: ctl-none-h (= 1.0)\nReplaces: ctl-none-i (<< 2)\n' +
  'Provides: ctl-virtual, ctl-virtual-v (= 1.0)\n' +
  'Built-Using: gcc-12 (= 12.2.0-14)\nStatic-Built-Using: rustc (= 1.63.0+dfsg1-2)\n' +
  'X-W!rd~Name_0.9+$%&*/=?@[]^`{|}: odd but valid field name\n' +
  'X-Multi-Line:\n first\n .\n\tsecond, after a tab\n' +
  `${WORST_DESCRIPTION}\n` +
  `Description-md5: ${createHash('md5').update(`${WORST_DESCRIPTION.slice('Description: '.length)}\n`).digest('hex')}\n`;

const PLAIN_DESCRIPTION = 'plain description, md5 left to apt\n Second line.\n .\n Third.';

// Control files that broke `apt-get update` for their whole distribution (or were mangled by
// it), each refused with the field named.
const REFUSED: { name: string; control: string; error: RegExp }[] = [
  { name: 'pipes', control: `${head('ctl-pipes')}Pre-Depends: |||\nDescription: x\n`, error: /control field Pre-Depends: .*missing package name/ },
  { name: 'commas', control: `${head('ctl-commas')}Depends: aa,, bb\nDescription: x\n`, error: /control field Depends: .*empty relation/ },
  { name: 'archlist', control: `${head('ctl-archlist')}Depends: aa [amd64]\nDescription: x\n`, error: /control field Depends: .*architecture restrictions/ },
  { name: 'profile', control: `${head('ctl-profile')}Depends: aa <!nocheck>\nDescription: x\n`, error: /control field Depends: .*build profile/ },
  { name: 'noversion', control: `${head('ctl-noversion')}Depends: aa (>= )\nDescription: x\n`, error: /control field Depends: .*missing version/ },
  { name: 'comment-paragraph', control: `${head('ctl-comment')}Description: x\n\n# a trailing comment paragraph\n`, error: /control file line 7: blank line/ },
  { name: 'comment-line', control: `${head('ctl-comment2')}# comment\nDescription: x\n`, error: /control file line 6: comment line/ },
  { name: 'leading-blank', control: `\n\n${head('ctl-blank')}Description: x\n`, error: /control file line 1: starts with a blank line/ },
  { name: 'md5-short', control: `${head('ctl-md5')}Description: x\nDescription-md5: abc\n`, error: /control field Description-md5: 'abc' is not 32 lowercase hex/ },
  { name: 'md5-wrong', control: `${head('ctl-md5b')}Description: x\nDescription-md5: ${'0'.repeat(32)}\n`, error: /control field Description-md5: 0{32} is not the MD5/ },
  { name: 'installed-size', control: `${head('ctl-isize').replace('Installed-Size: 4', 'Installed-Size: abc')}Description: x\n`, error: /control field Installed-Size: 'abc'/ },
  { name: 'filename', control: `${head('ctl-filename')}Filename: pool/elsewhere.deb\nDescription: x\n`, error: /control field Filename: written by the repository index/ },
  { name: 'nul', control: `${head('ctl-nul')}X-A: a\u0000b\nDescription: x\n`, error: /control field X-A: control character U\+0000/ },
  { name: 'cr', control: `${head('ctl-cr')}X-A: a\rb\nDescription: x\n`, error: /control field X-A: control character U\+000D/ },
  // Names that would be accepted here but not published (the publish API bounds architectures)
  // or not downloadable (apt keeps the pool file under its own name: at most 255 bytes).
  { name: 'long-arch', control: `${head('ctl-longarch').replace('Architecture: all', `Architecture: ${'x'.repeat(65)}`)}Description: x\n`, error: /control field Architecture: invalid architecture/ },
  { name: 'source-arch', control: `${head('ctl-srcarch').replace('Architecture: all', 'Architecture: source')}Description: x\n`, error: /control field Architecture: invalid architecture 'source'/ },
  { name: 'long-name', control: `${head(`ctl-${'n'.repeat(130)}`)}Description: x\n`, error: /control field Package: invalid package name/ },
  { name: 'long-filename', control: `${head(`ctl-${'n'.repeat(120)}`).replace('Version: 1.0-1', `Version: 1.0-${'1'.repeat(130)}`)}Description: x\n`, error: /the pool file name .* is over 247 bytes/ },
  { name: 'no-colon', control: `${head('ctl-nocolon')}garbage line\nDescription: x\n`, error: /control file:? line 6: expected 'Field: value'/ },
  { name: 'big-field', control: `${head('ctl-bigfield')}${fieldOf('X-Huge', CONTROL_LIMITS.maxFieldBytes + 1)}Description: x\n`, error: /control field X-Huge: value over 262144 bytes/ },
  { name: 'huge-field', control: `${head('ctl-hugefield')}${fieldOf('X-Huge', 17_000_000)}Description: x\n`, error: /control (field X-Huge: value over|file is \d+ bytes)|control files larger than 16 MiB in all \(at control\)/ },
  {
    name: 'big-file',
    control: `${head('ctl-bigfile')}${fieldOf('X-A', 200 << 10)}${fieldOf('X-B', 200 << 10)}${fieldOf('X-C', 200 << 10)}Description: x\n`,
    error: /control file is \d+ bytes; at most 524288/,
  },
];

async function tryAdd(server: TestRepoServer, deb: string, dir: string): Promise<{ status: number; text: string }> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(deb)]), deb.split('/').pop()!);
  const up = await server.api('POST', `/api/files/${dir}`, form);
  if (up.status !== 200) return up;
  return server.api('POST', `/api/repos/ctl/file/${dir}`);
}

const aptGet = (node: FleetNode, args: string[]) => node.run(['apt-get', '-q', '-y', ...args], { allowFail: true });

async function configureNode(node: FleetNode, server: TestRepoServer): Promise<void> {
  await node.run(['mkdir', '-p', '/etc/apt/keyrings']);
  await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/keys/archive.asc`, '/etc/apt/keyrings/debpkg.asc']);
  await node.run(['/usr/lib/apt/apt-helper', 'download-file', `${server.url}/stable.sources`, '/etc/apt/sources.list.d/debpkg.sources']);
}

test('the worst accepted control files publish into an index apt reads; the broken ones get a 400 naming the field', async () => {
  const p = await Project.create();
  const server = await TestRepoServer.start();
  const nodes = await Promise.all(SUITES.map((s: Suite) => FleetNode.create(s)));
  try {
    assert.is((await server.api('POST', '/api/repos', { Name: 'ctl' })).status, 201);
    for (const [i, c] of REFUSED.entries()) {
      const deb = await dpkgDeb(p, `refused-${c.name}`, c.control, true);
      const r = await tryAdd(server, deb, `bad-${i}`);
      assert.is(r.status, 400, `${c.name}: ${r.text.slice(0, 300)}`);
      assert.match((JSON.parse(r.text) as { error: string }).error, c.error, `${c.name}: ${r.text.slice(0, 300)}`);
    }

    // At the bounds: one field of exactly the field bound, the file just under the file bound.
    const bigHead = `${head('ctl-big')}Description: control file at the size bounds\n`;
    const big = bigHead + fieldOf('X-Big', CONTROL_LIMITS.maxFieldBytes) + fieldOf('X-Big-Rest', CONTROL_LIMITS.maxParagraphBytes - CONTROL_LIMITS.maxFieldBytes - bigHead.length - 1);
    assert.ok(Buffer.byteLength(big) <= CONTROL_LIMITS.maxParagraphBytes && Buffer.byteLength(big) > CONTROL_LIMITS.maxParagraphBytes - 200, String(big.length));
    const accepted = [
      await dpkgDeb(p, 'ctl-worst', worstControl()),
      await dpkgDeb(p, 'ctl-big', big),
      await dpkgDeb(p, 'ctl-plain', `${head('ctl-plain')}Description: ${PLAIN_DESCRIPTION}\n`),
    ];
    await server.addPackages('ctl', accepted);
    const pub = await server.api('POST', '/api/publish/:.', { Sources: [{ Name: 'ctl' }], Distribution: 'stable' });
    assert.is(pub.status, 201, pub.text);

    await Promise.all(
      nodes.map(async (node) => {
        await configureNode(node, server);
        let r = await aptGet(node, ['update']);
        assert.is(r.code, 0, `[${node.suite}] ${r.stdout}${r.stderr}`);
        assert.not.match(r.stdout + r.stderr, /^(W|E): /m, `[${node.suite}] ${r.stdout}${r.stderr}`);
        r = await aptGet(node, ['install', '--no-install-recommends', 'ctl-worst', 'ctl-big']);
        assert.is(r.code, 0, `[${node.suite}] ${r.stdout}${r.stderr}`);
        const worst = await node.dpkgStatus('ctl-worst');
        assert.match(worst?.['X-W!rd~Name_0.9+$%&*/=?@[]^`{|}'] ?? '', /odd but valid/);
        const bigValue = fieldOf('X-Big', CONTROL_LIMITS.maxFieldBytes).slice('X-Big: '.length, -1).split('\n').map((l, i) => (i === 0 ? l : l.slice(1))).join('\n');
        assert.ok((await node.dpkgStatus('ctl-big'))?.['X-Big'] === bigValue, `[${node.suite}] X-Big differs after install`);
        // apt 2.6 computes the Description-md5 of a package that has none (apt 3.0 no longer
        // does): it matches the rule the server checks the field against.
        if (node.suite === 'bookworm') {
          const shown = (await node.run(['apt-cache', 'show', 'ctl-plain'])).stdout;
          const aptMd5 = /^Description-md5: ([0-9a-f]{32})$/m.exec(shown)?.[1];
          assert.is(aptMd5, createHash('md5').update(`${PLAIN_DESCRIPTION}\n`).digest('hex'), `[${node.suite}] ${shown}`);
        }
        assert.match((await node.run(['apt-cache', 'show', 'ctl-worst'])).stdout, /ünïcødé ✓/);
      }),
    );
  } finally {
    await Promise.all(nodes.map((n) => n.destroy()));
    await server.stop();
    await p.destroy();
  }
});

test.run();
