// deb.triggers (nfpm's field): control.tar's triggers file as deb-triggers(5) wants it, a bad
// name refused with its field, and dpkg on a fleet node really running the interested package's
// postinst with "triggered" when another package activates the trigger or ships into a watched path.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FleetNode } from '../support/fleet-node.js';
import { Project, sh } from '../support/project.js';

const HEAD = 'version: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: trigger test\n';

async function listener(): Promise<{ p: Project; deb: string }> {
  const p = await Project.create({
    'postinst.sh': '#!/bin/sh\nset -e\nif [ "$1" = triggered ]; then echo "triggered: $2" >> /var/log/trig-listener.log; fi\n',
  });
  await p.spec(`name: trig-listener\n${HEAD}scripts:\n  postinstall: postinst.sh\ndeb:\n  triggers:\n    interest_noawait: [debpkg-test-trigger]\n    interest: [/usr/share/trig-watch]\n    activate: [ldconfig]\n`);
  return { p, deb: await p.build([], { SOURCE_DATE_EPOCH: '1700000000' }) };
}

test('the triggers file lists every directive in nfpm order; dpkg-deb shows it', async () => {
  const { p, deb } = await listener();
  try {
    const text = (await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./triggers`)).stdout;
    assert.is(text, 'interest /usr/share/trig-watch\ninterest-noawait debpkg-test-trigger\nactivate ldconfig\n');
    assert.match((await sh(`dpkg-deb --ctrl-tarfile ${deb} | tar -tv ./triggers`)).stdout, /^-rw-r--r-- root\/root/);
  } finally {
    await p.destroy();
  }
});

test('a trigger name with a space is refused, naming the field', async () => {
  const p = await Project.create();
  try {
    await p.spec(`name: trig-bad\n${HEAD}deb:\n  triggers:\n    activate: ["two words"]\n`);
    const r = await p.cli(['build', '--output', 'out']);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /deb\.triggers\.activate\[0\]: 'two words' is not a trigger name/);
  } finally {
    await p.destroy();
  }
});

test('bookworm: dpkg runs the listener postinst "triggered" for an explicit and a file trigger', async () => {
  const { p, deb } = await listener();
  const node = await FleetNode.create('bookworm');
  try {
    await p.spec(`name: trig-activator\n${HEAD}deb:\n  triggers:\n    activate_noawait: [debpkg-test-trigger]\n`, 'activator.yaml');
    const activator = await p.build(['--config', 'activator.yaml'], { SOURCE_DATE_EPOCH: '1700000000' });
    await p.write('watched/file', 'x\n');
    await p.spec(`name: trig-watched\n${HEAD}contents:\n  - { src: watched/file, dst: /usr/share/trig-watch/file }\n`, 'watched.yaml');
    const watched = await p.build(['--config', 'watched.yaml'], { SOURCE_DATE_EPOCH: '1700000000' });

    for (const [i, d] of [deb, activator, watched].entries()) await node.copyIn(d, `/tmp/p${i}.deb`);
    let r = await node.run(['dpkg', '-i', '/tmp/p0.deb'], { allowFail: true });
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(await node.exists('/var/log/trig-listener.log'), 'nothing activated yet');
    r = await node.run(['dpkg', '-i', '/tmp/p1.deb'], { allowFail: true });
    assert.is(r.code, 0, r.stderr);
    assert.is(await node.readFile('/var/log/trig-listener.log'), 'triggered: debpkg-test-trigger\n');
    r = await node.run(['dpkg', '-i', '/tmp/p2.deb'], { allowFail: true });
    assert.is(r.code, 0, r.stderr);
    assert.match(await node.readFile('/var/log/trig-listener.log'), /triggered: \/usr\/share\/trig-watch\n$/);
    assert.is((await node.dpkgStatus('trig-listener'))?.Status, 'install ok installed');
  } finally {
    await node.destroy();
    await p.destroy();
  }
});

test.run();
