// The repo server's layering, checked on the source: which folders may import which, and
// where import cycles are not allowed. The rules are a table so later steps of the redesign
// extend it with a line; the walker reads `import … from '…'` / `export … from '…'` /
// `import('…')` in the .ts sources (type-only imports count: a type cycle is still a cycle).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** From dist/test/unit/ back to the checkout. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface NoImportRule {
  kind: 'no-import';
  /** Files under these paths (relative to the checkout, '/' for a folder)… */
  from: string[];
  /** …must not import these paths or bare packages ('fastify' also covers 'fastify/…'). */
  to: string[];
}
/** Only files under `from` may import `target` (a file or folder). */
interface OnlyImportersRule {
  kind: 'only-importers';
  target: string[];
  from: string[];
}
interface AcyclicRule {
  kind: 'acyclic';
  /** No import cycle among the files under this folder. */
  within: string;
}
type Rule = NoImportRule | OnlyImportersRule | AcyclicRule;

const DOMAIN = ['repo-server/colors/', 'repo-server/service/', 'repo-server/publish/', 'repo-server/storage/', 'repo-server/model/', 'repo-server/config.ts'];

const RULES: Rule[] = [
  { kind: 'no-import', from: DOMAIN, to: ['repo-server/http/', 'fastify', '@fastify/'] },
  { kind: 'no-import', from: ['repo-server/colors/'], to: ['builder/'] },
  // The leaves every folder may import: they import none of the folders.
  { kind: 'no-import', from: ['repo-server/model/', 'repo-server/config.ts'], to: ['repo-server/colors/', 'repo-server/service/', 'repo-server/publish/', 'repo-server/storage/', 'repo-server/packages/', 'repo-server/pgp/'] },
  { kind: 'acyclic', within: 'repo-server/colors/' },
  // The aptly JSON shapes are the HTTP edge's: the service takes typed inputs and returns records.
  { kind: 'no-import', from: ['repo-server/service/'], to: ['repo-server/http/wire.ts', 'repo-server/http/wire/'] },
  { kind: 'only-importers', target: ['repo-server/http/wire.ts', 'repo-server/http/wire/'], from: ['repo-server/http/', 'cli/'] },
];

const SCANNED = ['repo-server', 'lib', 'cli'];

/** Module specifiers a TypeScript source imports or re-exports. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  // The class spans line breaks (multi-line import lists) but not into another statement.
  const statement = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";=()]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  const dynamic = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const re of [statement, dynamic]) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/**
 * What loading a module loads at once: static imports and re-exports that are not type-only
 * (`import type`, `export type` and `import { type A, type B }` are erased), no dynamic import().
 */
export function eagerImportsOf(text: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:([^'";=()]*?)\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) {
    if (m[2]) continue;
    const names = m[3];
    const list = names ? /^\{([^}]*)\}$/.exec(names.trim()) : null;
    // Every named binding marked `type`: TypeScript drops the whole statement.
    if (list && list[1]!.split(',').map((n) => n.trim()).filter(Boolean).every((n) => n.startsWith('type '))) continue;
    out.push(m[4]!);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(rel);
    return /\.c?ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The TypeScript source of an emitted module path: a.js ← a.ts, a.cjs ← a.cts. */
const sourceOf = (emitted: string): string => emitted.replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts');

/** file → what it imports: checkout-relative .ts paths for relative specifiers, else the bare name. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of SCANNED.flatMap(sources)) {
    const targets = importsOf(readFileSync(join(ROOT, file), 'utf8')).map((spec) =>
      spec.startsWith('.') ? sourceOf(relative(ROOT, resolve(ROOT, dirname(file), spec))) : spec,
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
  assert.ok((g.get('repo-server/server.ts') ?? []).includes('repo-server/http/repos.ts'), 'server.ts → http/repos.ts');
  assert.ok((g.get('repo-server/colors/registry.ts') ?? []).includes('repo-server/colors/model.ts'), 'colors/registry.ts → colors/model.ts');
  for (const [file, targets] of g) {
    for (const t of targets.filter((t) => t.endsWith('.ts'))) assert.ok(g.has(t) || !under(t, SCANNED.map((d) => `${d}/`)), `${file} imports ${t}, which the walker did not find`);
  }
});

for (const rule of RULES) {
  if (rule.kind === 'only-importers') {
    test(`only ${rule.from.join(', ')} import ${rule.target.join(', ')}`, () => {
      const bad = [...graph()]
        .filter(([file]) => !under(file, rule.from) && !under(file, rule.target))
        .flatMap(([file, targets]) => targets.filter((t) => under(t, rule.target)).map((t) => `${file} → ${t}`));
      assert.equal(bad, []);
    });
  } else if (rule.kind === 'no-import') {
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

test('the eager-import reader drops type-only imports and dynamic ones', () => {
  const text = [
    "import type { A } from './a.js';",
    "import { type B, type C } from './b.js';",
    "import { type D, e } from './d.js';",
    "export type { F } from './f.js';",
    "import fastify from 'fastify';",
    "const lazy = await import('./lazy.js');",
  ].join('\n');
  assert.equal(eagerImportsOf(text), ['./d.js', 'fastify']);
});

/** Every module (checkout-relative .ts path, or bare package name) that loading `entry` loads. */
function eagerClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.c?ts$/.test(file)) continue;
    for (const spec of eagerImportsOf(readFileSync(join(ROOT, file), 'utf8'))) {
      if (!spec.startsWith('.')) {
        seen.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        continue;
      }
      const target = sourceOf(relative(ROOT, resolve(ROOT, dirname(file), spec)));
      assert.ok(existsSync(join(ROOT, target)), `${file} imports ${spec}, which does not exist`);
      todo.push(target);
    }
  }
  return seen;
}

