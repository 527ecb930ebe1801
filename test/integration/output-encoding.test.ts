// Values that end up in served text files, through the real server and CLI: a line break, CR,
// NUL, `;`, `$(…)`, quotes or an overlong value is refused with a 4xx JSON error (or exit 2)
// naming the field, and what is served stays exactly what was meant.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseParagraphs } from '../../deb/control.js';
import { Project, sh } from '../support/project.js';
import { TestRepoServer } from '../support/repo-server.js';

const errorOf = (r: { json: unknown; text: string }): string => {
  const e = (r.json as { error?: unknown } | undefined)?.error;
  assert.type(e, 'string', `answers {"error": ...}: ${r.text}`);
  return e as string;
};

/** Injections into a Release field: each would be a new field (or garbage) in Release/InRelease. */
const INJECTIONS = ['x\nSuite: evil', 'x\rSuite: evil', 'x\0', 'x\u2028Suite: evil', 'x\x85Suite: evil', ' x', 'x'.repeat(201)];

test('publish: Release fields outside their grammar are refused (400 naming the field); a good publish serves exactly its fields', async () => {
  const s = await TestRepoServer.start();
  try {
    assert.is((await s.api('POST', '/api/repos', { Name: 'r' })).status, 201);
    const base = { SourceKind: 'local', Sources: [{ Name: 'r' }], Distribution: 'stable', Signing: { Skip: true } };
    const cases: [string, unknown][] = [
      ...['Origin', 'Label'].flatMap((f) => INJECTIONS.map((v): [string, unknown] => [f, v])),
      ...['Suite', 'Codename'].flatMap((f) => [...INJECTIONS, 'a b', 'a;b', '$(id)', "a'b", 'a"b'].map((v): [string, unknown] => [f, v])),
      ['NotAutomatic', 'yes\nButAutomaticUpgrades: yes'],
      ['NotAutomatic', 'perhaps'],
      ['ButAutomaticUpgrades', 'yes\r'],
      ['Distribution', 'stable\nOrigin: evil'],
      ['Architectures', ['amd64\nOrigin: evil']],
    ];
    for (const [field, value] of cases) {
      const r = await s.api('POST', '/api/publish/p', { ...base, [field]: value });
      assert.is(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.text}`);
      assert.match(errorOf(r), new RegExp(`^${field}(\\[0\\])?: `), `${field}=${JSON.stringify(value)}`);
    }
    const comp = await s.api('POST', '/api/publish/p', { ...base, Sources: [{ Name: 'r', Component: 'main\nOrigin: evil' }] });
    assert.is(comp.status, 400, comp.text);
    assert.match(errorOf(comp), /^Sources\[\]\.Component: /);
    assert.equal((await s.api('GET', '/api/publish')).json, [], 'nothing was published');

    const good = { Origin: 'Team A (ünïcode)', Label: 'team-a', Suite: 'stable', Codename: 'bookworm-security', NotAutomatic: 'yes', ButAutomaticUpgrades: 'yes' };
    const created = await s.api('POST', '/api/publish/p', { ...base, ...good });
    assert.is(created.status, 201, created.text);
    const res = await fetch(`${s.url}/p/dists/stable/Release`);
    assert.is(res.status, 200);
    const paragraphs = parseParagraphs(await res.text());
    assert.is(paragraphs.length, 1);
    const fields = paragraphs[0]!;
    for (const [k, v] of Object.entries(good)) assert.is(fields.get(k), v, k);
  } finally {
    await s.stop();
  }
});

test('repos: DefaultDistribution and DefaultComponent (a later publish\'s Distribution and Component) are checked', async () => {
  const s = await TestRepoServer.start();
  try {
    for (const [field, value] of [
      ['DefaultDistribution', 'stable\nOrigin: evil'],
      ['DefaultDistribution', 'a b'],
      ['DefaultComponent', 'main\rx'],
      ['DefaultComponent', 'main contrib'],
    ] as const) {
      const r = await s.api('POST', '/api/repos', { Name: 'r', [field]: value });
      assert.is(r.status, 400, `${field}=${JSON.stringify(value)}: ${r.text}`);
      assert.match(errorOf(r), new RegExp(`^${field}: `));
    }
    assert.equal((await s.api('GET', '/api/repos')).json, [], 'no repo was stored');
    assert.is((await s.api('POST', '/api/repos', { Name: 'r', DefaultDistribution: 'team/stable', DefaultComponent: 'main' })).status, 201);
    const edit = await s.api('PUT', '/api/repos/r', { DefaultComponent: 'main\nx' });
    assert.is(edit.status, 400, edit.text);
    assert.match(errorOf(edit), /^DefaultComponent: /);
  } finally {
    await s.stop();
  }
});

test('lb config: a registry.json with an injected value is not rendered into haproxy.cfg or nginx.conf', async () => {
  const dir = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-repo-'));
  await mkdir(join(dir, 'db'), { recursive: true });
  const unit = { service: 'hello', node: 'n1', address: '10.0.0.1', port: 8001, color: 'blue', version: '1.0', package: 'hello', health: 'healthy', weight: 100, healthPath: '/healthz', lastSeen: Date.now() };
  const service = { name: 'hello', listen: '127.0.0.1:9000', previewAllow: ['127.0.0.0/8'], healthPath: '/healthz', active: 'blue', weights: { blue: 100, green: 0 }, units: [unit] };
  // As an older version or a hand edit could have left it: the API would refuse each of these.
  const tampered = { ...service, healthPath: '/healthz\n  server evil 6.6.6.6:80' };
  await writeFile(join(dir, 'db', 'registry.json'), JSON.stringify({ services: [tampered], history: [] }));
  const s = await TestRepoServer.start({}, dir);
  try {
    const r = await s.api('GET', '/api/lb/config?adapter=haproxy');
    assert.is(r.status, 500, `refused, not served: ${r.text}`);
    assert.match(errorOf(r), /services\[0\]\.healthPath: '\/healthz\\n {2}server evil/);
    const nginx = await s.api('GET', '/api/lb/config?adapter=nginx');
    assert.is(nginx.status, 500, `refused, not served: ${nginx.text}`);
    assert.match(errorOf(nginx), /healthPath/);
    // The same server renders a clean state.
    assert.is((await s.api('PUT', '/api/services/hello', { HealthPath: '/healthz' })).status, 200);
    const ok = await s.api('GET', '/api/lb/config?adapter=haproxy');
    assert.is(ok.status, 200, ok.text);
    assert.match(ok.text, /^ {2}option httpchk GET \/healthz$/m);
    // And the API refuses the injection itself, naming the field.
    const bad = await s.api('PUT', '/api/services/hello', { HealthPath: '/x\n  server evil 6.6.6.6:80' });
    assert.is(bad.status, 400, bad.text);
    assert.match(errorOf(bad), /^HealthPath /);
  } finally {
    await s.stop();
  }
});

test('debpkg agent config: values the agent or registry would refuse are refused (exit 2, flag named); good ones source and parse the same', async () => {
  const p = await Project.create();
  try {
    const env = { DEBPKG_NODE_TOKEN: 'node-token' };
    const args = ['agent', 'config', '--color', 'blue', '--print', '--server', 'http://10.0.0.5:8080'];
    const bad: [string[], Record<string, string>, RegExp][] = [
      [['--node-id', 'a/b'], {}, /--node-id 'a\/b' is not allowed/],
      [['--node-id', 'n'.repeat(129)], {}, /--node-id/],
      [['--node-id', 'n1\nDEBPKG_SERVER=http://evil'], {}, /--node-id 'n1\\nDEBPKG_SERVER/],
      [['--node-id', 'n1;reboot'], {}, /--node-id/],
      [['--address', 'host@evil'], {}, /--address/],
      [['--address', '$(reboot)'], {}, /--address/],
      [['--address', '10.0.0.1 10.0.0.2'], {}, /--address/],
      [['--server', 'http://a,b'], {}, /--server/],
      [['--server', 'http://x/$(id)'], {}, /--server/],
      [['--server', "http://x/'"], {}, /--server/],
      [['--server', 'ftp://x'], {}, /--server/],
      [[], { DEBPKG_NODE_TOKEN: 'tok,en' }, /token is not allowed/],
      [[], { DEBPKG_NODE_TOKEN: 'tok"en' }, /token is not allowed/],
      [[], { DEBPKG_NODE_TOKEN: 'tok`id`' }, /token is not allowed/],
    ];
    for (const [extra, e, message] of bad) {
      const r = await p.cli([...args, ...extra], { ...env, ...e });
      assert.is(r.code, 2, `${JSON.stringify(extra)} ${JSON.stringify(e)}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.not.match(r.stderr, /tok.en|tok`id`/, 'the token is not echoed');
    }
    const r = await p.cli([...args, '--node-id', 'web-1.example', '--address', 'fe80::1'], env);
    assert.is(r.code, 0, r.stderr);
    const conf = r.stdout.split('# /etc/debpkg/agent.conf\n')[1]!;
    await p.write('agent.conf', conf);
    const sourced = await sh(`sh -c '. ./agent.conf; echo "$DEBPKG_SERVER|$DEBPKG_NODE_TOKEN|$DEBPKG_NODE_ID|$DEBPKG_ADDRESS"'`, { cwd: p.dir });
    assert.is(sourced.stdout.trim(), 'http://10.0.0.5:8080|node-token|web-1.example|fe80::1');
  } finally {
    await p.destroy();
  }
});

test.run();
