// The JSON of the color-group API (/api/units, /api/services; docs/color-groups.md), one typed
// schema per shape, as answers.ts for aptly's: documented in /api/openapi.json and the source
// of http/wire.ts's types. Also the error body every route answers with, and its evidence.

import { REPORT } from './answers.js';
import { tArray, tBoolean, tEnum, tInteger, tMap, tNullable, tNumber, tObject, tString } from './typed.js';

export const UNIT = tObject(
  {
    Node: tString(),
    Address: tString(),
    Port: tInteger(),
    Color: tString(),
    Version: tString('the installed package version'),
    Package: tString(),
    Health: tString('what the unit\'s own check reported'),
    Weight: tInteger('its share of its color\'s traffic'),
    HealthPath: tString(),
    LastSeen: tString('the last heartbeat, ISO 8601'),
    Alive: tBoolean('its lease has not expired'),
  },
  { description: 'one instance of a service in a color group' },
);

export const HEARTBEAT = tObject(
  { Unit: UNIT, Ttl: tNumber('seconds the lease lasts'), Interval: tNumber('seconds between heartbeats') },
  { description: 'the lease the agent keeps' },
);

const WEIGHTS = tMap(tInteger(), 'color → percent of traffic');

export const TRAFFIC = tObject({ Active: tNullable(tString(), 'the color that takes the traffic'), Weights: WEIGHTS });

export const SERVICE_SUMMARY = tObject({ Name: tString(), Active: tNullable(tString()), Weights: WEIGHTS, Units: tInteger('units alive now') });

export const SERVICE = tObject(
  {
    Name: tString(),
    Active: tNullable(tString()),
    Weights: WEIGHTS,
    Previous: tNullable(TRAFFIC, 'the traffic a rollback returns to'),
    Listen: tNullable(tString(), 'IP:PORT the load balancer binds'),
    PreviewAllow: tArray(tString(), 'who may reach the idle color (CIDR)'),
    HealthPath: tString(),
    MinHealthy: tNullable(tInteger()),
    Check: tObject(
      { Interval: tString('e.g. 1s or 500ms'), Fall: tInteger(), Rise: tInteger(), Timeout: tString() },
      { description: 'how the load balancer checks each unit' },
    ),
    Ttl: tNumber('seconds a unit\'s lease lasts'),
    Units: tArray(UNIT),
  },
  { description: 'a color-group service in full' },
);

export const GATE_UNIT = tObject(
  {
    Node: tString(),
    Alive: tBoolean(),
    Reported: tString('the health the unit\'s agent reported'),
    Probe: tEnum(['ok', 'failed', 'skipped'], 'the server\'s own probe of its health path'),
    Detail: tString(),
  },
  { optional: ['Detail'] },
);

export const GATE = tObject(
  { Color: tString(), Required: tInteger(), Healthy: tInteger(), Passed: tBoolean(), Units: tArray(GATE_UNIT) },
  { description: 'the health gate\'s verdict on the color traffic moves to' },
);

export const SWAP_STEP = tObject({ Weight: tInteger(), At: tString(), Gate: GATE }, { optional: ['Gate'] });

export const SWAP_RECORD = tObject(
  {
    Id: tInteger(),
    Service: tString(),
    Kind: tEnum(['swap', 'rollback', 'initial']),
    User: tString(),
    Started: tString(),
    Finished: tString(),
    From: TRAFFIC,
    To: tString(),
    Strategy: tString(),
    Steps: tArray(SWAP_STEP),
    Result: tEnum(['done', 'refused', 'reverted', 'failed']),
    Reason: tString(),
  },
  { optional: ['Reason'], description: 'a swap or rollback, as recorded in the history' },
);

export const SWAP_PREVIEW = tObject(
  {
    Service: tString(),
    Kind: tEnum(['swap', 'rollback']),
    To: tString(),
    Strategy: tString(),
    From: TRAFFIC,
    Steps: tArray(tObject({ Weight: tInteger(), Traffic: TRAFFIC }), 'the traffic after each step'),
    Gate: tNullable(GATE),
    Passed: tBoolean('whether the real request would pass its first gate now'),
    Reason: tString(),
  },
  { optional: ['Reason'], description: 'what a swap or rollback would do now (nothing moves)' },
);

/**
 * Every error: `error` says what went wrong; some carry their evidence beside it (aptly sends
 * an import's report with the error).
 */
export const ERROR = tObject(
  {
    error: tString(),
    Code: tEnum(['gate_refused'], 'a swap or rollback the health gate refused (409)'),
    Record: SWAP_RECORD,
    FailedFiles: tArray(tString(), 'an add or include that failed: its report'),
    Report: REPORT,
    Paths: tArray(tString(), 'a publish refused because pool files with these paths hold other bytes'),
  },
  { optional: ['Code', 'Record', 'FailedFiles', 'Report', 'Paths'], description: 'an error, with its evidence when it has any' },
);
