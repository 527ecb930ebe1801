// The byte-store conformance suite (repo-server/storage/bytes.ts): what every backend must do
// for several servers to share it. Run against the directory backend
// (test/integration/bytes-conformance.test.ts) and against S3 on a real radosgw.

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { blobKey, DigestMismatchError, type ByteStore } from '../../repo-server/storage/bytes.js';

export interface BytesTarget {
  name: string;
  /** A fresh, empty store for one test (its own prefix or directory). */
  open(tag: string): Promise<ByteStore>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function bytesOf(r: Readable | undefined): Promise<Buffer | undefined> {
  if (!r) return undefined;
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function keys(store: ByteStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list(prefix)) out.push(k);
  return out.sort();
}

/** The rejection of `fn()`; fails when it resolves or when the error does not match `want`. */
export async function rejects(fn: () => Promise<unknown>, want: RegExp | ((e: unknown) => boolean)): Promise<unknown> {
  const e = await fn().then(
    () => undefined,
    (err: unknown) => err ?? new Error('rejected with nothing'),
  );
  if (e === undefined) assert.unreachable(`expected a rejection matching ${String(want)}`);
  const ok = want instanceof RegExp ? want.test(e instanceof Error ? e.message : String(e)) : want(e);
  assert.ok(ok, `rejection does not match ${String(want)}: ${e instanceof Error ? e.message : String(e)}`);
  return e;
}

/** Registers the suite's tests on a uvu suite; the caller adds before/after and runs it. */
export function bytesConformance(target: BytesTarget): Test {
  const s = suite(`byte store: ${target.name}`);
  let n = 0;
  const open = (): Promise<ByteStore> => target.open(`t${process.pid}-${n++}`);

  s('put then get: the same bytes, from a buffer and from a stream; stat has the size', async () => {
    const store = await open();
    const small = Buffer.from('Package: hello\n');
    const large = randomBytes(3 * 1024 * 1024 + 17);
    await store.put(blobKey(sha(small)), { data: small, size: small.length, sha256: sha(small) });
    await store.put(blobKey(sha(large)), { data: Readable.from([large.subarray(0, 1000), large.subarray(1000)]), size: large.length, sha256: sha(large) });
    assert.ok((await bytesOf(await store.get(blobKey(sha(small)))))?.equals(small));
    assert.ok((await bytesOf(await store.get(blobKey(sha(large)))))?.equals(large));
    assert.is((await store.stat(blobKey(sha(large))))?.size, large.length);
    assert.ok(Math.abs(((await store.stat(blobKey(sha(small))))?.mtime.getTime() ?? 0) - Date.now()) < 10 * 60_000);
  });

  s('ranged reads return exactly the bytes asked for (apt resumes partial downloads)', async () => {
    const store = await open();
    const data = randomBytes(2 * 1024 * 1024 + 3);
    await store.put('gen/1/Packages', { data, size: data.length, sha256: sha(data) });
    for (const [start, end] of [[0, 0], [6, 10], [1000, 1009], [1024 * 1024 - 5, 1024 * 1024 + 5], [data.length - 5, data.length - 1]] as const) {
      const got = await bytesOf(await store.get('gen/1/Packages', { start, end }));
      assert.ok(got?.equals(data.subarray(start, end + 1)), `bytes ${start}-${end}: got ${got?.length} bytes that differ`);
    }
  });

  s('a put whose bytes do not match the declared SHA-256 fails and leaves nothing', async () => {
    const store = await open();
    const data = Buffer.from('the real bytes');
    const wrong = sha(Buffer.from('other bytes'));
    await rejects(() => store.put('pool/aa/x', { data, size: data.length, sha256: wrong }), (e: unknown) => e instanceof DigestMismatchError && /pool\/aa\/x/.test(e.message));
    const streamed = randomBytes(256 * 1024);
    await rejects(() => store.put('pool/aa/y', { data: Readable.from([streamed]), size: streamed.length, sha256: wrong }), (e: unknown) => e instanceof DigestMismatchError);
    assert.is(await store.stat('pool/aa/x'), undefined);
    assert.is(await store.stat('pool/aa/y'), undefined);
    assert.equal(await keys(store, ''), []);
  });

  s('missing objects: get and stat answer undefined, delete is not an error', async () => {
    const store = await open();
    assert.is(await store.get('pool/00/none'), undefined);
    assert.is(await store.stat('pool/00/none'), undefined);
    await store.delete('pool/00/none');
  });

  s('list walks every key under a prefix (pages past 1000 keys on S3), and delete removes', async () => {
    const store = await open();
    const put = (k: string): Promise<void> => store.put(k, { data: Buffer.from(k), size: Buffer.byteLength(k), sha256: sha(Buffer.from(k)) });
    const pool = Array.from({ length: 1005 }, (_, i) => blobKey(sha(Buffer.from(String(i)))));
    for (let i = 0; i < pool.length; i += 50) await Promise.all(pool.slice(i, i + 50).map(put));
    await put('generations/stable/1/InRelease');
    assert.equal(await keys(store, 'pool/'), [...pool].sort());
    assert.equal(await keys(store, 'generations/'), ['generations/stable/1/InRelease']);
    assert.equal(await keys(store, 'generations/stable/1/In'), ['generations/stable/1/InRelease']);
    await store.delete(pool[0]!);
    assert.is(await store.stat(pool[0]!), undefined);
    assert.is((await keys(store, 'pool/')).length, 1004);
  });

  s('keys that could escape the store are refused', async () => {
    const store = await open();
    for (const bad of ['../x', 'a/../../b', '/abs', 'a//b', 'a/./b', '']) {
      await rejects(() => store.put(bad, { data: Buffer.alloc(0), size: 0, sha256: sha(Buffer.alloc(0)) }), /invalid object key/);
    }
  });

  return s;
}
