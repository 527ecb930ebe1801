// conffiles and triggers as dpkg reads them while unpacking: what it refuses is refused at add.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { controlFilesProblem } from '../../repo-server/packages/control-files.js';

const problem = (files: Record<string, string>) => controlFilesProblem(new Map(Object.entries(files)));

test('conffiles: absolute paths, a final newline, dpkg’s line length; remove-on-upgrade allowed', () => {
  assert.is(problem({ conffiles: '/etc/app/app.conf\n/etc/app/other.conf\n' }), null);
  assert.is(problem({ conffiles: 'remove-on-upgrade /etc/app/old.conf\n' }), null);
  assert.is(problem({ conffiles: '' }), null);
  assert.match(problem({ conffiles: '/etc/app/app.conf' })!, /conffiles: missing final newline/);
  assert.match(problem({ conffiles: `/${'x/'.repeat(600)}\n` })!, /conffiles line 1: longer than dpkg accepts/);
  assert.match(problem({ conffiles: '/etc/ok\netc/relative\n' })!, /conffiles line 2: not an absolute path/);
  assert.match(problem({ conffiles: '/etc/a\u0001b\n' })!, /conffiles line 1/);
});

test('triggers: deb-triggers(5) directives and comments only', () => {
  assert.is(problem({ triggers: '# comment\ninterest-noawait /usr/share/app\nactivate-noawait ldconfig\n\n' }), null);
  assert.match(problem({ triggers: 'interested /usr/share\n' })!, /triggers line 1: not a deb-triggers\(5\) directive/);
  assert.match(problem({ triggers: 'activate\n' })!, /triggers line 1/);
});

test.run();
