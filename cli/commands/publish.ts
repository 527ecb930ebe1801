// debpkg publish repo|snapshot|update|switch|list|show|drop: signed apt distributions on the server.

import type { Argv } from 'yargs';
import { clientFrom, clientOptions, listArg, out, printJson, say, seg, withLists, type ClientArgs } from '../client.js';
import type { PublishedRepoWire } from '../../repo-server/http/wire.js';
import { UsageError } from '../errors.js';

/**
 * aptly's URL form of a publish prefix, the inverse of prefixFromUrl in
 * repo-server/service/names.ts: "." is ":.", "_" is "__", "/" is "_".
 */
export function prefixToUrl(prefix: string): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  if (p === '' || p === '.') return ':.';
  return p.replace(/[_/]/g, (m) => (m === '_' ? '__' : '_'));
}

interface PrefixArgs extends ClientArgs {
  prefix: string;
}

interface CreateArgs extends PrefixArgs {
  distribution?: string;
  component?: string;
  architectures?: string;
  origin?: string;
  label?: string;
}

/** One line: path, sources, architectures and, from a debpkg server, when it was published. */
const describePublish = (p: PublishedRepoWire): string => {
  const date = p['x-debpkg']?.Date;
  return `${p.Path}  ${p.SourceKind}: ${p.Sources.map((s) => `${s.Component}=${s.Name}`).join(', ')}${p.Architectures.length ? `  [${p.Architectures.join(', ')}]` : ''}${date ? `  ${date}` : ''}`;
};

/** The live generation's date as the dashboard shows it: "2026-12-03 07:54:40 UTC (generation 3)". */
export function publishDate(p: PublishedRepoWire): string | undefined {
  const own = p['x-debpkg'] as PublishedRepoWire['x-debpkg'] | undefined;
  if (!own?.Date) return undefined;
  return `${own.Date.replace('T', ' ').replace('Z', '')} UTC (generation ${own.Generation})`;
}

