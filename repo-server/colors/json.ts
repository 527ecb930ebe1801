// The registry's records in the API's PascalCase JSON (aptly's style).

import type { SwapRecord, Traffic } from './model.js';

export function trafficJson(t: Traffic | undefined) {
  return t ? { Active: t.active, Weights: { ...t.weights } } : null;
}

export function swapJson(r: SwapRecord) {
  return {
    Id: r.id,
    Service: r.service,
    Kind: r.kind,
    User: r.user,
    Started: r.started,
    Finished: r.finished,
    From: trafficJson(r.from),
    To: r.to,
    Strategy: r.strategy,
    Steps: r.steps.map((s) => ({
      Weight: s.weight,
      At: s.at,
      ...(s.gate
        ? { Gate: { Color: s.gate.color, Required: s.gate.required, Healthy: s.gate.healthy, Passed: s.gate.passed, Units: s.gate.units.map((u) => ({ Node: u.node, Alive: u.alive, Reported: u.reported, Probe: u.probe, ...(u.detail ? { Detail: u.detail } : {}) })) } }
        : {}),
    })),
    Result: r.result,
    ...(r.reason ? { Reason: r.reason } : {}),
  };
}

