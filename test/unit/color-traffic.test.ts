// Pure parts of the swap machinery: weight arithmetic, strategy plans, the HAProxy render.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lbService, LB_MAX_WEIGHT } from '../../repo-server/colors/traffic.js';
import { planSwap } from '../../repo-server/colors/strategy.js';
import { renderHaproxy, topologyOf } from '../../repo-server/colors/lb/haproxy-config.js';
import type { ServiceRecord } from '../../repo-server/colors/registry.js';
import type { Color, Unit } from '../../repo-server/colors/model.js';

function unit(node: string, color: Color, weight = 100, health: Unit['health'] = 'healthy'): Unit {
  return { service: 'web', node, address: '127.0.0.2', port: 8000, color, version: '1.0', package: 'web', health, weight, healthPath: '/healthz', lastSeen: 0 };
}

function service(units: Unit[], blue: number, green: number): ServiceRecord {
  return { name: 'web', previewAllow: ['127.0.0.0/8'], healthPath: '/healthz', active: blue >= green ? 'blue' : 'green', weights: { blue, green }, units };
}

const share = (s: ReturnType<typeof lbService>, c: Color): number => {
  const total = s.servers.reduce((n, v) => n + v.weight, 0);
  return s.servers.filter((v) => v.color === c).reduce((n, v) => n + v.weight, 0) / total;
};

test('a canary share survives integer LB weights for uneven unit counts', () => {
  for (const [nb, ng] of [[2, 2], [3, 1], [1, 5], [7, 3]] as const) {
    for (const pct of [1, 5, 10, 25, 50]) {
      const units = [...Array.from({ length: nb }, (_, i) => unit(`b${i}`, 'blue')), ...Array.from({ length: ng }, (_, i) => unit(`g${i}`, 'green'))];
      const s = lbService(service(units, 100 - pct, pct), () => true);
      assert.ok(s.servers.every((v) => v.weight >= 0 && v.weight <= LB_MAX_WEIGHT), `weights in range for ${nb}/${ng}`);
      assert.ok(s.servers.some((v) => v.color === 'green' && v.weight > 0), 'the canary color gets traffic');
      const got = share(s, 'green') * 100;
      assert.ok(Math.abs(got - pct) < Math.max(0.5, pct * 0.1), `${pct}% on ${ng} green of ${nb + ng}: got ${got.toFixed(2)}%`);
    }
  }
});

test('idle color, dead and unhealthy units get weight 0 but stay in the pool list only while alive', () => {
  const units = [unit('b1', 'blue'), unit('b2', 'blue', 100, 'unhealthy'), unit('g1', 'green'), unit('gone', 'green')];
  const s = lbService(service(units, 100, 0), (u) => u.node !== 'gone');
  assert.equal(s.servers.map((v) => [v.name, v.weight]), [['blue-b1', 256], ['blue-b2', 0], ['green-g1', 0]]);
});

test('unit weights split a color proportionally', () => {
  const s = lbService(service([unit('big', 'blue', 200), unit('small', 'blue', 100)], 100, 0), () => true);
  assert.equal(s.servers.map((v) => v.weight), [256, 128]);
});

test('strategies are plans: steps, waits and their validation', () => {
  assert.equal(planSwap({}).steps, [100]);
  assert.equal(planSwap({ strategy: 'canary', weight: 10 }).steps, [10]);
  assert.equal(planSwap({ strategy: 'rolling', steps: [10, 50, 100], waitMs: 5000 }), { strategy: 'rolling', steps: [10, 50, 100], waitMs: 5000 });
  assert.throws(() => planSwap({ strategy: 'rolling', steps: [50, 10] }), /ascending/);
  assert.throws(() => planSwap({ strategy: 'canary', weight: 100 }), /1-99/);
  assert.throws(() => planSwap({ strategy: 'bluegreen' }), /Strategy must be one of/);
  assert.throws(() => planSwap({ strategy: 'redblack', weight: 5 }), /neither/);
});

test('HAProxy render: one backend with both colors, preview backends, frontend only with Listen', () => {
  const units = [unit('b1', 'blue'), unit('g1', 'green')];
  const state = { services: [lbService({ ...service(units, 100, 0), listen: '127.0.0.1:9000' }, () => true)] };
  const cfg = renderHaproxy(state, { socket: '/run/x.sock', stateFile: '/var/x.state' });
  assert.match(cfg, /frontend web\n  bind 127\.0\.0\.1:9000/);
  assert.match(cfg, /backend web\n(.*\n)*  server blue-b1 127\.0\.0\.2:8000 weight 256 check/);
  assert.match(cfg, /  server green-g1 127\.0\.0\.2:8000 weight 0 check/);
  assert.match(cfg, /backend web_green\n(.*\n)*  http-request set-path %\[path,regsub\(\^\/green\/\?,\/\)\]/);
  assert.match(cfg, /acl preview_allowed src 127\.0\.0\.0\/8/);
  assert.match(cfg, /server-state-file \/var\/x\.state/);
  // Weights are not topology: a swap must never need a reload.
  const swapped = { services: [lbService({ ...service(units, 0, 100), listen: '127.0.0.1:9000' }, () => true)] };
  assert.is(topologyOf(swapped), topologyOf(state));
  const noFrontend = renderHaproxy({ services: [lbService(service(units, 100, 0), () => true)] }, { socket: '/s', stateFile: '/f' });
  assert.not.match(noFrontend, /frontend/);
});

test("HAProxy render: a service's Check on every server line and as its backends' check timeout; a changed Check is topology (a reload)", () => {
  const units = [unit('b1', 'blue'), unit('g1', 'green')];
  const plain = { services: [lbService(service(units, 100, 0), () => true)] };
  const check = { intervalMs: 500, fall: 3, rise: 2, timeoutMs: 1500 };
  const checked = { services: [lbService({ ...service(units, 100, 0), check }, () => true)] };
  const cfg = renderHaproxy(checked, { socket: '/s', stateFile: '/f' });
  const servers = cfg.split('\n').filter((l) => l.startsWith('  server '));
  assert.is(servers.length, 4, 'the traffic backend and both preview backends');
  for (const l of servers) assert.match(l, / check inter 500ms fastinter 125ms downinter 500ms fall 3 rise 2$/, l);
  assert.is(cfg.match(/  timeout check 1500ms\n/g)?.length, 3);
  assert.match(renderHaproxy(plain, { socket: '/s', stateFile: '/f' }), /check inter 1000ms fastinter 250ms downinter 1000ms fall 2 rise 1/);
  assert.is.not(topologyOf(checked), topologyOf(plain));
  assert.is.not(topologyOf({ services: [lbService({ ...service(units, 100, 0), check: { ...check, fall: 4 } }, () => true)] }), topologyOf(checked));
});

test.run();
