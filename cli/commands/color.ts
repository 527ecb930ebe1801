// debpkg swap | rollback | status | lb render: move traffic between color groups.

import type { Argv } from 'yargs';
import { clientFrom, clientOptions, out, printJson, say, seg, type ClientArgs } from '../client.js';
import { UsageError } from '../errors.js';
import type { ServiceSummaryWire, ServiceWire, SwapWire } from '../../repo-server/http/wire.js';

interface SwapArgs extends ClientArgs {
  service: string;
  to: string;
  strategy: string;
  weight?: number;
  steps?: string;
  wait?: string;
  'min-healthy'?: number;
}

function parseSteps(text: string): number[] {
  const steps = text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (steps.length === 0 || steps.some((n) => !Number.isInteger(n))) throw new UsageError(`--steps must be percentages like 10,50,100, got '${text}'`);
  return steps;
}

function describeSwap(r: SwapWire): string {
  const ms = Date.parse(r.Finished) - Date.parse(r.Started);
  const steps = r.Steps.map((s) => `${s.Weight}%${s.Gate ? ` (gate ${s.Gate.Healthy}/${s.Gate.Required})` : ''}`).join(' → ');
  return `${r.Strategy} to ${r.To}: ${r.Result} in ${ms} ms [${steps}]${r.Reason ? ` — ${r.Reason}` : ''}`;
}

export function colorCommands(y: Argv): Argv {
  return y
    .command<SwapArgs>(
      'swap <service>',
      'Move traffic of SERVICE to a color, gated on its health',
      (a) =>
        clientOptions(a)
          .positional('service', { type: 'string', demandOption: true })
          .option('to', { type: 'string', choices: ['blue', 'green'], demandOption: true, describe: 'color to move traffic to' })
          .option('strategy', { type: 'string', choices: ['redblack', 'canary', 'rolling'], default: 'redblack' })
          .option('weight', { type: 'number', describe: 'canary: percent of traffic on the new color' })
          .option('steps', { type: 'string', describe: 'rolling: percentages, e.g. 10,50,100' })
          .option('wait', { type: 'string', describe: 'rolling: wait between steps (e.g. 30s)' })
          .option('min-healthy', { type: 'number', describe: 'healthy units the new color needs (default: all registered, ≥ 1)' }) as Argv<SwapArgs>,
      async (args) => {
        const body = {
          To: args.to,
          Strategy: args.strategy,
          ...(args.weight !== undefined ? { Weight: args.weight } : {}),
          ...(args.steps !== undefined ? { Steps: parseSteps(args.steps) } : {}),
          ...(args.wait !== undefined ? { Wait: args.wait } : {}),
          ...(args['min-healthy'] !== undefined ? { MinHealthy: args['min-healthy'] } : {}),
        };
        const r = await (await clientFrom(args)).post<SwapWire>(`/api/services/${seg(args.service)}/swap`, body);
        if (args.json) return printJson(r);
        out(describeSwap(r));
      },
    )
    .command<ClientArgs & { service: string; force: boolean }>(
      'rollback <service>',
      'Put traffic of SERVICE back where it was before the last swap',
      (a) =>
        clientOptions(a)
          .positional('service', { type: 'string', demandOption: true })
          .option('force', { type: 'boolean', default: false, describe: 'skip the health gate on the color rolled back to' }) as Argv<ClientArgs & { service: string; force: boolean }>,
      async (args) => {
        const r = await (await clientFrom(args)).post<SwapWire>(`/api/services/${seg(args.service)}/rollback`, args.force ? { Force: true } : {});
        if (args.json) return printJson(r);
        out(describeSwap(r));
      },
    )
    .command<ClientArgs & { service?: string }>(
      'status [service]',
      'Colors, units, health, weights and the active color of a service (or list services)',
      (a) => clientOptions(a).positional('service', { type: 'string' }) as Argv<ClientArgs & { service?: string }>,
      async (args) => {
        const client = await clientFrom(args);
        if (!args.service) {
          const list = await client.get<ServiceSummaryWire[]>('/api/services');
          if (args.json) return printJson(list);
          for (const s of list) out(`${s.Name}  active=${s.Active ?? '-'}  blue=${s.Weights.blue}% green=${s.Weights.green}%  units=${s.Units}`);
          if (list.length === 0) say('no services registered');
          return;
        }
        const s = await client.get<ServiceWire>(`/api/services/${seg(args.service)}`);
        if (args.json) return printJson(s);
        out(`Service: ${s.Name}`);
        out(`Active: ${s.Active ?? '-'}   Weights: blue ${s.Weights.blue}%, green ${s.Weights.green}%${s.Listen ? `   Listen: ${s.Listen}` : ''}`);
        if (s.Previous) out(`Rollback to: ${s.Previous.Active ?? '-'} (blue ${s.Previous.Weights.blue}%, green ${s.Previous.Weights.green}%)`);
        for (const color of ['blue', 'green']) {
          const units = s.Units.filter((u) => u.Color === color);
          out(`${color}: ${units.length} unit(s)`);
          for (const u of units) out(`  ${u.Node}  ${u.Address}:${u.Port}  ${u.Version}  ${u.Alive ? u.Health : 'expired'}  weight ${u.Weight}  seen ${u.LastSeen}`);
        }
      },
    )
    .command('lb', 'Load-balancer configuration', (l) =>
      l
        .command<ClientArgs & { adapter: string }>(
          'render',
          'Print the LB configuration rendered from the registry',
          (a) => clientOptions(a).option('adapter', { type: 'string', choices: ['haproxy', 'nginx'], default: 'haproxy' }) as Argv<ClientArgs & { adapter: string }>,
          async (args) => {
            process.stdout.write(await (await clientFrom(args)).getText('/api/lb/config', { adapter: args.adapter }));
          },
        )
        .demandCommand(1, 'name an lb subcommand (render)'),
    );
}
