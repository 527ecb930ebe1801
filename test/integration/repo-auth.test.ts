// Authorization by route: every registered route declares who may call it, a route without a
// declaration is refused, and no spelling of a URL (percent-encoded letters, `//`, `/./`,
// absolute-form, case, trailing dots) reaches a handler without its role. Also: refused bodies
// are not read, slow bodies and slow heads are cut, and the .sources keyring is validated.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Fastify from 'fastify';
import { registerAuth, type RouteAccess } from '../../repo-server/http/auth.js';
import { defaultConfig } from '../../repo-server/config.js';
import { awaitJsonAnswer, head, openSocket, rawRequest, sendBody } from '../support/raw-http.js';
import { TestRepoServer, TEST_NODE_TOKEN, TEST_TOKEN } from '../support/repo-server.js';

const portOf = (s: TestRepoServer): number => Number(new URL(s.url).port);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A concrete path for a route pattern (`:name` → x1, `*` → x). */
const concrete = (url: string): string => url.replace(/:[A-Za-z_]+/g, 'x1').replace(/\*/g, 'x');

/** Ways to write the same path that a router may map to the same route. */
function spellings(path: string, port: number): string[] {
  const out = new Set<string>([path]);
  const letters = [...path].map((c, i) => [c, i] as const).filter(([c]) => /[a-z]/.test(c));
  for (const [c, i] of letters.slice(0, 6)) {
    out.add(path.slice(0, i) + `%${c.charCodeAt(0).toString(16)}` + path.slice(i + 1));
    out.add(path.slice(0, i) + `%${c.charCodeAt(0).toString(16).toUpperCase()}` + path.slice(i + 1));
  }
  out.add(path.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16)}`));
  out.add(`/${path}`);
  out.add(path.replace(/\//g, '//'));
  out.add(`/.${path}`);
  out.add(path.replace('/api/', '/api/./'));
  out.add(`/x/..${path}`);
  out.add(path.toUpperCase());
  out.add(path.replace('/api/', '/API/'));
  out.add(path.replace('/api/', '/api./'));
  out.add(`${path}.`);
  out.add(`${path}/`);
  out.add(path.replace('/api/', '/api;x/'));
  out.add(`${path}?x=1`);
  out.add(`${path}#frag`);
  for (const scheme of ['http', 'HTTP']) {
    out.add(`${scheme}://127.0.0.1:${port}${path}`);
    out.add(`${scheme}://evil.example${path}`);
    out.add(`${scheme}://127.0.0.1:${port}${path.replace('/api/', '/%61pi/')}`);
  }
  return [...out];
}

test('every registered route declares its access; writes are never public or read-only', async () => {
  const s = await TestRepoServer.start();
  try {
    const routes = s.server.routes;
    assert.ok(routes.length > 60, `routes seen: ${routes.length}`);
    const undeclared = routes.filter((r) => r.access === undefined);
    assert.equal(undeclared, [], 'routes without a declared access');
    const openWrites = routes.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.access !== 'admin' && r.access !== 'unit');
    assert.equal(openWrites, [], 'writes must need a token');
    const unitRoutes = routes.filter((r) => r.access === 'unit').map((r) => `${r.method} ${r.url}`).sort();
    assert.equal(unitRoutes, ['DELETE /api/units/:service/:node', 'PUT /api/units/:service/:node'], 'node tokens reach only the unit endpoints');
    const publicRoutes = new Set(routes.filter((r) => r.access === 'public').map((r) => r.url));
    assert.equal([...publicRoutes].sort(), ['/*', '/api/version', '/keys/archive.asc', '/keys/archive.gpg', '/ui', '/ui/', '/ui/:file']);
  } finally {
    await s.stop();
  }
});

