// Steps the VM tests share: bounded load through HAProxy around an action, the first
// registration of a booted VM, and an in-place `apt-get upgrade` of vm-demo on one VM.

import { setTimeout as sleep } from 'node:timers/promises';
import { failures, startLoad, type Sample } from '../support/load.js';
import { SERVICE } from './demo.js';
import type { Color, Fleet } from './fleet.js';

/** Load while an action runs: 10 requests/s (every 4th on the 300 ms path), in runs of at most 100 s. */
const LOAD = { keepaliveClients: 2, closeClients: 2, slowEvery: 4, ratePerSecond: 10, durationMs: 100_000, timeoutMs: 10_000 } as const;
/** No load phase may outlast this (an upgrade under software emulation takes minutes). */
const MAX_PHASE_MS = 20 * 60_000;

export interface LoadFigures {
  requests: number;
  failed: number;
  seconds: number;
  failures: Sample[];
  samples: Sample[];
}

export async function underLoad<T>(fleet: Fleet, action: () => Promise<T>): Promise<{ result: T; load: LoadFigures }> {
  const t0 = Date.now();
  let finished = false;
  const work = action().finally(() => {
    finished = true;
  });
  const samples: Sample[] = [];
  await sleep(300);
  while (Date.now() - t0 < MAX_PHASE_MS) {
    const run = startLoad({ url: fleet.lbUrl, ...LOAD });
    await Promise.race([work.catch(() => undefined), run.done]);
    samples.push(...(await run.stop()));
    if (finished) break;
  }
  const result = await work;
  const failed = failures(samples);
  return { result, load: { requests: samples.length, failed: failed.length, seconds: (Date.now() - t0) / 1000, failures: failed, samples } };
}

export function describeFailures(load: LoadFigures): string {
  return JSON.stringify(load.failures.slice(0, 5).map((s) => ({ status: s.status, error: s.error, slow: s.slow })));
}

/** Seconds from the VM's launch until its unit is alive and healthy in the registry. */
export async function waitRegistered(fleet: Fleet, color: Color, version: string, ms = 20 * 60_000): Promise<number> {
  const vm = fleet.vm(color);
  await fleet.waitFor(
    `the ${color} unit healthy at ${version}`,
    async () => {
      if (!vm.alive) throw new Error(`the ${color} VM died; serial console:\n${await vm.serialTail()}`);
      const u = await fleet.unitOf(color);
      return u?.Health === 'healthy' && u.Version === version;
    },
    ms,
  );
  return (Date.now() - vm.startedAt) / 1000;
}

/** Only the debpkg source: the image dropped Debian's lists, and the unit's upgrade needs none of them. */
export const APT_DEBPKG_ONLY = '-o Dir::Etc::SourceList=/etc/apt/sources.list.d/debpkg.sources -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0';

/**
 * `apt-get upgrade` of vm-demo on the color's VM; meanwhile records the unit's health as the
 * registry saw it (so a test can tell the unit drained rather than vanished). Returns the states seen.
 */
export async function upgradeOn(fleet: Fleet, color: Color, version: string): Promise<{ seen: string[]; seconds: number }> {
  const vm = fleet.vm(color);
  const seen: string[] = [];
  let done = false;
  const watch = (async () => {
    while (!done) {
      const u = (await fleet.service()).Units.find((x) => x.Color === color);
      const state = u ? `${u.Alive ? u.Health : 'expired'}@${u.Version}` : 'absent';
      if (seen[seen.length - 1] !== state) seen.push(state);
      await sleep(200);
    }
  })();
  const t0 = Date.now();
  try {
    await vm.run(`apt-get update -q ${APT_DEBPKG_ONLY} && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q ${APT_DEBPKG_ONLY}`, 25 * 60_000); // 2–3 min on a quiet host; past 15 min at load 12–20 (one emulated vCPU starved)
    const installed = (await vm.run(`dpkg-query -W -f '\${Version}' ${SERVICE}`)).trim();
    if (installed !== version) throw new Error(`${color}: apt-get upgrade left ${SERVICE} at ${installed}, not ${version}`);
    await waitRegistered(fleet, color, version, 5 * 60_000);
  } finally {
    done = true;
    await watch;
  }
  return { seen, seconds: (Date.now() - t0) / 1000 };
}
