// aptly's uploaders rules (deb/uploaders.go semantics) as service/uploaders.ts decides them:
// rule order, deny before allow, groups (nested, cyclic), key ids of 8/16 hex digits and
// fingerprints, "*", no signer, and the checks of a rules value.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Invalid } from '../../repo-server/model/errors.js';
import { parseUploaders, uploadRefusal } from '../../repo-server/service/uploaders.js';

const FPR_A = '0123456789ABCDEF0123456737E1C17570096AD1';
const FPR_B = 'FEDCBA9876543210FEDCBA98EC4B033C70096AD1';
const FPR_C = '1111111122222222333333334444444412345678';
const FPR_D = '9999999988888888777777776666666645678901';

const rules = parseUploaders({
  groups: { group1: ['37E1C17570096AD1', 'EC4B033C70096AD1'], loop1: ['loop2', FPR_D], loop2: ['loop1'] },
  rules: [
    { condition: 'Source (= calamares)', allow: ['*'] },
    { condition: 'Source (= never-calamares)', deny: ['*'] },
    { condition: 'Source (= some-calamares)', allow: ['group1', '12345678'] },
    { condition: 'Source (= some-calamares)', deny: ['45678901', '12345678'] },
    { condition: 'Source (= looped)', allow: ['loop1'] },
  ],
});
const changes = (source: string): Map<string, string> => new Map([['Source', source], ['Version', '1.0'], ['Distribution', 'unstable']]);

test('no signer, or no rule matching: denied as no rule matches', () => {
  assert.is(uploadRefusal(rules, changes('calamares'), []), 'denied as no rule matches');
  assert.is(uploadRefusal(rules, changes('unknown-calamares'), [FPR_A, FPR_B]), 'denied as no rule matches');
});

test('"*" allows anyone who signed; a deny of "*" refuses everyone, naming the rule', () => {
  assert.is(uploadRefusal(rules, changes('calamares'), [FPR_C]), null);
  assert.match(uploadRefusal(rules, changes('never-calamares'), [FPR_C])!, /^denied according to rule: \{"condition":"Source \(= never-calamares\)","allow":\[\],"deny":\["\*"\]\}$/);
});

test('groups and key ids: long id, short id (by the fingerprint tail), an explicit key; a later rule is reached only when no earlier one decided', () => {
  assert.is(uploadRefusal(rules, changes('some-calamares'), [FPR_A]), null);
  assert.is(uploadRefusal(rules, changes('some-calamares'), [FPR_C]), null);
  // Not allowed by rule 3, then denied by rule 4.
  assert.match(uploadRefusal(rules, changes('some-calamares'), [FPR_D])!, /^denied according to rule: .*"deny":\["45678901","12345678"\]/);
});

test('a group cycle stops; its other members still count', () => {
  assert.is(uploadRefusal(rules, changes('looped'), [FPR_D]), null);
  assert.is(uploadRefusal(rules, changes('looped'), [FPR_C]), 'denied as no rule matches');
});

test('conditions see the .changes fields only: a bare name (a dependency query) matches nothing', () => {
  const byName = parseUploaders({ rules: [{ condition: 'calamares', allow: ['*'] }, { condition: 'Distribution (= unstable)', allow: [FPR_B] }] });
  assert.is(uploadRefusal(byName, changes('calamares'), [FPR_A]), 'denied as no rule matches');
  assert.is(uploadRefusal(byName, changes('calamares'), [FPR_B]), null);
});

test('bad rules are refused naming the field', () => {
  const bad = (raw: unknown, re: RegExp) => {
    try {
      parseUploaders(raw);
    } catch (err) {
      assert.ok(err instanceof Invalid);
      assert.match((err as Error).message, re);
      return;
    }
    assert.unreachable(`accepted ${JSON.stringify(raw)}`);
  };
  bad([], /Uploaders must be an object/);
  bad({ groups: {} }, /Uploaders\.rules must be a list/);
  bad({ rules: [{ condition: 'Source (', allow: ['*'] }] }, /Uploaders\.rules\[0\]\.condition: unable to parse query/);
  bad({ rules: [{ condition: 'Source', allow: ['typo-group'] }] }, /Uploaders\.rules\[0\]\.allow\[0\]: 'typo-group' is neither/);
  bad({ groups: { g: ['nobody'] }, rules: [] }, /Uploaders\.groups\.g\[0\]: 'nobody' is neither/);
  bad({ groups: { '*': [] }, rules: [] }, /invalid group name/);
  bad({ rules: Array.from({ length: 1001 }, () => ({ condition: 'Source', allow: ['*'] })) }, /at most 1000 rules/);
  bad({ rules: [], extra: 1 }, /unknown field 'extra'/);
});

test.run();
