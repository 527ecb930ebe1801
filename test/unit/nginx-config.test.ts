import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LbServer, LbService, LbState } from '../../repo-server/colors/lb/adapter.js';
import { DEFAULT_TUNING, NginxConfigError, renderNginx, upstreamNames } from '../../repo-server/colors/lb/nginx-config.js';
import { defaultNginxBin } from '../../repo-server/colors/lb/nginx.js';

const RUN = '/run/debpkg-lb';

function server(name: string, color: 'blue' | 'green', port: number, weight: number, address = '10.0.0.1'): LbServer {
  return { name, color, address, port, weight };
}

function service(over: Partial<LbService> = {}): LbService {
  return {
    name: 'hello',
    listen: '127.0.0.1:9000',
    healthPath: '/healthz',
    previewAllow: ['10.0.0.0/8'],
    servers: [server('blue-a', 'blue', 8001, 100), server('blue-b', 'blue', 8002, 50), server('green-a', 'green', 8003, 0), server('green-b', 'green', 8004, 0)],
    ...over,
  };
}

/** The lines of one `upstream NAME { … }` block, or undefined when it is not rendered. */
function upstream(conf: string, name: string): string[] | undefined {
  const m = new RegExp(`^  upstream ${name} \\{\\n([^}]*)^  \\}`, 'm').exec(conf);
  return m ? m[1]!.trim().split('\n').map((l) => l.trim()) : undefined;
}

/** The body of `location PATH { … }` inside the server block listening on `listen`. */
function location(conf: string, listen: string, path: string): string[] {
  const start = conf.indexOf(`listen ${listen};`);
  assert.ok(start >= 0, `no server listens on ${listen}`);
  const m = new RegExp(`location ${path.replace(/[/]/g, '\\/')} \\{\\n([^}]*)\\}`).exec(conf.slice(start));
  assert.ok(m, `no location ${path}`);
  return m[1]!.trim().split('\n').map((l) => l.trim()).filter((l) => !l.startsWith('#'));
}

test('traffic upstream: weight-0 servers are left out, nginx weights equal LB weights', () => {
  const conf = renderNginx({ services: [service()] }, { runDir: RUN });
  const lines = upstream(conf, 'hello')!;
  assert.equal(lines.filter((l) => l.startsWith('server ')), ['server 10.0.0.1:8001 weight=100; # blue-a', 'server 10.0.0.1:8002 weight=50; # blue-b']);
  assert.ok(lines.includes('# green-a 10.0.0.1:8003 weight 0: no new requests'));
  assert.ok(lines.includes(`keepalive ${DEFAULT_TUNING.upstreamKeepalive};`));
  assert.equal(location(conf, '127.0.0.1:9000', '/'), ['proxy_pass http://hello;']);
});

test('canary weights: both colors share the traffic upstream', () => {
  const servers = [server('blue-a', 'blue', 8001, 230), server('green-a', 'green', 8003, 26)];
  const lines = upstream(renderNginx({ services: [service({ servers })] }, { runDir: RUN }), 'hello')!;
  assert.equal(lines.filter((l) => l.startsWith('server ')), ['server 10.0.0.1:8001 weight=230; # blue-a', 'server 10.0.0.1:8003 weight=26; # green-a']);
});

test('preview upstreams hold every unit of one color whatever its weight, prefix stripped, source restricted', () => {
  const conf = renderNginx({ services: [service({ previewAllow: ['10.0.0.0/8', '2001:db8::/32'] })] }, { runDir: RUN });
  assert.equal(upstream(conf, 'hello_green')!.filter((l) => l.startsWith('server ')), ['server 10.0.0.1:8003; # green-a', 'server 10.0.0.1:8004; # green-b']);
  assert.equal(upstream(conf, 'hello_blue')!.filter((l) => l.startsWith('server ')), ['server 10.0.0.1:8001; # blue-a', 'server 10.0.0.1:8002; # blue-b']);
  assert.equal(location(conf, '127.0.0.1:9000', '/green/'), ['allow 10.0.0.0/8;', 'allow 2001:db8::/32;', 'deny all;', 'proxy_pass http://hello_green/;']);
  assert.equal(location(conf, '127.0.0.1:9000', '/blue/'), ['allow 10.0.0.0/8;', 'allow 2001:db8::/32;', 'deny all;', 'proxy_pass http://hello_blue/;']);
});