test('a route without a declared access is refused, whoever asks', async () => {
  const app = Fastify({ logger: false });
  const routes: RouteAccess[] = [];
  const config = defaultConfig({ adminToken: 'admin-t', nodeTokens: ['node-t'], openReads: true });
  registerAuth(app, config, routes);
  let reached = 0;
  app.get('/api/forgotten', async () => ++reached);
  app.post('/api/forgotten', async () => ++reached);
  await app.ready();
  for (const method of ['GET', 'POST'] as const) {
    for (const token of [undefined, 'node-t', 'admin-t']) {
      const r = await app.inject({ method, url: '/api/forgotten', headers: token ? { authorization: `Bearer ${token}` } : {} });
      assert.is(r.statusCode, 403, `${method} with ${token ?? 'no token'}`);
      assert.match(r.json<{ error: string }>().error, /declares no access/);
    }
  }
  assert.is(reached, 0);
  assert.equal(routes.map((r) => r.access), [undefined, undefined, undefined], 'GET, its HEAD and POST recorded as undeclared');
  await app.close();
});

test('no URL spelling reaches a protected handler without its role (writes and reads)', async () => {
  const s = await TestRepoServer.start();
  try {
    const port = portOf(s);
    const protectedRoutes = s.server.routes.filter((r) => r.access !== 'public' && r.method !== 'HEAD');
    const identities: [string, Record<string, string>][] = [
      ['no token', {}],
      ['a wrong token', { Authorization: 'Bearer not-a-token' }],
      ['an empty bearer', { Authorization: 'Bearer ' }],
      ['basic auth', { Authorization: `Basic ${Buffer.from(`admin:${TEST_TOKEN}`).toString('base64')}` }],
    ];
    let sent = 0;
    const leaks: string[] = [];
    for (const route of protectedRoutes) {
      const ids = route.access === 'admin' && route.method !== 'GET' ? [...identities, ['a node token', { Authorization: `Bearer ${TEST_NODE_TOKEN}` }] as [string, Record<string, string>]] : identities;
      for (const target of spellings(concrete(route.url), port)) {
        for (const [who, headers] of ids) {
          const body = route.method === 'GET' ? undefined : '{"Name":"x1","Distribution":"x1"}';
          // A handler that was reached may wait (tasks-wait): a slow answer counts as a leak.
          const r = await rawRequest(port, { method: route.method, target, headers: { ...headers, ...(body ? { 'Content-Type': 'application/json' } : {}) }, ...(body ? { body } : {}) }, 3000).catch(
            (err: Error) => ({ status: 0, headers: {}, body: err.message }),
          );
          sent++;
          if (leaks.length >= 20) break;
          // 401/403: refused by the access hook; 404: no route matched (the not-found handler);
          // 400: the request line itself was refused before routing.
          if (![400, 401, 403, 404].includes(r.status)) leaks.push(`${route.method} ${target} with ${who} → ${r.status} ${r.body.slice(0, 80)}`);
          else if (r.status === 400 && !/FST_|Bad Request|invalid/i.test(r.body)) leaks.push(`${route.method} ${target} with ${who} → 400 from a handler: ${r.body.slice(0, 80)}`);
        }
      }
    }
    assert.equal(leaks.slice(0, 20), [], `${leaks.length} of ${sent} requests reached a handler`);
    assert.ok(sent > 2000, `requests sent: ${sent}`);
    // Nothing was created, dropped or registered by any of them.
    assert.is(s.server.context.store.repos.size, 0);
    assert.is(s.server.context.store.snapshots.size, 0);
    assert.is(s.server.context.store.publishes.size, 0);
    assert.equal(s.server.colors.registry.list(), []);
    // The same spellings with the admin token do reach the handler (the test can tell).
    const ok = await rawRequest(port, { method: 'POST', target: `http://127.0.0.1:${port}/%61pi/repos`, headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' }, body: '{"Name":"made"}' });
    assert.is(ok.status, 201, ok.body);
  } finally {
    await s.stop();
  }
});

test('open reads open GETs only; a node token writes only units', async () => {
  const s = await TestRepoServer.start({ openReads: true });
  try {
    assert.is((await s.api('GET', '/api/repos', undefined, null)).status, 200);
    assert.is((await s.api('POST', '/api/repos', { Name: 'r' }, null)).status, 401);
    assert.is((await s.api('POST', '/api/repos', { Name: 'r' }, TEST_NODE_TOKEN)).status, 403);
    const unit = await s.api('PUT', '/api/units/web/n1', { Address: '127.0.0.1', Port: 8081, Color: 'blue', Version: '1.0' }, TEST_NODE_TOKEN);
    assert.is(unit.status, 200, unit.text);
    assert.is((await s.api('POST', '/api/services/web/swap', { To: 'green' }, TEST_NODE_TOKEN)).status, 403);
  } finally {
    await s.stop();
  }
});

test('a refused request with a body is answered and closed without reading the body', async () => {
  const s = await TestRepoServer.start();
  try {
    const port = portOf(s);
    const c = await openSocket(port);
    const t0 = Date.now();
    c.socket.write(head(port, { method: 'PUT', target: '/api/files/x/y.deb', headers: { 'Content-Length': '100000000', Connection: 'keep-alive' } }) + 'x'.repeat(100));
    while (c.closedAt() === undefined && Date.now() - t0 < 5000) await sleep(20);
    assert.ok(c.closedAt() !== undefined, 'connection closed by the server');
    assert.match(c.received(), /^HTTP\/1\.1 401 /);
    assert.match(c.received(), /authentication required/);
    assert.ok(c.closedAt()! - t0 < 2000, `closed after ${c.closedAt()! - t0} ms`);
  } finally {
    await s.stop();
  }
});

test('an upload refused part-way is answered after its body is drained: the client is not reset', async () => {
  const s = await TestRepoServer.start();
  try {
    const port = portOf(s);
    const boundary = 'XBOUNDARY';
    const first = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${'a'.repeat(300)}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const payload = Buffer.alloc(20 << 20, 1);
    const last = `\r\n--${boundary}--\r\n`;
    const c = await openSocket(port);
    c.socket.write(
      head(port, {
        method: 'POST',
        target: '/api/files/x',
        headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(first.length + payload.length + last.length), Connection: 'keep-alive' },
      }) + first,
    );
    // A server that stops reading would leave the client waiting for 'drain' forever: bounded.
    const sent = await sendBody(c.socket, payload);
    assert.ok(!sent.stalled, 'the server kept reading the refused body');
    c.socket.write(last);
    await awaitJsonAnswer(c.received);
    assert.is(sent.writeError(), undefined, 'the connection was not reset while the client was sending');
    assert.match(c.received(), /^HTTP\/1\.1 400 /);
    assert.match(c.received(), /invalid file name/);
    assert.is(c.closedAt(), undefined, 'keep-alive connection still open');
    c.socket.destroy();
  } finally {
    await s.stop();
  }
});

test('a token holder sending a large body to no route (undecodable URL, unknown path) reads the 4xx, not a reset', async () => {
  const s = await TestRepoServer.start();
  try {
    const port = portOf(s);
    for (const [target, status] of [['/api/files/%ff/x.deb', 400], [`/api/files/x/${'a'.repeat(300)}`, 400], ['/api/nothing-here', 404]] as const) {
      const c = await openSocket(port);
      const payload = Buffer.alloc(12 << 20, 1);
      c.socket.write(head(port, { method: 'PUT', target, headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Length': String(payload.length), Connection: 'keep-alive' } }));
      const sent = await sendBody(c.socket, payload);
      await awaitJsonAnswer(c.received);
      assert.is(sent.writeError(), undefined, `${target}: not reset while sending`);
      assert.ok(!sent.stalled, `${target}: the server kept reading`);
      assert.match(c.received(), new RegExp(`^HTTP/1\\.1 ${status} `), target);
      assert.match(c.received(), /"error":/);
      c.socket.destroy();
    }
  } finally {
    await s.stop();
  }
});

test('a body that trickles in below the rate floor is cut; a slow request head is cut', async () => {
  const s = await TestRepoServer.start({ timeouts: { bodyWindowMs: 500, bodyMinBytesPerSecond: 1000, headersMs: 1000 } });
  try {
    const port = portOf(s);
    const c = await openSocket(port);
    const t0 = Date.now();
    c.socket.write(head(port, { method: 'PUT', target: '/api/files/slow/y.deb', headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Length': '1000000' } }));
    while (c.closedAt() === undefined && Date.now() - t0 < 8000) {
      c.socket.write('x');
      await sleep(200);
    }
    assert.ok(c.closedAt() !== undefined, 'slow body cut');
    assert.ok(c.closedAt()! - t0 < 3000, `cut after ${c.closedAt()! - t0} ms`);
    assert.is(s.server.context.store.uploads.size, 0, 'nothing half-stored');

    const h = await openSocket(port);
    const t1 = Date.now();
    h.socket.write('GET /api/version HTTP/1.1\r\nHost: x\r\n');
    while (h.closedAt() === undefined && Date.now() - t1 < 8000) {
      h.socket.write('X-Slow: 1\r\n');
      await sleep(200);
    }
    assert.ok(h.closedAt() !== undefined, 'slow head cut');
    assert.ok(h.closedAt()! - t1 < 4000, `cut after ${h.closedAt()! - t1} ms`);

    // An honest upload at a normal rate still goes through.
    const fast = await rawRequest(port, { method: 'PUT', target: '/api/files/fast/y.deb', headers: { Authorization: `Bearer ${TEST_TOKEN}` }, body: 'not really a deb' });
    assert.ok(fast.status < 500, `upload answered ${fast.status}`);
  } finally {
    await s.stop();
  }
});

test('.sources: keyring is one safe absolute path, else 400; values cannot add lines', async () => {
  const s = await TestRepoServer.start();
  try {
    assert.is((await s.api('POST', '/api/repos', { Name: 'r' })).status, 201);
    const pub = await s.api('POST', '/api/publish/fleet', { SourceKind: 'local', Sources: [{ Name: 'r' }], Distribution: 'stable', Architectures: ['amd64'] });
    assert.is(pub.status, 201, pub.text);
    const get = (q: string, host?: string) => fetch(`${s.url}/fleet/stable.sources${q}`, host ? { headers: { host } } : {});
    const plain = await (await get('')).text();
    assert.match(plain, /^Signed-By: \/etc\/apt\/keyrings\/debpkg\.asc$/m);
    const custom = await get('?keyring=/usr/share/keyrings/ops-archive.gpg');
    assert.is(custom.status, 200);
    assert.match(await custom.text(), /^Signed-By: \/usr\/share\/keyrings\/ops-archive\.gpg$/m);
    for (const bad of ['/x%0AURIs:%20http://evil.example/', '/x%0D%0AURIs:%20x', 'relative/key.asc', '/etc/../x', '/a,b', '/a%20b', '/a%00b', `/${'a'.repeat(5000)}`, '/x&keyring=/y']) {
      const r = await get(`?keyring=${bad}`);
      const text = await r.text();
      if (bad === '/x&keyring=/y') {
        assert.is(r.status, 400, 'a repeated keyring is refused');
        continue;
      }
      assert.is(r.status, 400, `keyring ${bad}: ${text}`);
      assert.match(JSON.parse(text).error, /keyring/);
    }
    // A Host header that is not a plain authority is not echoed into URIs.
    const forged = await rawRequest(portOf(s), { method: 'GET', target: '/fleet/stable.sources', headers: { Host: 'evil.example/x Suites: y' } });
    assert.is(forged.status, 200);
    assert.equal(forged.body.split('\n').filter((l) => l.startsWith('URIs:')), [`URIs: http://127.0.0.1:${defaultConfig().port}/fleet`]);
    assert.equal(forged.body.trim().split('\n').map((l) => l.split(':')[0]), ['Types', 'URIs', 'Suites', 'Components', 'Signed-By']);
  } finally {
    await s.stop();
  }
});

test.run();