/** `publish show`: one field a line, the Release fields only when set (aptly's answers have no date). */
export function showPublish(p: PublishedRepoWire): string {
  const rows: Array<[string, string]> = [
    ['Path', p.Path],
    ['Source kind', p.SourceKind],
    ['Sources', p.Sources.map((s) => `${s.Component}=${s.Name}`).join(', ')],
    ['Architectures', p.Architectures.join(', ')],
    ['Origin', p.Origin],
    ['Label', p.Label],
    ['Suite', p.Suite],
    ['Codename', p.Codename],
    ['Version', p.Version],
    ['Signed-By', p.SignedBy],
    ['Acquire-By-Hash', p.AcquireByHash ? 'yes' : 'no'],
    ['Contents', p.SkipContents ? 'skipped' : 'yes'],
    ['Date', publishDate(p) ?? ''],
  ];
  return rows
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${`${k}:`.padEnd(17)}${v}`)
    .join('\n');
}

function prefixOption<T>(a: Argv<T>): Argv<T & PrefixArgs> {
  return a.option('prefix', { type: 'string', default: '.', describe: 'publish prefix (a path under the server root)' }) as Argv<T & PrefixArgs>;
}

type DistributionArgs = PrefixArgs & { distribution: string };

/** `<distribution>` and `--prefix`: the commands that name one published distribution. */
function distributionArgs<T>(a: Argv<T>): Argv<T & DistributionArgs> {
  return prefixOption(a.positional('distribution', { type: 'string', demandOption: true })) as Argv<T & DistributionArgs>;
}

/** The API path of one published distribution. */
function publishedPath(args: DistributionArgs): string {
  return `/api/publish/${seg(prefixToUrl(args.prefix))}/${seg(args.distribution)}`;
}

function createOptions<T>(a: Argv<T>): Argv<T & CreateArgs> {
  return prefixOption(a)
    .option('distribution', { type: 'string', describe: 'distribution (default: the repo default)' })
    .option('component', { type: 'string', describe: 'component, or a comma list (one per snapshot)' })
    .option('architectures', { type: 'string', describe: 'comma list, e.g. amd64,arm64 (default: the server default)' })
    .option('origin', { type: 'string', describe: 'Release Origin field' })
    .option('label', { type: 'string', describe: 'Release Label field' }) as Argv<T & CreateArgs>;
}

/** The Release fields shared by `publish repo` and `publish snapshot`. */
function releaseFields(args: CreateArgs): Record<string, unknown> {
  const archs = listArg(args.architectures);
  return {
    ...(args.distribution !== undefined ? { Distribution: args.distribution } : {}),
    ...(archs.length > 0 ? { Architectures: archs } : {}),
    ...(args.origin !== undefined ? { Origin: args.origin } : {}),
    ...(args.label !== undefined ? { Label: args.label } : {}),
  };
}

/** Pairs names with --component values: none (server default), or exactly one per name. */
function sources(names: string[], component: string | undefined): { Name: string; Component?: string }[] {
  const components = listArg(component);
  if (components.length > 0 && components.length !== names.length) {
    throw new UsageError(`--component lists ${components.length} component(s) for ${names.length} source(s)`);
  }
  return names.map((Name, i) => (components[i] !== undefined ? { Name, Component: components[i] } : { Name }));
}

async function report(args: ClientArgs, pub: PublishedRepoWire, verb: string): Promise<void> {
  if (args.json) return printJson(pub);
  say(`${verb} ${describePublish(pub)}`);
  out(pub.Path);
}

export function publishCommand(y: Argv): Argv {
  return y.command('publish', 'Publish local repos or snapshots as signed apt distributions', (p) =>
    clientOptions(p)
      .command<CreateArgs & { repo: string }>(
        'repo <repo>',
        'Publish a local repo',
        (a) => createOptions(a.positional('repo', { type: 'string', demandOption: true })) as Argv<CreateArgs & { repo: string }>,
        async (args) => {
          const pub = await (await clientFrom(args)).post<PublishedRepoWire>(`/api/publish/${seg(prefixToUrl(args.prefix))}`, {
            SourceKind: 'local',
            Sources: sources([args.repo], args.component),
            ...releaseFields(args),
          });
          await report(args, pub, 'published');
        },
      )
      .command<CreateArgs & { names: string[] }>(
        'snapshot <names..>',
        'Publish snapshots (one component each: --component c1,c2)',
        (a) => createOptions(withLists(a, ['names']).positional('names', { type: 'string', array: true, demandOption: true })) as Argv<CreateArgs & { names: string[] }>,
        async (args) => {
          const names = args.names.map(String);
          const pub = await (await clientFrom(args)).post<PublishedRepoWire>(`/api/publish/${seg(prefixToUrl(args.prefix))}`, {
            SourceKind: 'snapshot',
            Sources: sources(names, args.component),
            ...releaseFields(args),
          });
          await report(args, pub, 'published');
        },
      )
      .command<DistributionArgs>(
        'update <distribution>',
        'Re-publish a distribution from the current contents of its local repos',
        distributionArgs,
        async (args) => {
          const pub = await (await clientFrom(args)).put<PublishedRepoWire>(publishedPath(args), {});
          await report(args, pub, 'updated');
        },
      )
      .command<PrefixArgs & { distribution: string; snapshots: string[]; component?: string }>(
        'switch <distribution> <snapshots..>',
        'Switch a snapshot publish to other snapshots (one per component)',
        (a) =>
          prefixOption(
            withLists(a, ['snapshots'])
              .positional('distribution', { type: 'string', demandOption: true })
              .positional('snapshots', { type: 'string', array: true, demandOption: true })
              .option('component', { type: 'string', describe: 'comma list, one component per snapshot (default: main)' }),
          ) as Argv<PrefixArgs & { distribution: string; snapshots: string[]; component?: string }>,
        async (args) => {
          const pub = await (await clientFrom(args)).put<PublishedRepoWire>(publishedPath(args), {
            Snapshots: sources(args.snapshots.map(String), args.component),
          });
          await report(args, pub, 'switched');
        },
      )
      .command<ClientArgs>('list', 'List published distributions', (a) => a, async (args) => {
        const pubs = await (await clientFrom(args)).get<PublishedRepoWire[]>('/api/publish');
        if (args.json) return printJson(pubs);
        for (const pub of pubs) out(describePublish(pub));
        if (pubs.length === 0) say('nothing is published');
      })
      .command<DistributionArgs>(
        'show <distribution>',
        'Show a published distribution: its sources, Release fields and when it was published',
        distributionArgs,
        async (args) => {
          const pub = await (await clientFrom(args)).get<PublishedRepoWire>(publishedPath(args));
          if (args.json) return printJson(pub);
          out(showPublish(pub));
        },
      )
      .command<DistributionArgs>(
        'drop <distribution>',
        'Remove a published distribution',
        distributionArgs,
        async (args) => {
          const res = await (await clientFrom(args)).delete<unknown>(publishedPath(args));
          if (args.json) return printJson(res);
          say(`dropped published ${args.prefix === '.' ? '.' : args.prefix}/${args.distribution}`);
        },
      )
      .demandCommand(1, 'name a publish subcommand (see debpkg publish --help)'),
  );
}
