// dpkg's unpack rules for data.tar entries beyond tar structure (deb/unpack-rules.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DataArchiveRules } from '../../deb/unpack-rules.js';

test('paths stay in the package root; hard links point back to a regular file seen earlier', () => {
  const r = new DataArchiveRules();
  r.check({ path: './', type: 'directory' });
  r.check({ path: './usr/', type: 'directory' });
  r.check({ path: './usr/bin/app', type: 'file' });
  r.check({ path: './usr/bin/app-alias', type: 'hardlink', linkTarget: './usr/bin/app' });
  r.check({ path: './usr/bin/sym', type: 'symlink', linkTarget: '../../etc/x' });
  assert.throws(() => r.check({ path: './usr/../../etc/passwd', type: 'file' }), /leaves the package root/);
  assert.throws(() => r.check({ path: './usr/', type: 'hardlink', linkTarget: './usr/bin/app' }), /named like a directory/);
  assert.throws(() => r.check({ path: './usr/bin/early', type: 'hardlink', linkTarget: './usr/bin/later' }), /not a regular file earlier/);
  assert.throws(() => r.check({ path: './usr/bin/d', type: 'hardlink', linkTarget: './usr' }), /not a regular file earlier/);
  assert.throws(() => r.check({ path: './dev/null', type: 'other' }), /kind dpkg does not unpack/);
  assert.throws(() => r.check({ path: '', type: 'file' }), /empty name/);
  assert.throws(() => r.check({ path: './usr/a\nb', type: 'file' }), /line break/);
  assert.throws(() => r.check({ path: './', type: 'file' }), /empty name/);
});

test.run();
