// The color section's defaults, duration arithmetic and the curl dependency rule
// (builder/color.ts); the agent itself is exercised on fleet nodes in color-node.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { colorFiles, colorUnit, seconds, withAgentDepends } from '../../builder/color.js';
import { packageMetadata } from '../../builder/metadata.js';
import { parseSpec } from '../../builder/spec.js';
import { SpecError } from '../../builder/spec-error.js';

const HEAD = `name: web-app
version: "2.1"
release: "3"
epoch: "1"
maintainer: A B <a@example.org>
description: test package
`;

function unitOf(color: string, head = HEAD) {
  const { spec } = parseSpec(`${head}color:\n${color}`, 'debpkg.yaml', {});
  return colorUnit(spec, packageMetadata(withAgentDepends(spec)));
}

test('defaults: service is the package name, /healthz every 2s with a 1s timeout, weight 100', () => {
  const u = unitOf('  port: 8080\n')!;
  assert.equal(
    { service: u.service, package: u.package, version: u.version, port: u.port, path: u.healthPath, interval: u.intervalMs, timeout: u.timeoutMs, weight: u.weight },
    { service: 'web-app', package: 'web-app', version: '1:2.1-3', port: 8080, path: '/healthz', interval: 2000, timeout: 1000, weight: 100 },
  );
  assert.is(u.unitName, 'debpkg-agent-web-app.service');
  assert.is(u.agentPath, '/usr/lib/debpkg-agent/web-app/agent');
});

test('durations: ms, s, m and decimals; the default timeout never exceeds a short interval', () => {
  assert.is(unitOf('  port: 1\n  health: { interval: 1.5s, timeout: 250ms }\n')!.intervalMs, 1500);
  assert.is(unitOf('  port: 1\n  health: { interval: 1.5s, timeout: 250ms }\n')!.timeoutMs, 250);
  assert.is(unitOf('  port: 1\n  health: { interval: 1m }\n')!.intervalMs, 60_000);
  assert.is(unitOf('  port: 1\n  health: { interval: "3" }\n')!.intervalMs, 3000);
  assert.is(unitOf('  port: 1\n  health: { interval: 600ms }\n')!.timeoutMs, 600);
  assert.is(seconds(2000), '2');
  assert.is(seconds(500), '0.5');
  assert.is(seconds(1250), '1.25');
});

test('unit.env carries the values shell-quoted, the version with its epoch', () => {
  const files = colorFiles(unitOf('  port: 9000\n  service: web\n  weight: 3\n  health: { path: /ready, interval: 700ms, timeout: 100ms }\n')!);
  const env = files.find((f) => f.path.endsWith('/unit.env'))!.data.toString();
  for (const line of ["SERVICE='web'", "PACKAGE='web-app'", "VERSION='1:2.1-3'", 'PORT=9000', "HEALTH_PATH='/ready'", 'INTERVAL=0.7', 'TIMEOUT=0.1', 'WEIGHT=3']) {
    assert.ok(env.split('\n').includes(line), `${line} in\n${env}`);
  }
  assert.equal(files.map((f) => [f.path, f.mode.toString(8)]), [
    ['/usr/lib/debpkg-agent/web/agent', '755'],
    ['/usr/lib/debpkg-agent/web/unit.env', '644'],
    ['/usr/lib/systemd/system/debpkg-agent-web.service', '644'],
  ]);
});

test('Depends gains curl unless a plain curl relation is there', () => {
  const depends = (list: string[] | undefined, color = true): string[] | undefined =>
    withAgentDepends({ name: 'x', version: '1', maintainer: 'A B <a@example.org>', description: 'x', ...(list ? { depends: list } : {}), ...(color ? { color: { port: '1' } } : {}) }).depends;
  assert.equal(depends(undefined), ['curl']);
  assert.equal(depends(['dash']), ['dash', 'curl']);
  assert.equal(depends(['curl (>= 8)']), ['curl (>= 8)']);
  assert.equal(depends(['curl:any']), ['curl:any']);
  assert.equal(depends(['wget | curl']), ['wget | curl', 'curl'], 'an alternative does not guarantee curl');
  assert.equal(depends(['libcurl4']), ['libcurl4', 'curl']);
  assert.is(depends(undefined, false), undefined, 'no color section, no curl');
});

test('range errors name the field', () => {
  const fails = (color: string, path: string, re: RegExp, head = HEAD): void => {
    try {
      unitOf(color, head);
      assert.unreachable(`accepted ${color}`);
    } catch (e) {
      assert.instance(e, SpecError);
      assert.is((e as SpecError).path.join('.'), path);
      assert.match((e as Error).message, re);
    }
  };
  fails('  port: 0\n', 'color.port', /not a TCP port \(1-65535\)/);
  fails('  port: 1\n  weight: 0\n', 'color.weight', /1-256/);
  fails('  port: 1\n  health: { interval: 61s }\n', 'color.health.interval', /between 0.5s and 60s/);
  fails('  port: 1\n  health: { timeout: 50ms }\n', 'color.health.timeout', /between 0.1s and the interval \(2s\)/);
  fails('  port: 1\n', 'color.service', /package name 'web\.app'/, HEAD.replace('web-app', 'web.app'));
});

test.run();