test('empty previewAllow refuses every source', () => {
  const conf = renderNginx({ services: [service({ previewAllow: [] })] }, { runDir: RUN });
  assert.equal(location(conf, '127.0.0.1:9000', '/blue/'), ['deny all;', 'proxy_pass http://hello_blue/;']);
});

test('no server with weight: no traffic upstream, the route answers 503; a color without units: preview 503 after the access check', () => {
  const servers = [server('blue-a', 'blue', 8001, 0)];
  const conf = renderNginx({ services: [service({ servers })] }, { runDir: RUN });
  assert.is(upstream(conf, 'hello'), undefined);
  assert.equal(upstreamNames({ services: [service({ servers })] }), ['hello_blue']);
  assert.equal(location(conf, '127.0.0.1:9000', '/'), ['return 503;']);
  assert.equal(location(conf, '127.0.0.1:9000', '/green/'), ['allow 10.0.0.0/8;', 'deny all;', 'try_files /.no-unit-of-this-color =503;']);
  assert.equal(location(conf, '127.0.0.1:9000', '/blue/'), ['allow 10.0.0.0/8;', 'deny all;', 'proxy_pass http://hello_blue/;']);
});

test('a service without listen gets upstreams and no server block; IPv6 gets brackets', () => {
  const conf = renderNginx(
    { services: [service({ listen: undefined }), service({ name: 'six', listen: '[::1]:9001', servers: [server('blue-x', 'blue', 80, 1, 'fd00::5')] })] },
    { runDir: RUN },
  );
  assert.is((conf.match(/^\s*listen /gm) ?? []).length, 1);
  assert.ok(conf.includes('listen [::1]:9001;'));
  assert.ok(upstream(conf, 'hello'));
  assert.equal(upstream(conf, 'six')!.filter((l) => l.startsWith('server ')), ['server [fd00::5]:80 weight=1; # blue-x']);
});

test('paths and tuning end up in the config; output does not depend on service order', () => {
  const a = service();
  const b = service({ name: 'api', listen: '127.0.0.1:9001' });
  const tuning = { ...DEFAULT_TUNING, workerProcesses: 3, workerShutdownTimeoutS: 12, clientKeepaliveTimeoutS: 0 };
  const conf = renderNginx({ services: [a, b] }, { runDir: RUN }, tuning);
  assert.is(conf, renderNginx({ services: [b, a] }, { runDir: RUN }, tuning));
  for (const line of ['pid /run/debpkg-lb/nginx.pid;', 'error_log /run/debpkg-lb/error.log notice;', 'worker_processes 3;', 'worker_shutdown_timeout 12s;', 'keepalive_timeout 0s;', 'proxy_temp_path /run/debpkg-lb/temp/proxy;']) {
    assert.ok(conf.includes(line), line);
  }
  assert.ok(conf.indexOf('upstream api ') < conf.indexOf('upstream hello '));
});

