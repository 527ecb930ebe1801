// debpkg repo create|list|show|drop|packages|add|remove: local repos on the repo server.

import type { Argv } from 'yargs';
import { clientFrom, clientOptions, out, printJson, say, seg, withLists, type ClientArgs } from '../client.js';
import type { ImportReportWire, PackageDetailsWire, RepoWire } from '../../repo-server/http/wire.js';
import { UsageError } from '../errors.js';

interface NameArgs extends ClientArgs {
  name: string;
}


/** Package listings: keys, or (with details) apt-cache-show-like paragraphs. */
export function printPackages(list: (string | PackageDetailsWire)[]): void {
  for (const p of list) {
    if (typeof p === 'string') out(p);
    else out(`${Object.entries(p).map(([k, v]) => `${k}: ${v}`).join('\n')}\n`);
  }
}

function describeRepo(r: RepoWire): string {
  const extra = [r.DefaultDistribution && `distribution ${r.DefaultDistribution}`, r.DefaultComponent && `component ${r.DefaultComponent}`, r.Comment && `"${r.Comment}"`];
  const detail = extra.filter(Boolean).join(', ');
  return detail ? `${r.Name}  (${detail})` : r.Name;
}

export function repoCommand(y: Argv): Argv {
  return y.command('repo', 'Manage local repos on the repo server', (r) =>
    clientOptions(r)
      .command<NameArgs & { distribution?: string; component?: string; comment?: string }>(
        'create <name>',
        'Create a local repo',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('distribution', { type: 'string', describe: 'default distribution for publishing' })
            .option('component', { type: 'string', describe: 'default component for publishing' })
            .option('comment', { type: 'string' }) as Argv<NameArgs & { distribution?: string; component?: string; comment?: string }>,
        async (args) => {
          const repo = await (await clientFrom(args)).post<RepoWire>('/api/repos', {
            Name: args.name,
            ...(args.distribution !== undefined ? { DefaultDistribution: args.distribution } : {}),
            ...(args.component !== undefined ? { DefaultComponent: args.component } : {}),
            ...(args.comment !== undefined ? { Comment: args.comment } : {}),
          });
          if (args.json) return printJson(repo);
          say(`created repo ${describeRepo(repo)}`);
          out(repo.Name);
        },
      )
      .command<ClientArgs>('list', 'List local repos', (a) => a, async (args) => {
        const repos = await (await clientFrom(args)).get<RepoWire[]>('/api/repos');
        if (args.json) return printJson(repos);
        for (const repo of repos) out(describeRepo(repo));
        if (repos.length === 0) say('no local repos');
      })
      .command<NameArgs>('show <name>', 'Show a local repo and its package count', (a) => a.positional('name', { type: 'string', demandOption: true }) as Argv<NameArgs>, async (args) => {
        const client = await clientFrom(args);
        const repo = await client.get<RepoWire>(`/api/repos/${seg(args.name)}`);
        if (args.json) return printJson(repo);
        const keys = await client.get<string[]>(`/api/repos/${seg(args.name)}/packages`);
        out(`Name: ${repo.Name}`);
        out(`Comment: ${repo.Comment}`);
        out(`Default Distribution: ${repo.DefaultDistribution}`);
        out(`Default Component: ${repo.DefaultComponent}`);
        out(`Number of packages: ${keys.length}`);
      })
      .command<NameArgs & { force: boolean }>(
        'drop <name>',
        'Delete a local repo',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('force', { type: 'boolean', default: false, describe: 'drop even if snapshots were made from it' }) as Argv<NameArgs & { force: boolean }>,
        async (args) => {
          const res = await (await clientFrom(args)).delete<unknown>(`/api/repos/${seg(args.name)}`, undefined, { force: args.force });
          if (args.json) return printJson(res);
          say(`dropped repo ${args.name}`);
        },
      )
      .command<NameArgs & { query?: string; details: boolean }>(
        'packages <name>',
        'List the packages in a local repo',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('query', { alias: 'q', type: 'string', describe: "aptly package query, e.g. 'Name (~ ^lib)'" })
            .option('details', { type: 'boolean', default: false, describe: 'full package records instead of keys' }) as Argv<NameArgs & { query?: string; details: boolean }>,
        async (args) => {
          const list = await (await clientFrom(args)).get<(string | PackageDetailsWire)[]>(`/api/repos/${seg(args.name)}/packages`, {
            q: args.query,
            format: args.details ? 'details' : undefined,
          });
          if (args.json) return printJson(list);
          printPackages(list);
        },
      )
      .command<NameArgs & { dir: string }>(
        'add <name>',
        'Add the packages of an upload directory to a local repo',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('dir', { type: 'string', demandOption: true, describe: 'upload directory (see debpkg upload)' }) as Argv<NameArgs & { dir: string }>,
        async (args) => {
          const report = await (await clientFrom(args)).post<ImportReportWire>(`/api/repos/${seg(args.name)}/file/${seg(args.dir)}`);
          if (args.json) return printJson(report);
          for (const w of report.Report.Warnings) say(`warning: ${w}`);
          for (const line of [...report.Report.Added, ...report.Report.Removed]) out(line);
          say(`repo ${args.name}: ${report.Report.Added.length} added, ${report.Report.Removed.length} removed`);
        },
      )
      .command<NameArgs & { ref?: string[] }>(
        'remove <name>',
        'Remove packages from a local repo by key',
        (a) =>
          withLists(a, ['ref'])
            .positional('name', { type: 'string', demandOption: true })
            .option('ref', { type: 'string', array: true, describe: "package keys, e.g. 'Pall demo 1.0-1 0123abcd'" }) as Argv<NameArgs & { ref?: string[] }>,
        async (args) => {
          // Keys contain spaces, so they are only split on repetition, never on commas.
          const refs = (args.ref ?? []).map(String).filter((r) => r.trim() !== '');
          if (refs.length === 0) throw new UsageError('name at least one package with --ref KEY');
          const repo = await (await clientFrom(args)).delete<RepoWire>(`/api/repos/${seg(args.name)}/packages`, { PackageRefs: refs });
          if (args.json) return printJson(repo);
          say(`removed ${refs.length} package(s) from repo ${args.name}`);
        },
      )
      .demandCommand(1, 'name a repo subcommand (see debpkg repo --help)'),
  );
}
