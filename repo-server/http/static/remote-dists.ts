// The dists/ tree of a group whose generations live on an object store
// (publish/remote-generations.ts): the live generation is the publish record's, read once per
// request from this server's watched copy of the metadata, and every file of the answer comes
// from this server's verified local copy of that one generation. A request never mixes two
// generations, and a generation is served only once it is whole here.
//
// The watched copy may lag the publisher by milliseconds, and apt may fetch InRelease from one
// server and the files it names from another: a by-hash file of a generation this replica has
// not seen yet would be a 404. So before answering 404 for a name apt asks for under dists/, the
// publish records are read from etcd itself (linearizable) and the path resolved once more.
// Bounded: only names of apt's index files and by-hash names qualify (a scanner's junk never
// reaches etcd), one read is in flight at a time and every request that arrived before it
// started shares it, reads start at most every 100 ms (a client asking again and again for a
// distribution that does not exist waits for the next one instead of making each its own), and
// a read slower than 2 s leaves the 404 standing.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RemoteGenerations } from '../../publish/remote-generations.js';
import { SPLICE_SUFFIX } from '../../publish/spliced-files.js';
import type { MetadataStore } from '../../storage/interfaces.js';
import type { PublishRecord } from '../../storage/records.js';
import { weakEtag } from './conditional.js';
import { contentTypeOf } from './fast-static.js';
import type { RangedFile } from './ranged.js';
import { spliceAt } from './spliced.js';

interface Resolved {
  prefix: string;
  distribution: string;
  generation: number;
  /** The live generation's Release Date: a local copy of another one of that number is not it. */
  lastDate: number;
  rest: string;
}

/** The published distribution a path is under (the longest prefix wins) and the rest of it. */
function distributionOf(records: Iterable<PublishRecord>, path: string): Resolved | undefined {
  let best: Resolved | undefined;
  let bestLen = -1;
  for (const rec of records) {
    const head = `${rec.prefix === '.' ? '' : rec.prefix + '/'}dists/${rec.distribution}/`;
    if (path.startsWith(head) && head.length > bestLen) {
      bestLen = head.length;
      // Read once: a publish committed while this request runs does not change its answer.
      best = { prefix: rec.prefix, distribution: rec.distribution, generation: rec.generation, lastDate: rec.lastDate, rest: path.slice(head.length) };
    }
  }
  return best;
}

/** Names apt fetches under dists/<dist>/: the Release files, index files, by-hash names. */
const APT_NAME = /(^|\/)dists\/[^/]+\/(.+\/)?(by-hash\/(MD5Sum|SHA1|SHA256|SHA512)\/[0-9a-f]{32,128}|InRelease|Release(\.gpg)?|(Packages|Sources|Index|(Contents|Translation|Components|Commands|icons)-[A-Za-z0-9_.@+-]+)(\.(gz|xz|bz2|lzma|zst))?)$/;

/** Reads the publish records as etcd holds them now (EtcdStore.currentPublishes). */
export type PublishReader = () => Promise<readonly PublishRecord[]>;

/**
 * Linearizable reads of the publish records, shared: a request takes a ticket on arrival and is
 * answered by the first read that started after it; at most one read in flight, one queued, and
 * one started per `minGapMs`.
 */
export class FreshPublishes {
  /** Reads made (for tests and metrics). */
  reads = 0;
  private arrivals = 0;
  private current: { ticket: number; p: Promise<readonly PublishRecord[] | undefined> } | undefined;
  private queued: Promise<readonly PublishRecord[] | undefined> | undefined;
  private lastStart = -Infinity;

  constructor(
    private readonly read: PublishReader,
    private readonly timeoutMs = 2000,
    private readonly minGapMs = 100,
  ) {}

  ticket(): number {
    return ++this.arrivals;
  }

