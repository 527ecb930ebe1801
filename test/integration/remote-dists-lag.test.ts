// A replica whose etcd watch lags the publisher (http/static/remote-dists.ts), made to lag
// deterministically: two "servers" share a real 3-member etcd and one real byte store (a
// directory; the S3 one runs the same code in s3-generations), and server B's watch is held
// (its client buffers the watch's events until released) while server A publishes generation 2.
// apt, having fetched generation 2's InRelease from A, asks B for a by-hash file it names: B
// must answer it (before: 404, B's replica still said generation 1). And the cost is bounded:
// a junk path never reaches etcd, and concurrent misses share one read.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient, type EtcdOptions, type WatchEvent } from '../../repo-server/cluster/etcd-client.js';
import { FreshPublishes, remoteDistsFile } from '../../repo-server/http/static/remote-dists.js';
import { Generations } from '../../repo-server/publish/generations.js';
import { RemoteGenerations } from '../../repo-server/publish/remote-generations.js';
import { DirectoryBytes } from '../../repo-server/storage/bytes-dir.js';
import { EtcdStore } from '../../repo-server/storage/etcd-store.js';
import type { PublishRecord } from '../../repo-server/storage/records.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';

/** An etcd client whose watch deliveries can be held back (a replica made to lag on purpose). */
class HeldWatchClient extends EtcdClient {
  held = false;
  private buffered: (() => void)[] = [];

  override watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[], revision: number) => void, onCompacted: () => void): { close(): void } {
    return super.watch(
      prefix,
      fromRevision,
      (events, revision) => {
        if (this.held) this.buffered.push(() => onEvents(events, revision));
        else onEvents(events, revision);
      },
      onCompacted,
    );
  }

  release(): void {
    this.held = false;
    for (const f of this.buffered.splice(0)) f();
  }
}

let etcd: EtcdCluster | undefined;
let root = '';
test.before(async () => {
  etcd = await startEtcdCluster();
  root = await mkdtemp(join(process.env.DEBPKG_TEST_TMP ?? tmpdir(), 'debpkg-dists-lag-'));
});
test.after(async () => {
  await etcd?.stop();
  await rm(root, { recursive: true, force: true });
});

const dist = { prefix: '.', distribution: 'stable' };
const keep = { keepGenerations: 5, keepSeconds: 0 };
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');

function record(generation: number): PublishRecord {
  return {
    prefix: '.', distribution: 'stable', sourceKind: 'local', sources: [{ component: 'main', name: 'r' }], architectures: ['amd64'],
    origin: '', label: '', suite: '', codename: '', notAutomatic: '', butAutomaticUpgrades: '', acquireByHash: true, skipContents: true,
    multiDist: false, signedBy: '', generation, lastDate: 1_700_000_000 + generation,
  };
}

function server(name: string, bytes: DirectoryBytes): { g: Generations; remote: RemoteGenerations; genDir: string } {
  const genDir = join(root, name, 'gen');
  const g = new Generations(join(root, name, 'public'), genDir, keep);
  const remote = new RemoteGenerations(bytes, g, genDir, keep);
  g.onPrune = (dir) => remote.forget(dir);
  return { g, remote, genDir };
}

/** A publishes `packages` as the next generation: files on the store, then the record on etcd. */
async function publish(a: ReturnType<typeof server>, store: EtcdStore, live: number, packages: string): Promise<number> {
  const date = 1_700_000_000 + live + 1;
  const present = await a.remote.prepare(dist, live, date);
  const d = await a.g.begin(dist, live);
  const files = [join(d.dir, 'main/binary-amd64/Packages'), join(d.dir, `main/binary-amd64/by-hash/SHA256/${sha(packages)}`), join(d.dir, 'InRelease')];
  await mkdir(join(d.dir, 'main/binary-amd64/by-hash/SHA256'), { recursive: true });
  await writeFile(files[0]!, packages);
  await writeFile(files[1]!, packages);
  await writeFile(files[2]!, `SHA256:\n ${sha(packages)} ${packages.length} main/binary-amd64/Packages\n`);
  await a.g.seal(d, { generation: d.generation, time: date, date, indexes: {}, byHash: [] }, files);
  await a.remote.upload(d, date, present);
  await a.g.swap(d, date);
  await store.commit([{ op: 'pub', pub: record(d.generation) }]);
  return d.generation;
}

