// Unit files rendered from a spec's `unit:` fields: a value cannot add a directive or a
// section, and Environment= values survive systemd's unquoting and specifier expansion.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { systemdUnits } from '../../builder/systemd.js';
import { SpecError } from '../../builder/spec-error.js';
import type { SystemdSpec } from '../../builder/spec-types.js';

const unit = (fields: Record<string, unknown>): SystemdSpec[] => [{ name: 'app.service', unit: { exec_start: '/usr/bin/app', ...fields } } as SystemdSpec];

test('a line break or control character in any unit value is a spec error naming the field', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ description: 'App\n[Service]\nExecStartPre=/bin/evil' }, /systemd\[0\]\.unit\.description/],
    [{ exec_start: '/usr/bin/app\nExecStartPost=/bin/evil' }, /systemd\[0\]\.unit\.exec_start/],
    [{ user: 'app\r' }, /systemd\[0\]\.unit\.user/],
    [{ after: ['network.target', 'x\nWants=evil.service'] }, /systemd\[0\]\.unit\.after\.1|after\[1\]/],
    [{ environment: { MODE: 'a\nExecStart=/bin/evil' } }, /environment/],
    [{ environment: { 'BAD NAME': 'x' } }, /not an environment variable name/],
  ];
  for (const [fields, where] of cases) {
    try {
      await systemdUnits(unit(fields), '/tmp');
      assert.unreachable(`accepted ${JSON.stringify(fields)}`);
    } catch (err) {
      assert.instance(err, SpecError, String(err));
      assert.match(String((err as Error).message) + JSON.stringify((err as SpecError & { path?: unknown }).path ?? ''), where);
    }
  }
});

test('Environment= values are escaped for systemd: quotes, backslashes and % specifiers', async () => {
  const [u] = await systemdUnits(unit({ environment: { GREETING: 'say "hi" \\ 100%', PLAIN: 'x' } }), '/tmp');
  const text = u!.data.toString();
  assert.ok(text.includes('Environment="GREETING=say \\"hi\\" \\\\ 100%%"\n'), text);
  assert.ok(text.includes('Environment="PLAIN=x"\n'), text);
  assert.equal(text.split('\n').filter((l) => /^\[/.test(l)), ['[Unit]', '[Service]', '[Install]']);
});

test.run();