test('the CLI loads no server code at start: wire types are type-only imports, commands and the server are imported lazily', () => {
  const loaded = eagerClosure('cli/main.ts');
  assert.ok(loaded.has('cli/errors.ts'), 'the closure follows the CLI');
  // Commands and yargs are loaded on demand (cli/main.ts: COMMANDS), the server by `serve` only.
  // builder/spec-error.ts is a leaf (no imports): errors.ts maps it to an exit code.
  const eager = [...loaded].filter((m) => m.startsWith('cli/commands/') || m === 'yargs' || m === 'fastify' || m.startsWith('@fastify/') || m.startsWith('repo-server/') || (m.startsWith('builder/') && m !== 'builder/spec-error.ts'));
  assert.equal(eager, []);
  const server = [...eagerClosure('cli/commands/color.ts')].filter((m) => m === 'fastify' || m.startsWith('@fastify/') || m.startsWith('repo-server/http/') || m === 'repo-server/server.ts');
  assert.equal(server, []);
  // …while the commands do read the wire types (a check that reads nothing cannot fail).
  const typeOnly = [...graph()].filter(([file, targets]) => file.startsWith('cli/') && targets.includes('repo-server/http/wire.ts'));
  assert.ok(typeOnly.length >= 4, `cli files importing wire.ts: ${typeOnly.map(([f]) => f).join(', ')}`);
});

