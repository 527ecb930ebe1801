import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commonPrefix, extendsArray, markExtends } from '../../repo-server/publish/append-only.js';

const objs = Array.from({ length: 10 }, (_, i) => ({ i }));

test('without records, lists are compared element by element', () => {
  assert.ok(extendsArray(objs.slice(0, 3), objs.slice(0, 5)));
  assert.ok(extendsArray(objs.slice(0, 5), objs.slice(0, 5)));
  assert.not.ok(extendsArray(objs.slice(0, 5), objs.slice(0, 3)));
  assert.not.ok(extendsArray([objs[0], objs[2]], objs.slice(0, 5)));
  assert.is(commonPrefix(objs.slice(0, 4), [...objs.slice(0, 2), objs[9]!]), 2);
  assert.is(commonPrefix(objs.slice(0, 6), objs.slice(0, 4)), 4);
});

test('a recorded chain of extensions answers without comparing', () => {
  const a = objs.slice(0, 3);
  const b = a.concat(objs.slice(3, 5));
  const c = b.concat(objs.slice(5, 8));
  markExtends(a, b);
  markExtends(b, c);
  // Spoil the element comparison: only the records can say yes now.
  (c as unknown[])[0] = { i: -1 };
  assert.ok(extendsArray(a, c), 'followed a → b → c');
  assert.is(commonPrefix(a, c), 3);
  assert.not.ok(extendsArray(c, a), 'shorter never extends longer');
  // Unrelated list of the same elements: falls back to comparing.
  assert.ok(extendsArray(objs.slice(0, 3), objs.slice(0, 4)));
});

test.run();
