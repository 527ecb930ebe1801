// Phoenix on real VMs (npm run test:vm): packer builds the foundation image with vm-demo 1.0-1
// from a locally built base disk; one blue and one green VM boot from it (copy-on-write
// overlays, first-boot data over fw_cfg) and their agents register under real systemd; HAProxy
// on the host moves traffic between them under continuous load: swap, publish 1.1, apt-get
// upgrade on the idle color, swap, roll back, then an in-place upgrade of a live unit (drains
// first) — 0 failed requests. Then systemctl kill/stop, apt-get remove and a reboot each leave
// the registry right. Prints the figures docs/benchmarks.md records.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVICE } from './demo.js';
import { Fleet, TTL_MS, type Color } from './fleet.js';
import { describeFailures, underLoad, upgradeOn, waitRegistered } from './phases.js';

let fleet: Fleet;
const AGENT_UNIT = `debpkg-agent-${SERVICE}.service`;

test.after(async () => {
  console.log(`vm figures: ${JSON.stringify(fleet?.figures)}`);
  await fleet?.close();
});

async function versionThroughLb(): Promise<string | null> {
  const r = await fetch(`${fleet.lbUrl}/`, { headers: { connection: 'close' } });
  await r.text();
  return r.headers.get('x-version');
}

async function swap(to: Color, extra: Record<string, unknown> = {}): Promise<void> {
  await fleet.api('POST', `/api/services/${SERVICE}/swap`, { To: to, ...extra }, 200);
}

// Not in test.before: uvu swallows an error thrown there and exits 0.
test('packer build: the foundation image from the local base disk, vm-demo 1.0-1 baked in, nothing registered', async () => {
  fleet = await Fleet.create(['1.0', '1.1']);
  await fleet.publish(fleet.debs[0]!, true);
  const bake = await fleet.packer({ [SERVICE]: '1.0-1' });
  const build = bake.manifest.builds[bake.manifest.builds.length - 1]!;
  assert.is(build.custom_data.image_type, 'foundation');
  assert.equal(JSON.parse(build.custom_data.packages!), { [SERVICE]: '1.0-1' });
  assert.is(bake.packages.get(SERVICE), '1.0-1', 'the image package list has vm-demo 1.0-1');
  assert.ok(bake.packages.has('openssh-server') && bake.packages.has('systemd'), 'the package list is the whole image');
  assert.equal((await fleet.service()).Units, [], 'nothing registered at bake time');
  console.log(`vm: base disk ${fleet.figures.baseDiskSeconds} s, packer build ${fleet.figures.packerBuildSeconds} s`);
});

