// deb822 paragraphs: parse what Debian tools write, render what they read, refuse the malformed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlError, getField, parseParagraph, parseParagraphs, renderParagraph } from '../../deb/control.js';

test('continuation lines, " ." blank lines, comments, CRLF and several paragraphs', () => {
  const text = [
    '# a comment line',
    'Package: hello',
    'Version: 1:2.10-3',
    'Description: greets',
    ' The extended text,',
    ' .',
    ' after a blank line.',
    '',
    '',
    'Package: other\r',
    'Depends: libc6 (>= 2.36),\r',
    '  hello\r',
    '',
  ].join('\n');
  const ps = parseParagraphs(text);
  assert.is(ps.length, 2);
  assert.equal([...ps[0]!.keys()], ['Package', 'Version', 'Description']);
  assert.is(ps[0]!.get('Description'), 'greets\nThe extended text,\n\nafter a blank line.');
  assert.is(ps[1]!.get('Depends'), 'libc6 (>= 2.36),\n hello');
  // Rendering gives the same paragraph back.
  assert.equal(parseParagraph(renderParagraph(ps[0]!)), ps[0]);
});

test('field names are case-insensitive: lookup, and duplicates in any case are refused', () => {
  const p = parseParagraph('Package: a\nInstalled-Size: 12\n');
  assert.is(getField(p, 'installed-size'), '12');
  assert.is(getField(p, 'Missing'), undefined);
  assert.throws(() => parseParagraph('Package: a\npackage: b\n'), (e: unknown) => e instanceof ControlError && /line 2: duplicate field 'package'/.test(e.message));
  // The same name in two paragraphs is not a duplicate.
  assert.is(parseParagraphs('Package: a\n\nPackage: b\n').length, 2);
});

test('malformed input names the line', () => {
  assert.throws(() => parseParagraphs(' starts with a continuation\n'), (e: unknown) => e instanceof ControlError && /line 1: continuation/.test(e.message));
  assert.throws(() => parseParagraphs('Package: a\nno colon here\n'), (e: unknown) => e instanceof ControlError && /line 2: expected/.test(e.message));
  assert.throws(() => parseParagraph('A: 1\n\nB: 2\n'), (e: unknown) => e instanceof ControlError && /found 2/.test(e.message));
  assert.throws(() => renderParagraph([['Bad:Name', 'x']]), (e: unknown) => e instanceof ControlError);
});

test.run();
