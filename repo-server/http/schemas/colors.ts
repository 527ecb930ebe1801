// Schemas of the color-group requests (/api/units, /api/services, /api/lb, /api/events).
// Unlike aptly's bodies these are closed (an unknown field is refused, naming it: a typo in
// "Wieght" must not silently keep the default). The patterns are colors/validate.ts's, which
// still checks every value after the schema (IP literals, CIDR bits, durations).

import { COLORS } from '../../colors/model.js';
import { STRATEGIES } from '../../colors/strategy.js';
import { HEALTH, NODE_RE, PACKAGE_RE, PATH_RE, SERVICE_RE, VERSION_RE } from '../../colors/validate.js';
import { bool, int, object, paramsOf, queryOf, str, type Schema } from './schema.js';

const SERVICE: Schema = str('a color-group service', { pattern: SERVICE_RE.source, 'x-error': `service name '{value}' must match ${SERVICE_RE.source}` });
const NODE: Schema = str('the unit\'s node id', { pattern: NODE_RE.source, 'x-error': `node id '{value}' must match ${NODE_RE.source}` });

export const SERVICE_PARAMS: Schema = paramsOf({ service: SERVICE });
export const UNIT_PARAMS: Schema = paramsOf({ service: SERVICE, node: NODE });

const color = (field: string, description: string): Schema => ({ type: 'string', enum: COLORS, description, 'x-error': `${field} must be one of ${COLORS.join(', ')}` });
const healthPath: Schema = str('the health check path', { pattern: PATH_RE.source, 'x-error': 'HealthPath must be an absolute URL path of [A-Za-z0-9._~/-]' });
const minHealthy: Schema = int(1, 10_000, 'units of the new color that must be healthy before traffic moves');

export const HEARTBEAT: Schema = object(
  {
    Address: str('IP address or host name the LB reaches the unit at', { maxLength: 253, 'x-error': 'Address must be an IP address or host name' }),
    Port: int(1, 65535, 'the unit\'s service port'),
    Color: color('Color', 'the color group the unit belongs to'),
    Version: str('the installed package version', { pattern: VERSION_RE.source, 'x-error': 'Version must be a Debian version' }),
    Package: str('the package (default: the service name)', { pattern: PACKAGE_RE.source, 'x-error': 'Package must be a Debian package name' }),
    Health: { type: 'string', enum: HEALTH, description: 'what the unit\'s own check says (default healthy)' },
    Weight: int(1, 256, 'its share of its color\'s traffic (default 100)'),
    HealthPath: healthPath,
  },
  { required: ['Address', 'Port', 'Color', 'Version'], closed: true, what: 'unit', example: { Address: '10.0.0.5', Port: 8080, Color: 'green', Version: '1.4.2-1', Health: 'healthy' } },
);

const duration = (field: string, description: string): Schema => ({
  anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)?$' }],
  description,
  'x-error': `${field} must be a duration like 500ms, 5s or 2m`,
});

const CHECK: Schema = {
  ...object(
    {
      Interval: duration('Check.Interval', 'time between two checks of a unit (100ms–60s, default 1s)'),
      Fall: int(1, 100, 'failed checks in a row that take a unit out (default 2)'),
      Rise: int(1, 100, 'passed checks in a row that put it back (default 1; HAProxy only)'),
      Timeout: duration('Check.Timeout', 'how long one check may take (100ms–60s, default 2s; HAProxy only)'),
    },
    { closed: true, what: 'Check' },
  ),
  nullable: true,
  description: 'how the load balancer checks each unit; fields left out keep their value, null restores the defaults',
};

export const CONFIGURE_SERVICE: Schema = object(
  {
    Listen: str('IP:PORT the load balancer binds for this service', { 'x-error': 'Listen must be IP:PORT, e.g. 127.0.0.1:9000' }),
    PreviewAllow: { type: 'array', items: { type: 'string', 'x-error': '{field} must be an address or CIDR network' }, description: 'who may reach the idle color', 'x-error': 'PreviewAllow must be a list of CIDR networks' },
    HealthPath: healthPath,
    MinHealthy: minHealthy,
    Check: CHECK,
  },
  { closed: true, what: 'service', example: { Listen: '127.0.0.1:9000', PreviewAllow: ['10.0.0.0/8'], MinHealthy: 2, Check: { Interval: '2s', Fall: 3, Rise: 2 } } },
);

export const SWAP: Schema = object(
  {
    To: color('To', 'the color that takes the traffic'),
    Strategy: { type: 'string', enum: STRATEGIES, description: 'redblack (default): all at once; canary: Weight percent; rolling: Steps', 'x-error': `Strategy must be one of ${STRATEGIES.join(', ')}` },
    Weight: int(1, 99, 'canary: percent of traffic to the new color'),
    Steps: { type: 'array', items: int(1, 100), description: 'rolling: percentages, in order', 'x-error': 'Steps must be a list of percentages' },
    Wait: duration('Wait', 'between steps: seconds, or a duration like 500ms, 5s, 2m'),
    MinHealthy: minHealthy,
  },
  { required: ['To'], closed: true, what: 'swap', example: { To: 'green', Strategy: 'canary', Weight: 10 } },
);

export const ROLLBACK: Schema = object({ Force: bool('roll back even when the gate refuses') }, { closed: true, what: 'rollback', example: { Force: false } });

export const LB_QUERY: Schema = queryOf({ adapter: 'haproxy or nginx (default: the configured one)' });
export const EVENTS_QUERY: Schema = queryOf({ service: str('also stream this service\'s full state', { pattern: SERVICE_RE.source, 'x-error': `service name '{value}' must match ${SERVICE_RE.source}` }) });
