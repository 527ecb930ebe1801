// debpkg snapshot create|list|show|packages|diff|drop|merge: immutable package sets.

import type { Argv } from 'yargs';
import { clientFrom, clientOptions, out, printJson, say, seg, withLists, type ClientArgs } from '../client.js';
import type { DiffEntryWire, PackageDetailsWire, SnapshotWire } from '../../repo-server/http/wire.js';
import { printPackages } from './repo.js';

interface NameArgs extends ClientArgs {
  name: string;
}

const describeSnapshot = (s: SnapshotWire): string => `${s.Name}  (${s.CreatedAt}) ${s.Description}`.trimEnd();

export function snapshotCommand(y: Argv): Argv {
  return y.command('snapshot', 'Manage snapshots on the repo server', (s) =>
    clientOptions(s)
      .command<NameArgs & { 'from-repo': string; description?: string }>(
        'create <name>',
        'Snapshot the current contents of a local repo',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('from-repo', { type: 'string', demandOption: true, describe: 'local repo to snapshot' })
            .option('description', { type: 'string' }) as Argv<NameArgs & { 'from-repo': string; description?: string }>,
        async (args) => {
          const snap = await (await clientFrom(args)).post<SnapshotWire>(`/api/repos/${seg(args['from-repo'])}/snapshots`, {
            Name: args.name,
            ...(args.description !== undefined ? { Description: args.description } : {}),
          });
          if (args.json) return printJson(snap);
          say(`created snapshot ${snap.Name} from repo ${args['from-repo']}`);
          out(snap.Name);
        },
      )
      .command<ClientArgs>('list', 'List snapshots', (a) => a, async (args) => {
        const snaps = await (await clientFrom(args)).get<SnapshotWire[]>('/api/snapshots');
        if (args.json) return printJson(snaps);
        for (const snap of snaps) out(describeSnapshot(snap));
        if (snaps.length === 0) say('no snapshots');
      })
      .command<NameArgs>('show <name>', 'Show a snapshot and its package count', (a) => a.positional('name', { type: 'string', demandOption: true }) as Argv<NameArgs>, async (args) => {
        const client = await clientFrom(args);
        const snap = await client.get<SnapshotWire>(`/api/snapshots/${seg(args.name)}`);
        if (args.json) return printJson(snap);
        const keys = await client.get<string[]>(`/api/snapshots/${seg(args.name)}/packages`);
        out(`Name: ${snap.Name}`);
        out(`Created At: ${snap.CreatedAt}`);
        out(`Description: ${snap.Description}`);
        out(`Number of packages: ${keys.length}`);
      })
      .command<NameArgs & { query?: string; details: boolean }>(
        'packages <name>',
        'List the packages in a snapshot',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('query', { alias: 'q', type: 'string', describe: 'aptly package query' })
            .option('details', { type: 'boolean', default: false, describe: 'full package records instead of keys' }) as Argv<NameArgs & { query?: string; details: boolean }>,
        async (args) => {
          const list = await (await clientFrom(args)).get<(string | PackageDetailsWire)[]>(`/api/snapshots/${seg(args.name)}/packages`, {
            q: args.query,
            format: args.details ? 'details' : undefined,
          });
          if (args.json) return printJson(list);
          printPackages(list);
        },
      )
      .command<ClientArgs & { a: string; b: string; 'only-matching': boolean }>(
        'diff <a> <b>',
        'Show how two snapshots differ (- only in A, + only in B, ! changed)',
        (a) =>
          a
            .positional('a', { type: 'string', demandOption: true })
            .positional('b', { type: 'string', demandOption: true })
            .option('only-matching', { type: 'boolean', default: false, describe: 'only packages present in both' }) as Argv<
            ClientArgs & { a: string; b: string; 'only-matching': boolean }
          >,
        async (args) => {
          const diff = await (await clientFrom(args)).get<DiffEntryWire[]>(`/api/snapshots/${seg(args.a)}/diff/${seg(args.b)}`, {
            onlyMatching: args['only-matching'],
          });
          if (args.json) return printJson(diff);
          for (const d of diff) {
            if (d.Left !== null && d.Right !== null) out(`! ${d.Left} => ${d.Right}`);
            else if (d.Left !== null) out(`- ${d.Left}`);
            else if (d.Right !== null) out(`+ ${d.Right}`);
          }
          if (diff.length === 0) say(`snapshots ${args.a} and ${args.b} are identical`);
        },
      )
      .command<NameArgs & { force: boolean }>(
        'drop <name>',
        'Delete a snapshot',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true })
            .option('force', { type: 'boolean', default: false, describe: 'drop even if other snapshots were made from it' }) as Argv<NameArgs & { force: boolean }>,
        async (args) => {
          const res = await (await clientFrom(args)).delete<unknown>(`/api/snapshots/${seg(args.name)}`, undefined, { force: args.force });
          if (args.json) return printJson(res);
          say(`dropped snapshot ${args.name}`);
        },
      )
      .command<ClientArgs & { dest: string; sources: string[] }>(
        'merge <dest> <sources..>',
        'Merge snapshots into a new one (later sources win per package name and architecture)',
        (a) =>
          withLists(a, ['sources'])
            .positional('dest', { type: 'string', demandOption: true })
            .positional('sources', { type: 'string', array: true, demandOption: true }) as Argv<ClientArgs & { dest: string; sources: string[] }>,
        async (args) => {
          const snap = await (await clientFrom(args)).post<SnapshotWire>('/api/snapshots/merge', {
            Destination: args.dest,
            Sources: args.sources.map(String),
          });
          if (args.json) return printJson(snap);
          say(`created snapshot ${snap.Name}: ${snap.Description}`);
          out(snap.Name);
        },
      )
      .demandCommand(1, 'name a snapshot subcommand (see debpkg snapshot --help)'),
  );
}
