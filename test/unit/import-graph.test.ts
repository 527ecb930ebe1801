// The repo server's layering, checked on the source: which folders may import which, and
// where import cycles are not allowed. The rules are a table so later steps of the redesign
// extend it with a line; the walker reads `import … from '…'` / `export … from '…'` /
// `import('…')` in the .ts sources (type-only imports count: a type cycle is still a cycle).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** From dist/test/unit/ back to the checkout. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface NoImportRule {
  kind: 'no-import';
  /** Files under these paths (relative to the checkout, '/' for a folder)… */
  from: string[];
  /** …must not import these paths or bare packages ('fastify' also covers 'fastify/…'). */
  to: string[];
}
interface AcyclicRule {
  kind: 'acyclic';
  /** No import cycle among the files under this folder. */
  within: string;
}
type Rule = NoImportRule | AcyclicRule;

const DOMAIN = ['repo-server/colors/', 'repo-server/service/', 'repo-server/publish/', 'repo-server/storage/', 'repo-server/model/', 'repo-server/config.ts'];

const RULES: Rule[] = [
  { kind: 'no-import', from: DOMAIN, to: ['repo-server/http/', 'fastify', '@fastify/'] },
  { kind: 'no-import', from: ['repo-server/colors/'], to: ['builder/'] },
  // The leaves every folder may import: they import none of the folders.
  { kind: 'no-import', from: ['repo-server/model/', 'repo-server/config.ts'], to: ['repo-server/colors/', 'repo-server/service/', 'repo-server/publish/', 'repo-server/storage/', 'repo-server/packages/', 'repo-server/pgp/'] },
  { kind: 'acyclic', within: 'repo-server/colors/' },
];

const SCANNED = ['repo-server', 'lib'];

/** Module specifiers a TypeScript source imports or re-exports. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  // The class spans line breaks (multi-line import lists) but not into another statement.
  const statement = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";=()]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const re of [statement, dynamic]) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** file → what it imports: checkout-relative .ts paths for relative specifiers, else the bare name. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of SCANNED.flatMap(sources)) {
    const targets = importsOf(readFileSync(join(ROOT, file), 'utf8')).map((spec) =>
      spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') : spec,
    );
    g.set(file, [...new Set(targets)]);
  }
  return g;
}

/** 'a/b/' is a folder (everything under it); 'fastify' a file or package (and its subpaths). */
const matches = (path: string, p: string): boolean => (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(`${p}/`));
const under = (path: string, prefixes: string[]): boolean => prefixes.some((p) => matches(path, p));

/** Every cycle (as a path a → … → a) among the nodes `inside` accepts; one per strongly connected set. */
export function cyclesIn(g: Map<string, string[]>, inside: (n: string) => boolean): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of (g.get(n) ?? []).filter(inside)) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...g.keys()].filter(inside).sort()) if (!state.has(n)) visit(n);
  return cycles;
}

test('the walker reads multi-line, type-only, re-export and dynamic imports', () => {
  const text = [
    "import { a,\n  b } from './x.js';",
    "import type { T } from '../y.js';",
    "export type { U } from './z.js';",
    "import 'side-effect';",
    "const m = await import('../dyn.js');",
    "export const notAnImport = 'from here';",
  ].join('\n');
  assert.equal(importsOf(text), ['./x.js', '../y.js', './z.js', 'side-effect', '../dyn.js']);
});

test('the cycle finder finds a cycle and only within the chosen nodes', () => {
  const g = new Map([
    ['c/a.ts', ['c/b.ts']],
    ['c/b.ts', ['c/a.ts', 'd/x.ts']],
    ['d/x.ts', ['c/a.ts']],
  ]);
  assert.equal(cyclesIn(g, (n) => n.startsWith('c/')), [['c/a.ts', 'c/b.ts', 'c/a.ts']]);
  assert.equal(cyclesIn(new Map([['c/a.ts', ['c/b.ts']], ['c/b.ts', []]]), () => true), []);
});

test('the graph covers the server (a check that reads nothing cannot fail)', () => {
  const g = graph();
  assert.ok((g.get('repo-server/server.ts') ?? []).includes('repo-server/http/colors.ts'), 'server.ts → http/colors.ts');
  assert.ok((g.get('repo-server/colors/registry.ts') ?? []).includes('repo-server/colors/model.ts'), 'colors/registry.ts → colors/model.ts');
  for (const [file, targets] of g) {
    for (const t of targets.filter((t) => t.endsWith('.ts'))) assert.ok(g.has(t) || !under(t, SCANNED.map((d) => `${d}/`)), `${file} imports ${t}, which the walker did not find`);
  }
});

for (const rule of RULES) {
  if (rule.kind === 'no-import') {
    test(`layering: ${rule.from.join(', ')} import none of ${rule.to.join(', ')}`, () => {
      const bad = [...graph()]
        .filter(([file]) => under(file, rule.from))
        .flatMap(([file, targets]) => targets.filter((t) => under(t, rule.to)).map((t) => `${file} → ${t}`));
      assert.equal(bad, []);
    });
  } else {
    test(`no import cycle among the files of ${rule.within}`, () => {
      const cycles = cyclesIn(graph(), (n) => n.startsWith(rule.within));
      assert.equal(cycles.map((c) => c.join(' → ')), []);
    });
  }
}

test.run();
