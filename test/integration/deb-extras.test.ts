// nfpm's deb extras judged by the real tools: config|missingok and config|tree conffiles,
// deb.arch_variant, and deb.scripts (debconf templates + config) installed non-interactively
// by dpkg on a bookworm fleet node, with and without a preseeded answer.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetNode } from '../support/fleet-node.js';
import { Project, sh } from '../support/project.js';

const HEAD = 'version: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: extras test\n';

test('config|missingok is a conffile; config|tree makes every file of the tree one (also outside /etc)', async () => {
  const p = await Project.create({ 'a.conf': 'a\n', 'conf.d/x.conf': 'x\n', 'conf.d/sub/y.conf': 'y\n' });
  try {
    await p.spec(`name: dx-conf\n${HEAD}contents:
  - { src: a.conf, dst: /opt/dx/a.conf, type: "config|missingok" }
  - { src: conf.d, dst: /opt/dx/conf.d, type: "config|tree" }
  - { src: conf.d, dst: /opt/dx/plain.d, type: tree }
`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const conffiles = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./conffiles`)).stdout;
    assert.is(conffiles, '/opt/dx/a.conf\n/opt/dx/conf.d/sub/y.conf\n/opt/dx/conf.d/x.conf\n');
    // dpkg itself takes conffiles outside /etc (lintian warns, as it would for nfpm's package).
    assert.match((await sh(`dpkg-deb --info ${deb}`)).stdout, /conffiles/);
  } finally {
    await p.destroy();
  }
});

test('deb.arch_variant: v3 is written as Architecture-Variant: amd64v3 after Architecture; a bad one is refused', async () => {
  const p = await Project.create();
  try {
    await p.spec(`name: dx-variant\nversion: "1.0"\narch: amd64\nmaintainer: T <t@example.org>\ndescription: v\ndeb:\n  arch_variant: v3\n`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const control = (await sh(`dpkg-deb --field ${deb}`)).stdout;
    assert.match(control, /^Architecture: amd64\nArchitecture-Variant: amd64v3\n/m);
    await p.spec(`name: dx-variant\nversion: "1.0"\narch: amd64\nmaintainer: T <t@example.org>\ndescription: v\ndeb:\n  arch_variant: "v 3"\n`);
    const r = await p.cli(['build', '--output', 'out2']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /deb\.arch_variant: 'v 3' is not an architecture variant/);
  } finally {
    await p.destroy();
  }
});

const TEMPLATES = `Template: dx-debconf/greeting
Type: string
Default: hello from the template
Description: Greeting to write
 The greeting the package writes to /var/lib/dx-greeting.
`;
const CONFIG = '#!/bin/sh\nset -e\n. /usr/share/debconf/confmodule\ndb_input medium dx-debconf/greeting || true\ndb_go || true\n';
const POSTINST = '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  . /usr/share/debconf/confmodule\n  db_get dx-debconf/greeting\n  echo "$RET" > /var/lib/dx-greeting\nfi\n';

test('deb.scripts: templates (0644) and config (0755) in control.tar; bookworm installs non-interactively with debconf', async () => {
  const p = await Project.create({ templates: TEMPLATES, config: { content: CONFIG, mode: 0o755 }, 'postinst.sh': POSTINST });
  const node = await FleetNode.create('bookworm');
  try {
    await p.spec(`name: dx-debconf\n${HEAD}depends: [debconf]\nscripts:\n  postinstall: postinst.sh\ndeb:\n  scripts:\n    templates: templates\n    config: config\n`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const listing = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -tv`)).stdout;
    assert.match(listing, /^-rwxr-xr-x root\/root .* \.\/config$/m);
    assert.match(listing, /^-rw-r--r-- root\/root .* \.\/templates$/m);
    assert.is((await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./templates`)).stdout, TEMPLATES);

    await node.copyIn(deb, '/tmp/dx.deb');
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    let r = await node.run(['dpkg', '-i', '/tmp/dx.deb'], { env, allowFail: true });
    assert.is(r.code, 0, r.stderr);
    assert.is(await node.readFile('/var/lib/dx-greeting'), 'hello from the template\n');

    // A preseeded answer wins over the template's default.
    r = await node.run(['dpkg', '--purge', 'dx-debconf'], { env, allowFail: true });
    assert.is(r.code, 0, r.stderr);
    r = await node.run(['debconf-set-selections'], { env, input: 'dx-debconf dx-debconf/greeting string preseeded\n', allowFail: true });
    assert.is(r.code, 0, r.stderr);
    r = await node.run(['dpkg', '-i', '/tmp/dx.deb'], { env, allowFail: true });
    assert.is(r.code, 0, r.stderr);
    assert.is(await node.readFile('/var/lib/dx-greeting'), 'preseeded\n');
  } finally {
    await node.destroy();
    await p.destroy();
  }
});

test('umask clears bits from derived modes (not from file_info.mode); expand, disown_subtree and file_info.lang are accepted', async () => {
  const p = await Project.create({ 'bin/tool': { content: '#!/bin/sh\n', mode: 0o755 }, 'data/d.txt': 'd\n', 'doc.txt': 'doc\n' });
  try {
    await p.spec(`name: dx-umask\n${HEAD}umask: "027"\ncontents:
  - { src: bin/tool, dst: /usr/bin/dx-tool, expand: true }
  - { src: data, dst: /usr/share/dx-umask/data, type: tree, disown_subtree: [/usr/share/dx-umask] }
  - { src: doc.txt, dst: /usr/share/dx-umask/doc.txt, file_info: { mode: "0644", lang: en } }
`);
    const deb = await p.build([], { SOURCE_DATE_EPOCH: '1700000000' });
    const listing = (await sh(`dpkg-deb --contents ${deb}`)).stdout;
    assert.match(listing, /^-rwxr-x--- root\/root .* \.\/usr\/bin\/dx-tool$/m);
    assert.match(listing, /^drwxr-x--- root\/root .* \.\/usr\/share\/dx-umask\/data\/$/m);
    assert.match(listing, /^-rw-r----- root\/root .* \.\/usr\/share\/dx-umask\/data\/d\.txt$/m);
    assert.match(listing, /^-rw-r--r-- root\/root .* \.\/usr\/share\/dx-umask\/doc\.txt$/m, 'an explicit mode is kept');
    await p.spec(`name: dx-umask\n${HEAD}umask: "0700"\ncontents:\n  - { src: doc.txt, dst: /usr/share/dx-umask/doc.txt }\n`);
    const r = await p.cli(['build', '--output', 'out2']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /umask: '0700' would take permissions from the owner/);
  } finally {
    await p.destroy();
  }
});

test('deb.scripts.config without #! is refused, naming the field', async () => {
  const p = await Project.create({ config: 'db_input medium x/y\n' });
  try {
    await p.spec(`name: dx-bad\n${HEAD}deb:\n  scripts:\n    config: config\n`);
    const r = await p.cli(['build', '--output', 'out']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /deb\.scripts\.config: 'config' must start with #!/);
  } finally {
    await p.destroy();
  }
});

test.run();