test('blue and green VMs boot from the image; both agents register under systemd', async () => {
  await fleet.bootVm('blue');
  await fleet.bootVm('green');
  const [blue, green] = await Promise.all([waitRegistered(fleet, 'blue', '1.0-1'), waitRegistered(fleet, 'green', '1.0-1')]);
  fleet.figures.blueBootToRegisteredSeconds = Math.round(blue);
  fleet.figures.greenBootToRegisteredSeconds = Math.round(green);
  const facts: string[] = [];
  for (const c of ['blue', 'green'] as const) {
    const vm = fleet.vm(c);
    assert.is((await vm.run(`systemctl is-active ${AGENT_UNIT} ${SERVICE}.service`)).trim(), 'active\nactive');
    assert.is((await vm.run(`systemctl is-enabled ${AGENT_UNIT}`)).trim(), 'enabled');
    facts.push((await vm.run('cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).trim());
  }
  const [b, g] = facts.map((f) => f.split('\n'));
  assert.is.not(b![0], g![0], 'clones have their own machine id');
  assert.is.not(b![1], g![1], 'clones have their own SSH host key');
  const svc = await fleet.service();
  assert.is(svc.Units.length, 2);
  console.log(`vm: boot to registered: blue ${blue.toFixed(0)} s, green ${green.toFixed(0)} s`);
});

test('under load: swap, publish 1.1, apt-get upgrade on the idle color, swap, roll back — 0 failed requests', async () => {
  if ((await fleet.service()).Active !== 'blue') await swap('blue');
  await sleep(2000); // HAProxy's first checks of both servers
  const phases: Array<[string, () => Promise<unknown>]> = [
    ['swap blue→green', () => swap('green')],
    [
      'publish 1.1, apt-get upgrade blue (idle)',
      async () => {
        await fleet.publish(fleet.debs[1]!, false);
        const u = await upgradeOn(fleet, 'blue', '1.1-1');
        fleet.figures.idleUpgradeSeconds = Math.round(u.seconds);
      },
    ],
    ['swap green→blue (1.1)', () => swap('blue')],
    ['rollback to green (1.0)', async () => fleet.api('POST', `/api/services/${SERVICE}/rollback`, {}, 200)],
  ];
  for (const [name, action] of phases) {
    const { load } = await underLoad(fleet, async () => {
      await action();
      await sleep(3000);
    });
    fleet.figures[`${name}: requests/failed`] = `${load.requests}/${load.failed}`;
    console.log(`vm: ${name}: ${load.requests} requests in ${load.seconds.toFixed(0)} s, ${load.failed} failed`);
    assert.is(load.failed, 0, `${name}: ${describeFailures(load)}`);
  }
  assert.is((await fleet.service()).Active, 'green');
  assert.is(await versionThroughLb(), '1.0-1', 'rolled back to the 1.0 color');
});

test('in-place apt-get upgrade of a unit carrying traffic drains it first: 0 failed requests', async () => {
  // Both colors live (canary 50%): green's unit carries half the traffic while it is upgraded.
  await swap('blue', { Strategy: 'canary', Weight: 50 });
  await sleep(2000);
  const { result, load } = await underLoad(fleet, async () => {
    const upgraded = await upgradeOn(fleet, 'green', '1.1-1');
    await sleep(4000); // the new version's unit back in HAProxy's rotation
    return upgraded;
  });
  fleet.figures['live upgrade: requests/failed'] = `${load.requests}/${load.failed}`;
  fleet.figures.liveUpgradeSeconds = Math.round(result.seconds);
  console.log(`vm: live upgrade of green: ${load.requests} requests, ${load.failed} failed; registry saw ${result.seen.join(' → ')}`);
  assert.is(load.failed, 0, `live upgrade: ${describeFailures(load)}`);
  assert.ok(result.seen.some((s) => s.startsWith('draining@')), `the unit drained: ${result.seen.join(' → ')}`);
  assert.not.ok(result.seen.includes('absent'), `the unit stayed registered: ${result.seen.join(' → ')}`);
  const colors = new Set(load.samples.slice(-20).map((s) => s.color));
  assert.ok(colors.has('green'), 'green takes traffic again after its upgrade');
});

test('systemctl kill -s KILL: Restart= brings the agent back; systemctl stop deregisters; apt-get remove; reboot', async () => {
  const vm = fleet.vm('green');
  const pid = (await vm.run(`systemctl show -p MainPID --value ${AGENT_UNIT}`)).trim();
  await vm.run(`systemctl kill -s KILL ${AGENT_UNIT}`);
  await fleet.waitFor('a new agent process', async () => {
    const now = (await vm.run(`systemctl show -p MainPID --value ${AGENT_UNIT}`)).trim();
    return now !== '0' && now !== pid;
  }, 60_000);
  assert.is((await fleet.unitOf('green'))?.Health, 'healthy', 'still registered and healthy after the agent was killed');

  // The service killed: Restart= (on-failure for the service) or the health check take it out.
  await vm.run(`systemctl kill -s KILL ${SERVICE}.service`);
  await waitRegistered(fleet, 'green', '1.1-1', 120_000);

  await vm.run(`systemctl stop ${AGENT_UNIT}`);
  assert.is(await fleet.unitOf('green'), undefined, 'systemctl stop deregisters at once');
  await vm.run(`systemctl start ${AGENT_UNIT}`);
  await waitRegistered(fleet, 'green', '1.1-1', 120_000);

  // Reboot: the unit re-registers by itself (same machine id, first-boot data not reapplied).
  const before = (await vm.run('cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).trim();
  await vm.ssh('systemctl reboot', 30_000);
  await fleet.waitFor('the green unit to leave (deregistered at shutdown) or expire', async () => (await fleet.unitOf('green')) === undefined, 10 * 60_000);
  await vm.restart();
  await waitRegistered(fleet, 'green', '1.1-1');
  assert.is((await vm.run('cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')).trim(), before, 'a reboot keeps the identity');

  await vm.run(`DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ${SERVICE}`);
  assert.is(await fleet.unitOf('green'), undefined, 'apt-get remove deregisters');
  await sleep(TTL_MS + 2000);
  assert.is(await fleet.unitOf('green'), undefined, 'and nothing comes back');
});

test.run();
