// The short form of the VM tests (npm run test:vm:short; the full one: npm run test:vm): packer builds the foundation
// image with vm-demo 1.0-1, one VM boots from it and its agent registers under real systemd,
// and an in-place `apt-get upgrade` of that unit while it carries traffic drops no request: the
// old package's prerm drains the unit (weight 0, in-flight requests finish) before the service
// restarts, the agent keeps the registration across its own restart, and the unit comes back
// healthy at 1.1-1. A second unit of the other color, on the host, carries the traffic meanwhile.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/color-backends.js';
import { TEST_NODE_TOKEN } from '../support/repo-server.js';
import { SERVICE } from './demo.js';
import { Fleet, HOST_UNIT_ADDRESS } from './fleet.js';
import { describeFailures, underLoad, upgradeOn, waitRegistered } from './phases.js';

let fleet: Fleet | undefined;
let host: Backend | undefined;
let beating = true;
let heartbeats: Promise<void> | undefined;

test.after(async () => {
  beating = false;
  await heartbeats;
  await host?.close();
  if (fleet) console.log(`vm-upgrade figures: ${JSON.stringify(fleet.figures)}`);
  await fleet?.close();
});

test('one VM from the packer-built image registers under systemd; upgrading it under traffic drops no request', async () => {
  const f = (fleet = await Fleet.create(['1.0', '1.1']));
  await f.publish(f.debs[0]!, true);
  const bake = await f.packer({ [SERVICE]: '1.0-1' });
  assert.is(bake.packages.get(SERVICE), '1.0-1');
  await f.bootVm('blue');
  f.figures.bootToRegisteredSeconds = Math.round(await waitRegistered(f, 'blue', '1.0-1'));
  assert.is((await f.vm('blue').run(`systemctl is-active debpkg-agent-${SERVICE}.service ${SERVICE}.service`)).trim(), 'active\nactive');

  // The other color's unit, on the host, registered by heartbeats like an agent's.
  const b = (host = await startBackend('host-green', 'green', HOST_UNIT_ADDRESS, f.port));
  heartbeats = (async () => {
    while (beating) {
      await f.server.api('PUT', `/api/units/${SERVICE}/host-green`, { Address: b.address, Port: b.port, Color: 'green', Version: '1.0-1', Package: SERVICE, Health: 'healthy', Weight: 100, HealthPath: '/healthz' }, TEST_NODE_TOKEN);
      await sleep(1000);
    }
  })();
  await f.waitFor('the host unit', async () => (await f.unitOf('green'))?.Health === 'healthy', 30_000);
  assert.is((await f.service()).Active, 'blue');
  // Both colors carry traffic: the VM's unit half of it.
  await f.api('POST', `/api/services/${SERVICE}/swap`, { To: 'green', Strategy: 'canary', Weight: 50 }, 200);
  await f.publish(f.debs[1]!, false);
  await sleep(2000);

  const { result, load } = await underLoad(f, async () => {
    const upgraded = await upgradeOn(f, 'blue', '1.1-1');
    await sleep(4000); // the new version's unit back in HAProxy's rotation
    return upgraded;
  });
  f.figures['live upgrade: requests/failed'] = `${load.requests}/${load.failed}`;
  f.figures.liveUpgradeSeconds = Math.round(result.seconds);
  console.log(`vm-upgrade: ${load.requests} requests in ${load.seconds.toFixed(0)} s, ${load.failed} failed; registry saw ${result.seen.join(' → ')}`);
  assert.ok(load.samples.some((s) => s.color === 'blue'), 'the VM carried traffic');
  assert.is(load.failed, 0, describeFailures(load));
  assert.ok(result.seen.some((s) => s.startsWith('draining@1.0-1')), `drained before the upgrade: ${result.seen.join(' → ')}`);
  assert.not.ok(result.seen.includes('absent'), `stayed registered: ${result.seen.join(' → ')}`);
  assert.ok(load.samples.slice(-10).some((s) => s.color === 'blue'), 'the upgraded unit takes traffic again');
});

test.run();