  /** The records as of a read begun after `ticket` was taken; undefined if it failed or was slow. */
  since(ticket: number): Promise<readonly PublishRecord[] | undefined> {
    const cur = this.current;
    let p: Promise<readonly PublishRecord[] | undefined>;
    if (!cur) p = this.queued ?? this.start();
    else if (cur.ticket >= ticket) p = cur.p;
    else {
      // Begun before this request arrived: the next read, shared by all who arrive meanwhile.
      p = this.queued ??= cur.p.then(() => {
        this.queued = undefined;
        return this.start();
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), this.timeoutMs);
      timer.unref();
    });
    return Promise.race([p, slow]).finally(() => clearTimeout(timer));
  }

  /** The next read: now, or once `minGapMs` has passed since the last one began (shared meanwhile). */
  private start(): Promise<readonly PublishRecord[] | undefined> {
    if (this.lastStart + this.minGapMs <= performance.now()) return this.startNow();
    return (this.queued ??= this.gap().then(() => {
      this.queued = undefined;
      return this.startNow();
    }));
  }

  /** Until `minGapMs` after the last start. Checked again on waking: a timer counts from the event loop's time at its tick, which can be behind. */
  private async gap(): Promise<void> {
    for (let wait = this.lastStart + this.minGapMs - performance.now(); wait > 0; wait = this.lastStart + this.minGapMs - performance.now()) {
      await new Promise<void>((r) => setTimeout(r, Math.ceil(wait)).unref());
    }
  }

  private startNow(): Promise<readonly PublishRecord[] | undefined> {
    this.reads++;
    this.lastStart = performance.now();
    const entry = {
      ticket: this.arrivals,
      p: this.read().then(
        (r) => r,
        () => undefined,
      ),
    };
    this.current = entry;
    void entry.p.then(() => {
      if (this.current === entry) this.current = undefined;
    });
    return entry.p;
  }
}

/** The catch-up reader of a store that has one (the etcd store); none for a local store. */
export function freshPublishesOf(store: object): FreshPublishes | undefined {
  const s = store as { currentPublishes?: () => Promise<PublishRecord[]> };
  return typeof s.currentPublishes === 'function' ? new FreshPublishes(() => s.currentPublishes!()) : undefined;
}

/** The file `path` names in the live generation, or undefined (404). */
export async function remoteDistsFile(store: Pick<MetadataStore, 'publishes'>, remote: RemoteGenerations, generationsDir: string, path: string, fresh?: FreshPublishes): Promise<RangedFile | undefined> {
  if (path.includes('\0') || /(^|\/)\.|\/\//.test(path)) return undefined;
  const ticket = fresh?.ticket() ?? 0;
  const d = distributionOf(store.publishes.values(), path);
  const file = d && (await fileIn(d, remote, generationsDir, path));
  if (file || !fresh || !APT_NAME.test(path)) return file;
  // Not in the generation this replica knows: perhaps in one it has not seen yet.
  const records = await fresh.since(ticket);
  const now = records && distributionOf(records, path);
  if (!now || (d && now.prefix === d.prefix && now.distribution === d.distribution && now.generation <= d.generation)) return undefined;
  return fileIn(now, remote, generationsDir, path);
}

async function fileIn(d: Resolved, remote: RemoteGenerations, generationsDir: string, path: string): Promise<RangedFile | undefined> {
  if (d.generation <= 0 || d.rest === '' || d.rest.endsWith(SPLICE_SUFFIX)) return undefined;
  const dir = await remote.ensure(d, d.generation);
  const file = join(dir, d.rest);
  const st = await stat(file).catch(() => undefined);
  if (st?.isFile()) {
    return {
      size: st.size,
      // The same weak validator as the directory path's (fast-static.ts), from the listed mtime.
      etag: weakEtag(st),
      modified: st.mtime,
      contentType: contentTypeOf(path),
      name: path,
      open: (start, end) => createReadStream(file, { start, end }),
    };
  }
  return spliceAt(file + SPLICE_SUFFIX, generationsDir, path);
}
