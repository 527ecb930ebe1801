// The raw HTTP front: what it answers must be what node:http would answer, and every request it
// does not fully understand must reach node:http unchanged, in order, on the same connection.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastStatic } from '../../repo-server/http/static/fast-static.js';
import { installHttpFront, parseSimpleHead, type HttpFront } from '../../repo-server/http/static/http-front.js';

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits a byte stream into responses; `bodiless[i]` for HEAD requests (no body despite a length). */
function parseResponses(buf: Buffer, bodiless: boolean[]): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end === -1) throw new Error(`incomplete head at ${at}: ${buf.subarray(at, at + 200).toString()}`);
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
    at = end + 4;
    let len = Number(headers['content-length'] ?? 0);
    if (bodiless[out.length] || status === 304) len = 0;
    out.push({ status, headers, body: buf.subarray(at, at + len) });
    at += len;
  }
  return out;
}

interface Harness {
  url: { host: string; port: number };
  server: Server;
  front: HttpFront;
  root: string;
  /** Requests that reached node:http: "METHOD url range". */
  seen: string[];
}

async function start(): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'front-'));
  await mkdir(join(root, 'dists'), { recursive: true });
  await writeFile(join(root, 'dists', 'Release'), 'Origin: test\n');
  await writeFile(join(root, 'dists', 'big.gz'), Buffer.alloc(100_000, 7));
  const fast = new FastStatic(root);
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.range ?? '-'}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && !req.headers.range && fast.tryServe(req, res)) return;
      const text = `node ${req.method} ${req.url} body=${Buffer.concat(chunks).toString()}`;
      res.writeHead(req.headers.range ? 206 : 200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 2_000;
  const front = installHttpFront(server, fast);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: { host: '127.0.0.1', port: addr.port }, server, front, root, seen };
}

/** Runs `fn` against a fresh harness, stopped afterwards whatever happens. */
async function withFront(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await start();
  try {
    await fn(h);
  } finally {
    await stop(h);
  }
}

async function stop(h: Harness): Promise<void> {
  await new Promise<void>((r) => h.server.close(() => r()));
  await rm(h.root, { recursive: true, force: true });
}

/** Opens a connection; `read(bodiless)` waits for that many responses (HEAD ones bodiless). */
async function client(h: Harness): Promise<{ sock: Socket; read: (bodiless: boolean[], minBytes?: number) => Promise<Parsed[]>; closed: Promise<void> }> {
  const sock = connect(h.url);
  await new Promise<void>((r) => sock.once('connect', r));
  let chunks: Buffer[] = [];
  let total = 0;
  const waiters: (() => void)[] = [];
  sock.on('data', (d: Buffer) => {
    chunks.push(d);
    total += d.length;
    for (const w of waiters.splice(0)) w();
  });
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    sock.once('close', () => {
      isClosed = true;
      for (const w of waiters.splice(0)) w();
      r();
    }),
  );
  const read = async (bodiless: boolean[], minBytes = 0): Promise<Parsed[]> => {
    const deadline = performance.now() + 10_000;
    for (;;) {
      // Parsing only once enough arrived keeps a 30 MB read linear.
      if (total >= minBytes) {
        const data = Buffer.concat(chunks);
        chunks = [data];
        try {
          const got = parseResponses(data, bodiless);
          const whole = got.length === bodiless.length && got.every((p, i) => p.body.length === (bodiless[i] || p.status === 304 ? 0 : Number(p.headers['content-length'] ?? 0)));
          if (whole) {
            chunks = [];
            total = 0;
            return got;
          }
        } catch {
          // incomplete: wait for more
        }
      }
      if (isClosed) throw new Error(`closed after ${total} bytes: ${Buffer.concat(chunks).toString("latin1").replace(/x{100,}/, "x…").slice(-1500)}`);
      if (performance.now() > deadline) throw new Error(`no complete answer after 10 s (${total} bytes)`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 1000);
      });
    }
  };
  return { sock, read, closed };
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

test('parseSimpleHead takes plain keep-alive GET/HEAD only', () => {
  assert.ok(parseSimpleHead('GET /a HTTP/1.1\r\nHost: x'));
  assert.equal(parseSimpleHead('HEAD /a?b=c HTTP/1.1\r\nhost: x\r\nIf-None-Match: "e"'), { method: 'HEAD', target: '/a?b=c', ifNoneMatch: '"e"' });
  for (const bad of [
    'POST /a HTTP/1.1\r\nHost: x',
    'GET /a HTTP/1.0\r\nHost: x',
    'GET /a HTTP/1.1',
    'GET /a HTTP/1.1\r\nHost: x\r\nHost: y',
    'GET http://x/a HTTP/1.1\r\nHost: x',
    'GET /a HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1',
    'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close',
    'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5',
    'GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked',
    'GET /a HTTP/1.1\r\nHost: x\r\n folded',
    'GET /a HTTP/1.1\r\nHost: x\r\nBad Header: 1',
    'GET /a HTTP/1.1\r\nHost: x\nX: 1',
    'GET /a b HTTP/1.1\r\nHost: x',
  ]) assert.is(parseSimpleHead(bad), undefined, JSON.stringify(bad));
});