/** Every module URL that `node dist/cli/<entry> ...args` loads (module hooks record each load). */
function modulesLoadedBy(args: string[], expect: RegExp, env: Record<string, string> = {}, entry = 'main.js'): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'debpkg-loads-'));
  try {
    const log = join(dir, 'loaded.txt');
    const hooks = [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, next) {',
      `  appendFileSync(${JSON.stringify(log)}, url + '\\n');`,
      '  return next(url, context);',
      '}',
    ].join('\n');
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    const main = join(ROOT, 'dist/cli', entry);
    const out = execFileSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, main, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.match(out, expect);
    const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    assert.ok(urls.includes(pathToFileURL(main).href), 'the hook saw the CLI load');
    return urls;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = (urls: string[]): string[] => urls.filter((u) => u.startsWith(pathToFileURL(join(ROOT, 'dist')).href)).map((u) => u.slice(pathToFileURL(join(ROOT, 'dist/')).href.length)).sort();

test('debpkg --version loads no yargs and no command: main.js and its leaf helpers', () => {
  const urls = modulesLoadedBy(['--version'], /^\d+\.\d+\.\d+/);
  assert.equal(urls.filter((u) => u.includes('/node_modules/')), []);
  assert.equal(ours(urls), ['builder/spec-error.js', 'cli/command-table.js', 'cli/errors.js', 'cli/help-cache.cjs', 'cli/main.js', 'lib/fs-atomic.js']);
});

test('the installed executable (debpkg.cjs) prints --version and cached help texts without loading main.js or any package', () => {
  for (const [args, expect] of [[['--version'], /^\d+\.\d+\.\d+\n$/], [['swap', '--help'], /--strategy/], [['--help'], /Commands:/]] as const) {
    const urls = modulesLoadedBy([...args], expect, {}, 'debpkg.cjs');
    assert.equal(urls.filter((u) => u.includes('/node_modules/')), [], args.join(' '));
    assert.equal(ours(urls).filter((m) => m !== 'cli/debpkg.cjs' && m !== 'cli/help-cache.cjs'), [], args.join(' '));
  }
  // Anything else is main.js's: the help cache off, the same question goes through yargs.
  const viaMain = modulesLoadedBy(['swap', '--help'], /--strategy/, { DEBPKG_HELP_CACHE: '0' }, 'debpkg.cjs');
  assert.ok(ours(viaMain).includes('cli/main.js') && ours(viaMain).includes('cli/commands/color.js'));
});

test('debpkg swap --help and --help load no yargs and no command: the help texts written at build answer', () => {
  for (const args of [['swap', '--help'], ['--help']]) {
    const urls = modulesLoadedBy(args, /--strategy|--to|<service>|Commands:/);
    assert.equal(urls.filter((u) => u.includes('/node_modules/')), [], args.join(' '));
    assert.equal(ours(urls), ['builder/spec-error.js', 'cli/command-table.js', 'cli/errors.js', 'cli/help-cache.cjs', 'cli/main.js', 'lib/fs-atomic.js']);
  }
});

test('debpkg swap --help without the help cache loads the color commands only: no other command, no builder, no server', () => {
  const urls = modulesLoadedBy(['swap', '--help'], /--strategy|--to|<service>/, { DEBPKG_HELP_CACHE: '0' });
  const commands = ours(urls).filter((m) => m.startsWith('cli/commands/'));
  assert.equal(commands, ['cli/commands/color.js']);
  assert.equal(ours(urls).filter((m) => (m.startsWith('builder/') && m !== 'builder/spec-error.js') || m.startsWith('repo-server/') || m.startsWith('deb/')), []);
  assert.equal(urls.filter((u) => /\/node_modules\/(?:fastify|@fastify|openpgp|tar-stream|mustache)\//.test(u)), []);
});

test('node dist/cli/main.js build --help loads neither fastify nor the HTTP layer (module hooks record every load)', () => {
  const urls = modulesLoadedBy(['build', '--help'], /--output/);
  const server = urls.filter((u) => /\/node_modules\/(?:fastify|@fastify)\/|\/repo-server\/(?:http\/|server\.js)/.test(u));
  assert.equal(server, []);
});

test('debpkg build loads no yargs, no signer and no progress bar: the build argv is read without yargs (cli/build-argv.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'debpkg-build-loads-'));
  try {
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    writeFileSync(join(dir, 'debpkg.yaml'), 'name: loads\nversion: "1.0"\narch: all\nmaintainer: T <t@example.org>\ndescription: d\ncontents:\n  - { src: a.txt, dst: /usr/share/loads/a.txt }\n');
    const urls = modulesLoadedBy(['build', '-f', join(dir, 'debpkg.yaml'), '-o', `${dir}/`], /loads_1\.0_all\.deb/);
    assert.equal(urls.filter((u) => /\/node_modules\/(?:yargs|openpgp|cli-progress|ajv|fastify)\//.test(u)), []);
    assert.ok(ours(urls).includes('builder/builder.js'), 'the build ran in this process');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * HTTP in the domain, by its text: status numbers set on a reply and PascalCase object keys
 * (aptly's JSON casing) belong to http/. Comments are skipped.
 */
const HTTP_TEXT = [/\bstatusCode\b/, /\.code\(\s*\d{3}\s*\)/, /\b(?:status|code)\s*:\s*[1-5]\d\d\b/, /[{,]\s*[A-Z][A-Za-z0-9]*\s*:(?!\s*(?:typeof\b|new\s*\())/];
/** Known and explained. */
const HTTP_TEXT_ALLOWED = new Map([
  ['repo-server/publish/packages-index.ts', "'Packages' is the Debian index file's name, used as a key"],
]);

export function httpTextIn(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return HTTP_TEXT.flatMap((re) => [...code.matchAll(new RegExp(re.source, 'g'))].map((m) => m[0].replace(/\s+/g, ' ')));
}

test('the HTTP-text check finds statuses and PascalCase keys, not parameter types or comments', () => {
  assert.equal(httpTextIn("return { Name: r.name, Comment: r.comment };"), ['{ Name:', ', Comment:']);
  assert.equal(httpTextIn('reply.code(201).send(x); const e = { status: 404 };'), ['.code(201)', 'status: 404']);
  assert.equal(httpTextIn('// { Name: x }\nfunction f(a: number, Missing: typeof NotFound, Bad: new (m: string) => E) {}'), []);
});

test(`no HTTP status or aptly JSON casing in ${DOMAIN.join(', ')}`, () => {
  const bad = [...graph().keys()]
    .filter((file) => under(file, DOMAIN) && !HTTP_TEXT_ALLOWED.has(file))
    .flatMap((file) => httpTextIn(readFileSync(join(ROOT, file), 'utf8')).map((m) => `${file}: ${m}`));
  assert.equal(bad, []);
});

test.run();