const bad: [string, (s: LbService) => LbService | LbService[], RegExp][] = [
  ['service name', (s) => ({ ...s, name: 'hello;' }), /services\[0\]\.name: 'hello;' must match/],
  ['upper-case service name', (s) => ({ ...s, name: 'Hello' }), /services\[0\]\.name/],
  ['server name with a brace', (s) => ({ ...s, servers: [server('blue-a;}', 'blue', 1, 1)] }), /services\[0\]\.servers\[0\]\.name: 'blue-a;}'/],
  ['server name with a newline', (s) => ({ ...s, servers: [server('blue-a\nserver 6.6.6.6:1', 'blue', 1, 1)] }), /servers\[0\]\.name/],
  ['address with a directive', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, 1, '10.0.0.1:1; server 6.6.6.6')] }), /servers\[0\]\.address: .* must be an IP address or host name/],
  ['address with a space', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, 1, 'a b')] }), /servers\[0\]\.address/],
  ['port 0', (s) => ({ ...s, servers: [server('blue-a', 'blue', 0, 1)] }), /servers\[0\]\.port: must be an integer 1-65535/],
  ['weight 257', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, 257)] }), /servers\[0\]\.weight: must be an integer 0-256/],
  ['fractional weight', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, 1.5)] }), /servers\[0\]\.weight/],
  ['negative weight', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, -1)] }), /servers\[0\]\.weight/],
  ['unknown color', (s) => ({ ...s, servers: [{ ...server('blue-a', 'blue', 1, 1), color: 'red' as 'blue' }] }), /servers\[0\]\.color/],
  ['duplicate server name', (s) => ({ ...s, servers: [server('blue-a', 'blue', 1, 1), server('blue-a', 'blue', 2, 1)] }), /servers\[1\]\.name: server 'blue-a' appears twice/],
  ['CIDR prefix too long', (s) => ({ ...s, previewAllow: ['10.0.0.0/33'] }), /services\[0\]\.previewAllow\[0\]: '10\.0\.0\.0\/33'/],
  ['CIDR with a directive', (s) => ({ ...s, previewAllow: ['10.0.0.0/8; allow all'] }), /previewAllow\[0\]/],
  ['listen with a semicolon', (s) => ({ ...s, listen: '127.0.0.1:9000;' }), /services\[0\]\.listen: .* must be IP:PORT/],
  ['IPv6 listen without brackets', (s) => ({ ...s, listen: '::1:9000' }), /services\[0\]\.listen/],
  ['listen port 70000', (s) => ({ ...s, listen: '127.0.0.1:70000' }), /services\[0\]\.listen/],
  ['duplicate listen', (s) => [s, { ...s, name: 'other' }], /services\[1\]\.listen: 127\.0\.0\.1:9000 is already the listen address of service 'hello'/],
  ['duplicate service', (s) => [s, { ...s, listen: undefined }], /services\[1\]\.name: service 'hello' appears twice/],
  ['check interval under 100 ms', (s) => ({ ...s, check: { intervalMs: 50, fall: 2, rise: 1, timeoutMs: 2000 } }), /services\[0\]\.check\.intervalMs: '50' must be a whole number from 100 to 60000/],
  ['fractional check fall', (s) => ({ ...s, check: { intervalMs: 1000, fall: 1.5, rise: 1, timeoutMs: 2000 } }), /services\[0\]\.check\.fall/],
];

for (const [what, mutate, message] of bad) {
  test(`refused: ${what}`, () => {
    const m = mutate(service());
    const state: LbState = { services: Array.isArray(m) ? m : [m] };
    assert.throws(() => renderNginx(state, { runDir: RUN }), (err: unknown) => err instanceof NginxConfigError && message.test(err.message));
  });
}

test('refused: a run directory that would break the config', () => {
  assert.throws(() => renderNginx({ services: [service()] }, { runDir: '/tmp/a b;' }), /runDir/);
  assert.throws(() => renderNginx({ services: [service()] }, { runDir: 'relative' }), /runDir/);
  assert.throws(() => renderNginx({ services: [service()] }, { runDir: RUN }, { ...DEFAULT_TUNING, workerProcesses: 0 }), /workerProcesses/);
});

test("a service's Check becomes nginx's passive check on every server line; without one, nginx's defaults", () => {
  const withCheck = renderNginx({ services: [service({ check: { intervalMs: 1500, fall: 3, rise: 2, timeoutMs: 1000 } })] }, { runDir: RUN });
  for (const line of withCheck.split('\n').filter((l) => /^\s+server \S+:\d+/.test(l))) assert.match(line, / max_fails=3 fail_timeout=5s;/, line);
  assert.not.match(renderNginx({ services: [service()] }, { runDir: RUN }), /max_fails/);
});

test('real nginx -t accepts what is rendered (weights, zero weights, IPv6, empty colors, a passive check)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-config-'));
  try {
    const state: LbState = {
      services: [
        service(),
        service({ name: 'empty', listen: '127.0.0.1:9001', previewAllow: [], servers: [] }),
        service({ name: 'idle', listen: undefined, servers: [server('green-z', 'green', 1, 0)] }),
        service({ name: 'six', listen: '127.0.0.1:9002', previewAllow: ['::1'], servers: [server('blue-x', 'blue', 80, 256, '::1')] }),
        service({ name: 'checked', listen: '127.0.0.1:9003', check: { intervalMs: 200, fall: 2, rise: 1, timeoutMs: 2000 } }),
      ],
    };
    const file = join(dir, 'nginx.conf');
    mkdirSync(join(dir, 'temp')); // the adapter creates it; nginx makes only the last level
    writeFileSync(file, renderNginx(state, { runDir: dir }, { ...DEFAULT_TUNING, workerProcesses: 1 }));
    const r = spawnSync(defaultNginxBin(), ['-t', '-q', '-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', file], { encoding: 'utf8' });
    assert.is(r.error, undefined, 'nginx must be installed (test/setup-host.sh)');
    assert.is(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
