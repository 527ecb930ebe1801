// Source lists: a grown key list is read from its old end, each read is a fresh copy that later
// adds do not reach and that is recorded as extending the previous one; a deletion reads afresh.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { commonPrefix } from '../../repo-server/publish/append-only.js';
import { SourceLists } from '../../repo-server/publish/source-lists.js';
import type { PackageRecord } from '../../repo-server/storage/store.js';

const rec = (key: string): PackageRecord => ({ key, name: key, version: '1', architecture: 'all', source: key, sourceVersion: '1', control: '', file: { filename: `${key}.deb`, size: 1, md5: '', sha1: '', sha256: '', sha512: '' } });

test('appended keys only are looked up; copies are independent and recorded as extensions', () => {
  const store = new Map(['a', 'b', 'c', 'd'].map((k) => [k, rec(k)]));
  let lookups = 0;
  const lookup = (k: string): PackageRecord | undefined => {
    lookups++;
    return store.get(k);
  };
  const lists = new SourceLists();
  const order = ['a', 'b', 'gone'];
  const first = lists.read(order, 0, lookup);
  assert.equal(first.map((p) => p.key), ['a', 'b'], 'a key without a record is skipped');
  assert.is(lookups, 3);
  order.push('c', 'd');
  const second = lists.read(order, 0, lookup);
  assert.is(lookups, 5, 'only the two appended keys were looked up');
  assert.equal(second.map((p) => p.key), ['a', 'b', 'c', 'd']);
  assert.equal(first.map((p) => p.key), ['a', 'b'], 'the earlier copy did not grow');
  // Recorded, not compared: the record says "extends" even with an element of the copy replaced.
  second[0] = rec('x');
  assert.is(commonPrefix(first, second), 2);
  // A deletion (a new counter value) reads the whole list again.
  store.delete('b');
  const third = lists.read(order, 1, lookup);
  assert.is(lookups, 10);
  assert.equal(third.map((p) => p.key), ['a', 'c', 'd']);
  // Another key list (another repo or a snapshot) has its own state.
  assert.equal(lists.read(['d'], 1, lookup).map((p) => p.key), ['d']);
});

test.run();
