// deb.triggers → control.tar's `triggers` file (deb-triggers(5)), one "<directive> <name>" line
// per trigger in nfpm's order: interest, interest-await, interest-noawait, activate,
// activate-await, activate-noawait. dpkg refuses the whole package over one bad name, so names
// are checked here and reported with their field.

import { SpecError } from './spec-error.js';

/** nfpm's deb.triggers fields. */
export interface DebTriggersSpec {
  interest?: string[];
  interest_await?: string[];
  interest_noawait?: string[];
  activate?: string[];
  activate_await?: string[];
  activate_noawait?: string[];
}

const DIRECTIVES: [keyof DebTriggersSpec, string][] = [
  ['interest', 'interest'],
  ['interest_await', 'interest-await'],
  ['interest_noawait', 'interest-noawait'],
  ['activate', 'activate'],
  ['activate_await', 'activate-await'],
  ['activate_noawait', 'activate-noawait'],
];

/** dpkg's rule for trigger names: printable ASCII without spaces (a file trigger is an absolute path). */
const NAME = /^[\x21-\x7e]+$/;

/** The file's text, or '' when the spec declares no trigger. */
export function renderTriggers(spec: DebTriggersSpec | undefined): string {
  let out = '';
  for (const [field, directive] of DIRECTIVES) {
    for (const [i, name] of (spec?.[field] ?? []).entries()) {
      if (!NAME.test(name)) {
        throw new SpecError(['deb', 'triggers', field, i], `'${name}' is not a trigger name (printable ASCII without spaces: a name, or a file trigger's absolute path)`);
      }
      out += `${directive} ${name}\n`;
    }
  }
  return out;
}