async function text(f: { open(start: number, end: number): NodeJS.ReadableStream; size: number } | undefined): Promise<string | undefined> {
  if (!f) return undefined;
  const parts: Buffer[] = [];
  for await (const c of f.open(0, f.size - 1)) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

test('B, its watch held behind A\'s publish, answers the by-hash file of A\'s newest InRelease; junk costs no read, misses share one', async () => {
  const conn: EtcdOptions = { endpoints: etcd!.endpoints.split(',') };
  const prefix = `/debpkg-test/dists-lag-${process.pid}/`;
  const clientA = new EtcdClient(conn);
  const clientB = new HeldWatchClient(conn);
  const storeA = await EtcdStore.open(clientA, { prefix });
  const storeB = await EtcdStore.open(clientB, { prefix });
  const bytes = new DirectoryBytes(join(root, 'bytes'));
  const a = server('a', bytes);
  const b = server('b', bytes);
  const fresh = new FreshPublishes(() => storeB.currentPublishes());
  try {
    const g1 = await publish(a, storeA, 0, 'Package: one\n');
    await storeB.catchUp();
    assert.is(await text(await remoteDistsFile(storeB, b.remote, b.genDir, `dists/stable/main/binary-amd64/by-hash/SHA256/${sha('Package: one\n')}`, fresh)), 'Package: one\n');

    clientB.held = true;
    const g2 = await publish(a, storeA, g1, 'Package: two\n');
    assert.is(storeB.publishes.get(`.\u0000stable`)?.generation, g1, 'B\'s replica lags: it still says generation 1');
    const readsBefore = fresh.reads;

    // The name apt read in A's InRelease of generation 2, asked of B.
    const wanted = `dists/stable/main/binary-amd64/by-hash/SHA256/${sha('Package: two\n')}`;
    assert.is(await remoteDistsFile(storeB, b.remote, b.genDir, wanted), undefined, 'without the catch-up: 404 (the lag this closes)');
    const t0 = performance.now();
    assert.is(await text(await remoteDistsFile(storeB, b.remote, b.genDir, wanted, fresh)), 'Package: two\n', 'B answers it from generation 2');
    const ms = performance.now() - t0;
    const t1 = performance.now();
    await remoteDistsFile(storeB, b.remote, b.genDir, wanted, fresh);
    console.log(`  lagging replica: first answer (etcd read + copy of generation 2) ${ms.toFixed(1)} ms, the next (a read again) ${(performance.now() - t1).toFixed(1)} ms`);
    assert.is(fresh.reads, readsBefore + 2, 'one read per miss');
    assert.is(storeB.publishes.get(`.\u0000stable`)?.generation, g1, 'answered while the watch was still held');

    // A scanner's junk under dists/ does not reach etcd.
    for (const junk of ['dists/stable/wp-login.php', 'dists/stable/../../etc/passwd', 'dists/stable/main/.env', 'dists/nothing/admin']) {
      assert.is(await remoteDistsFile(storeB, b.remote, b.genDir, junk, fresh), undefined);
    }
    assert.is(fresh.reads, readsBefore + 2, 'no read for junk');

    // 30 concurrent misses (a by-hash name no generation has): one read, or two when some
    // arrived after the first had begun.
    const missing = `dists/stable/main/binary-amd64/by-hash/SHA256/${sha('never published')}`;
    const answers = await Promise.all(Array.from({ length: 30 }, () => remoteDistsFile(storeB, b.remote, b.genDir, missing, fresh)));
    assert.ok(answers.every((x) => x === undefined));
    assert.ok(fresh.reads - readsBefore - 2 <= 2, `${fresh.reads - readsBefore - 2} reads for 30 concurrent misses`);

    clientB.release();
    await storeB.catchUp();
    assert.is(storeB.publishes.get(`.\u0000stable`)?.generation, g2);
  } finally {
    clientB.release();
    await storeA.close();
    await storeB.close();
    clientA.close();
    clientB.close();
  }
});

test.run();
