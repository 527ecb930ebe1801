// debpkg agent: the node side of color groups. The agent itself is POSIX sh shipped inside
// each package with a `color:` section (no Node.js on fleet nodes); this command writes the
// two files a node needs at first boot, for cloud-init or an image pipeline.

import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Argv } from 'yargs';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { out, say } from '../client.js';
import { UsageError } from '../errors.js';

interface AgentConfigArgs {
  color: string;
  server: string;
  'token-file'?: string;
  'node-id'?: string;
  address?: string;
  root: string;
  print: boolean;
}

/**
 * agent.conf is KEY=value lines that the agent parses (it never sources them) and puts into a
 * curl config, a URL and a JSON body without escaping; an operator may well source it. So each
 * value must match the pattern the packaged agent (templates/color/agent.sh.mustache, load_conf)
 * and the registry (repo-server/colors/validate.ts) accept: none holds white space, a quote, `$`,
 * `;`, a backslash or a line break, so the file means the same sourced or parsed. Refused here,
 * with the flag named, rather than written for the agent to refuse at the node's first boot.
 */
const FIELDS = {
  '--server': { re: /^https?:\/\/[\]A-Za-z0-9.:/%_~@[-]{1,2000}$/, what: 'an http:// or https:// URL of letters, digits and . : / % _ ~ @ [ ] -' },
  token: { re: /^[A-Za-z0-9._~+/=:@%-]{1,4096}$/, what: 'letters, digits and . _ ~ + / = : @ % -' },
  '--node-id': { re: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, what: 'letters, digits and . _ - (at most 128, starting with a letter or digit), as the registry takes node ids' },
  '--address': { re: /^[A-Za-z0-9.:-]{1,253}$/, what: 'an IP address or host name' },
} as const;

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function value(name: keyof typeof FIELDS, v: string): string {
  const f = FIELDS[name];
  const shown = name === 'token' ? '' : ` '${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v).slice(1, -1)}'`;
  if (!f.re.test(v) || (name === '--address' && isIP(v) === 0 && !HOST_RE.test(v))) throw new UsageError(`${name}${shown} is not allowed in agent.conf: it must be ${f.what}`);
  return v;
}

export function agentCommand(y: Argv): Argv {
  return y.command('agent', 'Node side of color groups: the packaged agent and its configuration', (a) =>
    a
      .command<AgentConfigArgs>(
        'config',
        'Write /etc/debpkg/color and /etc/debpkg/agent.conf (or --print them)',
        (c) =>
          c
            .option('color', { type: 'string', choices: ['blue', 'green'], demandOption: true })
            .option('server', { type: 'string', default: process.env.DEBPKG_SERVER || 'http://127.0.0.1:8080', describe: 'repo server URL, or several of a group comma-separated (the agent fails over)' })
            .option('token-file', { type: 'string', describe: 'file holding the node token (default: $DEBPKG_NODE_TOKEN)' })
            .option('node-id', { type: 'string', describe: 'unit id (default on the node: /etc/machine-id)' })
            .option('address', { type: 'string', describe: 'address the LB reaches the unit at (default: first of hostname -I)' })
            .option('root', { type: 'string', default: '/', describe: 'root directory to write into (an image or chroot)' })
            .option('print', { type: 'boolean', default: false, describe: 'print the two files instead of writing them' }) as Argv<AgentConfigArgs>,
        async (args) => {
          const token = args['token-file'] ? (await readFile(args['token-file'], 'utf8')).trim() : process.env.DEBPKG_NODE_TOKEN?.trim();
          if (!token) throw new UsageError('no node token: pass --token-file FILE or set DEBPKG_NODE_TOKEN');
          // Several servers of a group, comma-separated: the agent fails over between them.
          const servers = args.server.split(',').map((u) => value('--server', u.trim()));
          const conf = [
            '# Written by debpkg agent config: where the color agent registers.',
            `DEBPKG_SERVER=${servers.join(',')}`,
            `DEBPKG_NODE_TOKEN=${value('token', token)}`,
            ...(args['node-id'] ? [`DEBPKG_NODE_ID=${value('--node-id', args['node-id'])}`] : []),
            ...(args.address ? [`DEBPKG_ADDRESS=${value('--address', args.address)}`] : []),
            '',
          ].join('\n');
          if (args.print) {
            out(`# /etc/debpkg/color\n${args.color}\n# /etc/debpkg/agent.conf\n${conf}`);
            return;
          }
          const root = args.root.replace(/\/+$/, '');
          await writeFileAtomic(`${root}/etc/debpkg/agent.conf`, conf, 0o600);
          await writeFileAtomic(`${root}/etc/debpkg/color`, `${args.color}\n`, 0o644);
          say(`wrote ${root}/etc/debpkg/color (${args.color}) and ${root}/etc/debpkg/agent.conf; start the agents with: systemctl start 'debpkg-agent-*.service'`);
        },
      )
      .demandCommand(1, 'name an agent subcommand (config)')
      .epilog(
        [
          'A package built with a `color:` section ships /usr/lib/debpkg-agent/<service>/agent (POSIX sh + curl)',
          'and debpkg-agent-<service>.service. Installing never registers (image bakes have no identity);',
          'the agent registers once /etc/debpkg/color and /etc/debpkg/agent.conf exist, heartbeats every',
          'interval with its local health check, and deregisters on stop. See docs/color-groups.md.',
        ].join('\n'),
      ),
  );
}
