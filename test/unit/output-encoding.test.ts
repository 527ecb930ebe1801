// The renderers of served text files refuse values that would change the file's structure:
// deb822 paragraphs (control, Release), the per-component Release, the HAProxy config and the
// HAProxy runtime API commands. The API validates first; these are the last line of defence.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addColorSnippets, colorFiles, type ColorUnit } from '../../builder/color.js';
import { emptySnippets } from '../../builder/maintainer-scripts.js';
import { SpecError } from '../../builder/spec-error.js';
import { ControlError, parseParagraphs, renderParagraph } from '../../deb/control.js';
import type { LbServer, LbService, LbState } from '../../repo-server/colors/lb/adapter.js';
import { renderHaproxy } from '../../repo-server/colors/lb/haproxy-config.js';
import { RuntimeApiError, runtimeCommand } from '../../repo-server/colors/lb/haproxy-runtime.js';
import { LbConfigError } from '../../repo-server/colors/lb/state-check.js';
import { renderComponentRelease, renderRelease, ReleaseRenderError, type ReleaseFields } from '../../repo-server/publish/indexes.js';

/** Characters that end a line for some deb822 reader (apt, CRLF-tolerant readers, python-debian's splitlines). */
const LINE_ENDERS = ['\r', '\0', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029', '\x1b', '\x7f'];

test('renderParagraph: a line break stays inside its field; characters that could end a line are refused', () => {
  // '\n' becomes a continuation line: what looks like a field is not one.
  const text = renderParagraph([['Description', 'synopsis\nOrigin: evil\n\nPackage: evil']]);
  const parsed = parseParagraphs(text);
  assert.is(parsed.length, 1, text);
  assert.equal([...parsed[0]!.keys()], ['Description'], text);
  for (const c of LINE_ENDERS) {
    assert.throws(
      () => renderParagraph([['Maintainer', `A B <a@example.org>${c}Origin: evil`]]),
      (e: unknown) => e instanceof ControlError && /field Maintainer: .*control character U\+/.test(e.message),
      JSON.stringify(c),
    );
  }
  // Tabs are ordinary white space in a value.
  assert.is(renderParagraph([['Description', 'a\tb']]), 'Description: a\tb\n');
});

const release = (over: Partial<ReleaseFields> = {}): ReleaseFields => ({
  origin: 'debpkg',
  label: 'debpkg',
  suite: 'stable',
  codename: 'stable',
  date: 1_700_000_000,
  architectures: ['amd64'],
  components: ['main'],
  acquireByHash: true,
  ...over,
});

const badRelease: [string, Partial<ReleaseFields>, RegExp][] = [
  ['Origin with a line break', { origin: 'x\nSuite: evil' }, /Release Origin: .*U\+000A/],
  ['Label with a CR', { label: 'x\rSigned-By: 0000' }, /Release Label: .*U\+000D/],
  ['Origin with NUL', { origin: 'x\0' }, /Release Origin/],
  ['Origin with U+2028', { origin: 'x\u2028Suite: evil' }, /Release Origin/],
  ['Origin with a trailing space', { origin: 'x ' }, /Release Origin: .*white space/],
  ['Suite with a space', { suite: 'stable evil' }, /Release Suite/],
  ['Codename with a line break', { codename: 'a\nb' }, /Release Codename/],
  ['architecture with a space', { architectures: ['amd64 i386'] }, /Release Architectures/],
  ['component with a line break', { components: ['main\nSHA256:'] }, /Release Components/],
  ['NotAutomatic with a line break', { notAutomatic: 'yes\nButAutomaticUpgrades: yes' }, /Release NotAutomatic/],
  ['Signed-By with a line break', { signedBy: `${'A'.repeat(40)}\nOrigin: evil` }, /Release Signed-By/],
];

for (const [what, over, message] of badRelease) {
  test(`renderRelease refuses: ${what}`, () => {
    assert.throws(() => renderRelease(release(over), []), (e: unknown) => e instanceof ReleaseRenderError && message.test(e.message));
  });
}

test('renderRelease: a good Release parses back to exactly its fields; an index path that would split its hash line is refused', () => {
  const text = renderRelease(release({ origin: 'Team A', notAutomatic: 'yes' }), [{ path: 'main/binary-amd64/Packages', size: 1, sha256: 'a'.repeat(64), sha512: 'b'.repeat(128) }]);
  const [p] = parseParagraphs(text);
  assert.equal([...p!.keys()], ['Origin', 'Label', 'Suite', 'Codename', 'Date', 'Architectures', 'Components', 'NotAutomatic', 'Acquire-By-Hash', 'SHA256', 'SHA512']);
  assert.is(p!.get('Origin'), 'Team A');
  assert.throws(() => renderRelease(release(), [{ path: 'main/binary-amd64/Packages\nOrigin: evil', size: 1, sha256: 'a', sha512: 'b' }]), /file path/);
});

test('renderComponentRelease refuses multi-line values', () => {
  const good = { archive: 'stable', origin: 'o', label: 'l', component: 'main', architecture: 'amd64', acquireByHash: false };
  assert.ok(renderComponentRelease(good).startsWith('Archive: stable\n'));
  for (const over of [{ origin: 'o\nLabel: evil' }, { label: 'l\r' }, { archive: 'a b' }, { component: 'main\n' }, { architecture: 'amd64\0' }]) {
    assert.throws(() => renderComponentRelease({ ...good, ...over }), (e: unknown) => e instanceof ReleaseRenderError, JSON.stringify(over));
  }
});

function server(name: string, color: 'blue' | 'green', address = '10.0.0.1', port = 8001): LbServer {
  return { name, color, address, port, weight: 100 };
}

function service(over: Partial<LbService> = {}): LbService {
  return { name: 'hello', listen: '127.0.0.1:9000', healthPath: '/healthz', previewAllow: ['10.0.0.0/8'], servers: [server('blue-a', 'blue')], ...over };
}

const PATHS = { socket: '/run/debpkg-lb/admin.sock', stateFile: '/run/debpkg-lb/server-state' };

const badHaproxy: [string, LbState, typeof PATHS, RegExp][] = [
  ['health path with a line break', { services: [service({ healthPath: '/x\n  server evil 6.6.6.6:80' })] }, PATHS, /services\[0\]\.healthPath/],
  ['health path with a space', { services: [service({ healthPath: '/x HTTP/1.1' })] }, PATHS, /services\[0\]\.healthPath/],
  ['service name with a line break', { services: [service({ name: 'hello\nbackend evil' })] }, PATHS, /services\[0\]\.name/],
  ['server name with a space', { services: [service({ servers: [server('blue-a backup', 'blue')] })] }, PATHS, /servers\[0\]\.name/],
  ['address with a keyword', { services: [service({ servers: [server('blue-a', 'blue', '10.0.0.1:1 weight 256 #')] })] }, PATHS, /servers\[0\]\.address/],
  ['listen with a second bind', { services: [service({ listen: '127.0.0.1:9000\n  bind 0.0.0.0:80' })] }, PATHS, /services\[0\]\.listen/],
  ['preview CIDR that allows everyone', { services: [service({ previewAllow: ['10.0.0.0/8 || always_true'] })] }, PATHS, /previewAllow\[0\]/],
];

for (const [what, state, paths, message] of badHaproxy) {
  test(`renderHaproxy refuses: ${what}`, () => {
    assert.throws(() => renderHaproxy(state, paths), (e: unknown) => e instanceof LbConfigError && message.test(e.message));
  });
}

test('renderHaproxy: a good state renders its values as given; socket and state-file paths that would break the config are refused', () => {
  const conf = renderHaproxy({ services: [service()] }, PATHS);
  assert.match(conf, /^ {2}server blue-a 10\.0\.0\.1:8001 weight 100 check/m);
  assert.match(conf, /^ {2}option httpchk GET \/healthz$/m);
  assert.match(conf, /^ {2}stats socket \/run\/debpkg-lb\/admin\.sock mode 600/m);
  const state = { services: [service()] };
  for (const [paths, message] of [
    [{ ...PATHS, socket: '/tmp/a b/admin.sock' }, /^socket: /],
    [{ ...PATHS, stateFile: '/tmp/x#y' }, /^stateFile: /],
    [{ ...PATHS, socket: '/tmp/s\nlisten evil' }, /^socket: /],
  ] as const) {
    assert.throws(() => renderHaproxy(state, paths), (e: unknown) => e instanceof LbConfigError && message.test(e.message), JSON.stringify(paths));
  }
});

test('runtimeCommand refuses anything that could make a second command or argument', async () => {
  // A socket that does not exist: a command that got through would fail to connect instead.
  const socket = '/nonexistent/debpkg-admin.sock';
  for (const bad of ['\n', '\r', ';', '\0', '\\', "'", '"', '`', '<<', '\x1b']) {
    const command = `set server hello/blue-a weight 1${bad}shutdown sessions server hello/blue-a`;
    await runtimeCommand(socket, command).then(
      () => assert.unreachable(`sent ${JSON.stringify(command)}`),
      (e: unknown) => assert.ok(e instanceof RuntimeApiError && /^refusing to send/.test(e.message), `${JSON.stringify(bad)}: ${String(e)}`),
    );
  }
});

test('colorFiles/addColorSnippets: a service name or agent path that would be code in the agent script, unit or maintainer scripts is refused', () => {
  const good: ColorUnit = {
    service: 'web', package: 'web', version: '1.0', port: 8080, healthPath: '/healthz', intervalMs: 2000, timeoutMs: 1000, weight: 100,
    unitName: 'debpkg-agent-web.service', agentPath: '/usr/lib/debpkg-agent/web/agent',
  };
  assert.is(colorFiles(good).length, 3);
  const snippets = emptySnippets();
  for (const service of ['web$(reboot)', 'web\nrm -rf /', "web'", 'web;reboot', 'web web']) {
    const bad = { ...good, service, unitName: `debpkg-agent-${service}.service`, agentPath: `/usr/lib/debpkg-agent/${service}/agent` };
    assert.throws(() => colorFiles(bad), (e: unknown) => e instanceof SpecError && /color\.service/.test(e.message), JSON.stringify(service));
    assert.throws(() => addColorSnippets(bad, snippets), (e: unknown) => e instanceof SpecError, JSON.stringify(service));
  }
  assert.throws(() => colorFiles({ ...good, agentPath: "/usr/lib/debpkg-agent/web/agent'; reboot #" }), (e: unknown) => e instanceof SpecError);
});

test.run();
