// aptly's `graph`: local repos, snapshots and published distributions as a Graphviz digraph,
// drawn as aptly draws them (deb/graph.go: Mrecord nodes in aptly's colours, an edge from each
// source to what was made of it; `layout=vertical` ranks left to right), in the text layout
// aptly's Graphviz library writes: python-aptly's snapshot cleanup reads it with regular
// expressions (`"a"->"b";`, `"id" [ … label="{Repo name|…}" … ]`). Names, comments and
// descriptions are free text: every value is escaped for a DOT string and a record label, and
// node ids are our own ("repo-1"), never a name.

import type { Context } from './context.js';

export type GraphLayout = 'horizontal' | 'vertical';

/** A value inside a quoted record label: DOT's quote and backslash, the record's own specials. */
export function recordText(value: string): string {
  return value
    .replace(/[\0-\x1f\x7f-\x9f\u2028\u2029]/g, ' ')
    .replace(/[\\"{}|<>]/g, (c) => `\\${c}`);
}

export function buildGraph(ctx: Context, layout: GraphLayout): string {
  const { store } = ctx;
  const [open, close] = layout === 'vertical' ? ['', ''] : ['{', '}'];
  const lines = ['digraph aptly {'];
  if (layout === 'vertical') lines.push('\trankdir=LR;');
  const ids = new Map<string, string>();
  const nodes: string[] = [];
  const node = (key: string, fill: string, fields: string[]): void => {
    const id = `"${key.slice(0, key.indexOf(':'))}-${ids.size + 1}"`;
    ids.set(key, id);
    nodes.push(`\t${id} [ fillcolor=${fill}, label="${open}${fields.map(recordText).join('|')}${close}", shape=Mrecord, style=filled ];`);
  };
  const edges: string[] = [];
  const edge = (from: string | undefined, to: string | undefined): void => {
    if (from !== undefined && to !== undefined) edges.push(`\t${from}->${to};`);
  };

  for (const repo of [...store.repos.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    node(`repo:${repo.name}`, 'mediumseagreen', [`Repo ${repo.name}`, `comment: ${repo.comment}`, `pkgs: ${store.repoPackages.get(repo.name)?.size ?? 0}`]);
  }
  const snapshots = [...store.snapshots.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const snap of snapshots) node(`snapshot:${snap.name}`, 'cadetblue1', [`Snapshot ${snap.name}`, snap.description, `pkgs: ${snap.packages.length}`]);
  for (const snap of snapshots) {
    const kind = snap.sourceKind === 'snapshot' ? 'snapshot' : 'repo';
    for (const source of snap.sources) edge(ids.get(`${kind}:${source}`), ids.get(`snapshot:${snap.name}`));
  }
  const publishes = [...store.publishes.values()].sort((a, b) => `${a.prefix}/${a.distribution}`.localeCompare(`${b.prefix}/${b.distribution}`));
  for (const pub of publishes) {
    const path = pub.prefix === '.' ? pub.distribution : `${pub.prefix}/${pub.distribution}`;
    const key = `publish:${pub.prefix}/${pub.distribution}`;
    const components = pub.sources.map((s) => s.component).sort();
    const archs = pub.architectures.length > 0 ? pub.architectures : (pub.publishedArchitectures ?? []);
    node(key, 'darkolivegreen1', [`Published ${path}`, `comp: ${components.join(' ')}`, `arch: ${archs.join(', ')}`]);
    const kind = pub.sourceKind === 'snapshot' ? 'snapshot' : 'repo';
    for (const source of pub.sources) edge(ids.get(`${kind}:${source.name}`), ids.get(key));
  }
  lines.push(...edges, ...nodes, '}', '');
  return lines.join('\n');
}