test('pipelined GETs are answered in order from the cache, on a connection the front keeps', () =>
  withFront(async (h) => {
    const c = await client(h);
    c.sock.write(get('/dists/Release') + get('/dists/big.gz') + `HEAD /dists/Release HTTP/1.1\r\nHost: x\r\n\r\n`);
    const [a, b, hd] = await c.read([false, false, true]);
    assert.is(a!.status, 200);
    assert.is(a!.body.toString(), 'Origin: test\n');
    assert.ok(a!.headers.date && a!.headers.etag && a!.headers['last-modified']);
    assert.is(a!.headers['content-type'], 'text/plain; charset=utf-8');
    assert.is(b!.body.length, 100_000);
    assert.is(hd!.status, 200);
    assert.is(hd!.headers['content-length'], '13');
    assert.equal(h.seen, [], 'node:http saw nothing');
    assert.is(h.front.connections, 1);

    // Conditional: the ETag just given → 304 without a body.
    c.sock.write(get('/dists/Release', `If-None-Match: ${a!.headers.etag}\r\n`));
    const [nm] = await c.read([false]);
    assert.is(nm!.status, 304);
    c.sock.destroy();
  }),
);

test('a request split into single bytes is still answered', () =>
  withFront(async (h) => {
    const c = await client(h);
    for (const ch of get('/dists/Release')) {
      c.sock.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    const [a] = await c.read([false]);
    assert.is(a!.body.toString(), 'Origin: test\n');
    assert.equal(h.seen, []);
    c.sock.destroy();
  }),
);

test('the first request the front does not take hands the connection to node:http, bytes and order intact', () =>
  withFront(async (h) => {
    const c = await client(h);
    const body = 'x'.repeat(70_000); // larger than one read
    c.sock.write(
      get('/dists/Release') +
        `POST /api/thing HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        get('/dists/Release') +
        get('/dists/big.gz', 'Range: bytes=0-9\r\n') +
        get('/missing'),
    );
    const [a, post, again, range, missing] = await c.read([false, false, false, false, false]);
    assert.is(a!.body.toString(), 'Origin: test\n');
    assert.is(post!.body.toString(), `node POST /api/thing body=${body}`);
    assert.is(again!.body.toString(), 'Origin: test\n', 'served by node:http (FastStatic.tryServe) after the hand-over');
    assert.is(range!.status, 206);
    assert.is(missing!.body.toString(), 'node GET /missing body=');
    assert.equal(h.seen, ['POST /api/thing -', 'GET /dists/Release -', 'GET /dists/big.gz bytes=0-9', 'GET /missing -']);
    assert.is(h.front.connections, 0);
    c.sock.destroy();
  }),
);

test('malformed requests get node:http’s own answer; Connection: close is honoured', () =>
  withFront(async (h) => {
    const c = await client(h);
    c.sock.write('GET /dists/Release HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n');
    const [bad] = await c.read([false]);
    assert.is(bad!.status, 400);
    await c.closed;

    const d = await client(h);
    d.sock.write(get('/dists/Release', 'Connection: close\r\n'));
    const [ok] = await d.read([false]);
    assert.is(ok!.status, 200);
    assert.is(ok!.headers.connection, 'close');
    await d.closed;
  }),
);

test('a client that does not read gets every pipelined answer once it does', () =>
  withFront(async (h) => {
    const c = await client(h);
    c.sock.pause();
    const n = 300; // 30 MB of answers to 300 requests sent at once
    c.sock.write(get('/dists/big.gz').repeat(n) + get('/dists/Release'));
    await new Promise((r) => setTimeout(r, 200));
    c.sock.resume();
    const got = await c.read([...Array(n).fill(false), false], n * 100_000);
    assert.is(got.length, n + 1);
    assert.ok(got.slice(0, n).every((g) => g.status === 200 && g.body.length === 100_000 && g.body[99_999] === 7));
    assert.is(got[n]!.body.toString(), 'Origin: test\n');
    assert.equal(h.seen, []);
    c.sock.destroy();
  }),
);

test('a client that half-closes gets its answers, then the end of the connection', () =>
  withFront(async (h) => {
    const c = await client(h);
    c.sock.end(get('/dists/Release') + get('/dists/Release'));
    const got = await c.read([false, false]);
    assert.is(got.length, 2);
    const t0 = performance.now();
    await c.closed;
    assert.ok(performance.now() - t0 < 1000, 'closed right after the answers');
  }),
);

test('a request head that never completes is cut off after headersTimeout', () =>
  withFront(async (h) => {
    const c = await client(h);
    const t0 = performance.now();
    // A byte a second: activity, but the head never completes.
    const drip = setInterval(() => c.sock.write('x'), 500);
    c.sock.write('GET /dists/Release HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const cut = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 8000))]);
    clearInterval(drip);
    c.sock.destroy();
    assert.ok(cut, 'still open after 8 s');
    const s = (performance.now() - t0) / 1000;
    assert.ok(s >= 2 && s < 6, `closed after ${s.toFixed(1)} s`);
  }),
);

test('closing the server ends idle connections the front holds', async () => {
  const h = await start();
  const c = await client(h);
  c.sock.write(get('/dists/Release'));
  await c.read([false]);
  const t0 = performance.now();
  await stop(h);
  await c.closed;
  assert.ok(performance.now() - t0 < 2000, 'close did not wait for the keep-alive timeout');
});

test.run();
