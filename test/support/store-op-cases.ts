// One case per journal op kind (and the edge each has): the batches to commit and what the
// views must then say, stated explicitly (the reference model is checked besides). Used by
// store-conformance.ts after the commits, after a reopen, and after a checkpoint and reopen.

import * as assert from 'uvu/assert';
import type { MetadataStore } from '../../repo-server/storage/interfaces.js';
import { identity, publishId, type Op } from '../../repo-server/storage/records.js';
import { pkgRecord, publishRecord, repoRecord, sha } from './store-workload.js';

export interface OpCase {
  name: string;
  batches: Op[][];
  check(s: MetadataStore, when: string): void;
}

const a = pkgRecord(1);
const b = pkgRecord(8); // same name as a (pkg1), another version
const twin = { ...pkgRecord(1), key: `${pkgRecord(1).key}x` }; // same identity, another key

export function opCases(): OpCase[] {
  return [
    {
      name: 'pkg, pkg-del (records and the identity index)',
      batches: [[{ op: 'pkg', rec: a }, { op: 'pkg', rec: b }, { op: 'pkg', rec: twin }], [{ op: 'pkg-del', key: a.key }, { op: 'pkg-del', key: 'Pamd64 never there 1 0' }]],
      check(s, when) {
        assert.equal([...s.packages.keys()].sort(), [b.key, twin.key].sort(), `${when}: packages`);
        assert.equal(s.packages.get(b.key), b, `${when}: record round-trips`);
        assert.equal([...(s.byIdentity.get(identity(a)) ?? [])], [twin.key], `${when}: identity index`);
      },
    },
    {
      name: 'repo, repo-add, repo-rm, repo-del (membership and its order)',
      batches: [
        [{ op: 'repo', repo: repoRecord('main', 'one') }, { op: 'repo-add', name: 'main', keys: ['k3', 'k1', 'k2'] }],
        [{ op: 'repo-add', name: 'main', keys: ['k1', 'k4'] }, { op: 'repo-rm', name: 'main', keys: ['k1', 'absent'] }],
        // Re-putting a repo keeps its packages; adds to a missing repo do nothing.
        [{ op: 'repo', repo: repoRecord('main', 'two') }, { op: 'repo-add', name: 'nowhere', keys: ['k9'] }],
        [{ op: 'repo', repo: repoRecord('gone', '') }, { op: 'repo-add', name: 'gone', keys: ['k5'] }, { op: 'repo-del', name: 'gone' }],
      ],
      check(s, when) {
        assert.equal([...s.repos.keys()], ['main'], `${when}: repos`);
        assert.is(s.repos.get('main')!.comment, 'two', `${when}: latest record`);
        assert.equal([...(s.repoOrder.get('main') ?? [])], ['k3', 'k2', 'k4'], `${when}: order`);
        assert.equal([...(s.repoPackages.get('main') ?? [])], ['k3', 'k2', 'k4'], `${when}: members`);
        assert.not.ok(s.repoPackages.has('gone') || s.repoPackages.has('nowhere'), `${when}: no members of missing repos`);
      },
    },
    {
      name: 'snap, snap-del (a rename in one batch)',
      batches: [
        [{ op: 'snap', snap: { name: 'old', description: 'd', createdAt: 't', sourceKind: 'local', sources: ['main'], packages: ['k1', 'k2'] } }],
        [{ op: 'snap', snap: { name: 'new', description: 'd', createdAt: 't', sourceKind: 'local', sources: ['main'], packages: ['k1', 'k2'] } }, { op: 'snap-del', name: 'old' }],
      ],
      check(s, when) {
        assert.equal([...s.snapshots.keys()], ['new'], `${when}: snapshots`);
        assert.equal(s.snapshots.get('new')!.packages, ['k1', 'k2'], `${when}: packages`);
        assert.equal([...s.referencedKeys()].sort(), ['k1', 'k2'], `${when}: referencedKeys`);
      },
    },
    {
      name: 'pub, pub-del (keyed by prefix and distribution; staged sources kept)',
      batches: [
        [{ op: 'pub', pub: publishRecord('.', 'stable', 1) }, { op: 'pub', pub: publishRecord('debian/x', 'stable', 1) }],
        [{ op: 'pub', pub: { ...publishRecord('.', 'stable', 2), staged: [{ component: 'main', name: 'r9' }], publishedArchitectures: ['amd64'] } }, { op: 'pub-del', prefix: 'debian/x', distribution: 'stable' }],
      ],
      check(s, when) {
        assert.equal([...s.publishes.keys()], [publishId('.', 'stable')], `${when}: publishes`);
        const p = s.publishes.get(publishId('.', 'stable'))!;
        assert.is(p.generation, 2, `${when}: generation`);
        assert.equal(p.staged, [{ component: 'main', name: 'r9' }], `${when}: staged`);
      },
    },
    {
      name: 'blobs, loose, blob-del (a compaction moves blobs to a new pack)',
      batches: [
        [{ op: 'blobs', pack: 'p1', entries: [[sha(1), 0, 10], [sha(2), 10, 20]] }, { op: 'loose', sha256: sha(3), size: 99 }],
        [{ op: 'blobs', pack: 'p2', entries: [[sha(2), 0, 20]] }, { op: 'blob-del', shas: [sha(1), sha(7)] }],
      ],
      check(s, when) {
        assert.equal(sortedEntries(s.blobs), [[sha(2), { pack: 'p2', offset: 0, size: 20 }], [sha(3), { pack: '', offset: 0, size: 99 }]], `${when}: blobs`);
      },
    },
    {
      name: 'up, up-rm (replace a name, remove names, drop an emptied or whole directory)',
      batches: [
        [{ op: 'up', dir: 'd1', files: [['a.deb', sha(1)], ['b.deb', sha(2)]] }, { op: 'up', dir: 'd2', files: [['c.deb', sha(3)]] }, { op: 'up', dir: 'd3', files: [['e.deb', sha(5)]] }],
        [{ op: 'up', dir: 'd1', files: [['a.deb', sha(4)]] }, { op: 'up-rm', dir: 'd2', names: ['c.deb'] }, { op: 'up-rm', dir: 'd3' }, { op: 'up-rm', dir: 'd9', names: ['x'] }],
        [{ op: 'up-rm', dir: 'd1', names: ['b.deb'] }],
      ],
      check(s, when) {
        assert.equal([...s.uploads.keys()], ['d1'], `${when}: directories`);
        assert.equal([...s.uploads.get('d1')!], [['a.deb', sha(4)]], `${when}: files`);
        assert.equal([...s.referencedBlobs()], [sha(4)], `${when}: referencedBlobs`);
      },
    },
    {
      name: 'pool-pub, pool-unpub (merge per prefix, drop a prefix)',
      batches: [
        [{ op: 'pool-pub', prefix: '.', files: [['pool/main/a/a.deb', sha(1)]] }, { op: 'pool-pub', prefix: 'x/y', files: [['pool/main/b/b.deb', sha(2)]] }],
        [{ op: 'pool-pub', prefix: '.', files: [['pool/main/c/c.deb', sha(3)], ['pool/main/a/a.deb', sha(4)]] }, { op: 'pool-unpub', prefix: 'x/y' }],
      ],
      check(s, when) {
        assert.equal([...s.publishedPool.keys()], ['.'], `${when}: prefixes`);
        assert.equal(sortedEntries(s.publishedPool.get('.')!), [['pool/main/a/a.deb', sha(4)], ['pool/main/c/c.deb', sha(3)]], `${when}: paths`);
      },
    },
  ];
}

function sortedEntries<T>(m: ReadonlyMap<string, T>): [string, T][] {
  return [...m].sort((x, y) => (x[0] < y[0] ? -1 : 1));
}
