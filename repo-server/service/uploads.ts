// The upload area of aptly's Files API: directories of named files. A directory is a manifest
// (name → sha256) in the metadata store and the bytes are blobs: one request's small files go
// into one new pack, large ones into loose files. A request is all or nothing: its blobs are
// durable before one commit names them, and a failed request leaves only unnamed files that
// are removed at once (or by the start-up collection after a crash). With a remote byte store
// (S3) every blob is a loose file, PUT to the remote before the commit (storage/blobs.ts), and
// once the commit landed, PUT again if an orphan sweep claimed it meanwhile (storage/sweep-claims.ts).

import { createHash, hash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { unlink, type FileHandle } from 'node:fs/promises';
import type { Inspections } from '../packages/inspections.js';
import type { BlobStore } from '../storage/blobs.js';
import { forEachLimit, type Mutex } from '../../lib/concurrency.js';
import type { BlobIndex, MetadataJournal, PublishedPoolIndex, References, UploadArea } from '../storage/interfaces.js';
import type { Op } from '../storage/records.js';
import { collectBlobs } from './blob-gc.js';
import { TooLarge } from '../model/errors.js';
import { invalid, notFound } from './errors.js';
import { safeSegment } from './names.js';

/** Files up to this size are received into memory and appended to the request's pack. */
const SMALL = 1 << 20;

export interface UploadPart {
  filename: string;
  body: Readable;
}

interface Received {
  name: string;
  sha256: string;
}

export interface UploadDeps {
  store: UploadArea & BlobIndex & References & PublishedPoolIndex & MetadataJournal;
  blobs: BlobStore;
  writes: Mutex;
  inspections: Inspections;
}

export class Uploads {
  constructor(private readonly deps: UploadDeps) {}

  /** The files of an upload directory (404 when it has none). */
  filesOf(dir: string): ReadonlyMap<string, string> {
    const files = this.deps.store.uploads.get(safeSegment(dir, 'directory'));
    if (!files || files.size === 0) throw notFound(`upload directory ${dir} not found`);
    return files;
  }

  listDirs(): string[] {
    return [...this.deps.store.uploads.keys()].sort();
  }

  listFiles(dir: string): string[] {
    return [...this.filesOf(dir).keys()].sort();
  }

  /**
   * Receives every part of one request, then names them all in one commit. Small .deb files
   * start being inspected from memory on the way (not awaited), so the add that follows
   * needs no read.
   */
  async receive(dir: string, parts: AsyncIterable<UploadPart>, limit: number): Promise<string[]> {
    const { store, blobs, writes, inspections } = this.deps;
    safeSegment(dir, 'directory');
    const pack = blobs.newPack();
    const packed: [string, number, number][] = [];
    const loose: { sha256: string; size: number }[] = [];
    const inRequest = new Set<string>();
    const pins: string[] = [];
    const received: Received[] = [];
    // Blobs already stored, not written again: their bytes are kept until the commit has landed,
    // in case another server's GC dropped the location meanwhile (service/blob-gc.ts).
    const reused: { sha256: string; size: number; buf?: Buffer; tmp?: string }[] = [];
    // Before any blob is PUT or relied on: a sweep claim done after this is this request's concern.
    const mark = blobs.claims?.mark();
    try {
      for await (const part of parts) {
        const name = safeSegment(part.filename, 'file name');
        const got = await this.receiveOne(part.body, limit);
        const sha256 = got.sha256;
        if (!inRequest.has(sha256)) {
          inRequest.add(sha256);
          // Pinned until this request commits: an already stored blob is not collected meanwhile,
          // and a failing request does not drop a loose file another one is about to name.
          blobs.pin(sha256);
          pins.push(sha256);
          if (store.blobs.has(sha256)) {
            reused.push({ sha256, size: got.size, ...(got.buf ? { buf: got.buf } : {}), ...(got.tmp !== undefined ? { tmp: got.tmp } : {}) });
          } else if (got.buf && blobs.packs) {
            packed.push([sha256, pack.append(got.buf), got.buf.length]);
          } else if (got.buf) {
            await blobs.writeLoose(sha256, got.buf);
            loose.push({ sha256, size: got.size });
          } else if (got.tmp !== undefined) {
            await blobs.commitLoose(got.tmp, sha256);
            loose.push({ sha256, size: got.size });
          }
        } else if (got.tmp) await unlink(got.tmp).catch(() => undefined);
        if (got.buf && /\.[ud]?deb$/.test(name)) inspections.remember(sha256, got.buf);
        received.push({ name, sha256 });
      }
      if (received.length === 0) throw invalid('no file in the request');
      await pack.finish();
      // A remote byte store is what the other servers read: every new blob is on it, whole and
      // verified, before the commit names it.
      await forEachLimit(loose, 8, (l) => blobs.upload(l.sha256, l.size));
      const ops: Op[] = [];
      if (packed.length > 0) ops.push({ op: 'blobs', pack: pack.id, entries: packed });
      for (const l of loose) ops.push({ op: 'loose', sha256: l.sha256, size: l.size });
      ops.push({ op: 'up', dir, files: received.map((r) => [r.name, r.sha256]) });
      await writes.run(() => store.commit(ops));
      await this.restoreLost(reused);
      if (mark !== undefined) await this.putSweptAgain(mark, loose, reused);
      return received.map((r) => `${dir}/${r.name}`);
    } catch (err) {
      await pack.abort();
      for (const sha of pins.splice(0)) blobs.unpin(sha);
      await writes.run(async () => {
        for (const l of loose) if (!store.blobs.has(l.sha256) && !blobs.pinned(l.sha256)) await blobs.dropLoose(l.sha256);
      });
      throw err;
    } finally {
      for (const sha of pins) blobs.unpin(sha);
      for (const r of reused) if (r.tmp !== undefined) await unlink(r.tmp).catch(() => undefined);
    }
  }

  /**
   * Reused blobs whose location is gone once this request's commit landed: another server's
   * GC dropped it between our look-up and our commit. Their bytes are written and named again
   * (the request still pins them, so this server's GC leaves them alone).
   */
  private async restoreLost(reused: { sha256: string; size: number; buf?: Buffer; tmp?: string }[]): Promise<void> {
    const { store, blobs, writes } = this.deps;
    const lost = reused.filter((r) => !store.blobs.has(r.sha256));
    if (lost.length === 0) return;
    for (const r of lost) {
      if (r.buf) await blobs.writeLoose(r.sha256, r.buf);
      else if (r.tmp !== undefined) {
        await blobs.commitLoose(r.tmp, r.sha256);
        r.tmp = undefined;
      }
    }
    await forEachLimit(lost, 8, (r) => blobs.upload(r.sha256, r.size));
    await writes.run(() => store.commit(lost.map((r) => ({ op: 'loose' as const, sha256: r.sha256, size: r.size }))));
  }

  /**
   * Blobs of this request whose object an orphan sweep may have deleted under it (claimed
   * before this request's commit landed: storage/sweep-claims.ts): once that sweep is done, their
   * bytes are PUT again (and named again if their location went meanwhile).
   */
  private async putSweptAgain(mark: number, loose: { sha256: string; size: number }[], reused: { sha256: string; size: number; buf?: Buffer; tmp?: string }[]): Promise<void> {
    const { store, blobs, writes } = this.deps;
    const mine = new Map<string, { sha256: string; size: number; buf?: Buffer; tmp?: string }>();
    for (const b of [...loose, ...reused]) mine.set(b.sha256, b);
    const swept = (await blobs.claims!.sweptSince(mark, mine.keys())).map((sha) => mine.get(sha)!);
    if (swept.length === 0) return;
    for (const r of swept) {
      // New blobs are in this server's cache (pinned); reused ones come from the request's bytes.
      if (existsSync(blobs.loosePath(r.sha256))) continue;
      if (r.buf) await blobs.writeLoose(r.sha256, r.buf);
      else if (r.tmp !== undefined) {
        await blobs.commitLoose(r.tmp, r.sha256);
        r.tmp = undefined;
      }
    }
    await forEachLimit(swept, 8, (r) => blobs.upload(r.sha256, r.size));
    const unnamed = swept.filter((r) => !store.blobs.has(r.sha256));
    if (unnamed.length > 0) await writes.run(() => store.commit(unnamed.map((r) => ({ op: 'loose' as const, sha256: r.sha256, size: r.size }))));
  }

  /** One part: into memory while small, else streamed into a loose temp file; hashed either way. */
  private async receiveOne(body: Readable, limit: number): Promise<{ sha256: string; size: number; buf?: Buffer; tmp?: never } | { sha256: string; size: number; tmp: string; buf?: never }> {
    // Manual iteration: leaving a for-await loop would destroy the part's stream.
    const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const chunks: Buffer[] = [];
    let size = 0;
    // Small parts are hashed once, whole, at the end; a spilled one as it streams.
    let file: { path: string; fh: FileHandle; hasher: Hash } | undefined;
    try {
      for (;;) {
        const { value, done } = await it.next();
        if (done) break;
        size += value.length;
        // Past the limit the rest is read and dropped rather than the connection cut, so the
        // client (still sending) gets to read the 413.
        if (size > limit) continue;
        if (file) {
          file.hasher.update(value);
          await file.fh.write(value);
        } else {
          chunks.push(value);
          if (size > SMALL) {
            file = { ...(await this.deps.blobs.newLoose()), hasher: createHash('sha256') };
            for (const c of chunks.splice(0)) {
              file.hasher.update(c);
              await file.fh.write(c);
            }
          }
        }
      }
      // multipart parsers mark a cut-off stream as truncated instead of failing it
      if (size > limit || (body as Readable & { truncated?: boolean }).truncated) throw new TooLarge(`upload exceeds the limit of ${limit} bytes`);
      if (!file) {
        const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        return { sha256: hash('sha256', buf, 'hex'), size, buf };
      }
      const sha256 = file.hasher.digest('hex');
      await file.fh.sync();
      await file.fh.close();
      const tmp = file.path;
      file = undefined;
      return { sha256, size, tmp };
    } catch (err) {
      if (file) {
        await file.fh.close().catch(() => undefined);
        await unlink(file.path).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Removes a file or a whole directory (nothing to do if absent); blobs nothing else names are collected. */
  async remove(dir: string, file?: string): Promise<void> {
    const { store, blobs, writes } = this.deps;
    await writes.run(async () => {
      const files = store.uploads.get(safeSegment(dir, 'directory'));
      if (file !== undefined) safeSegment(file, 'file name');
      // As aptly: removing what is not there succeeds (200 {}), so a cleanup may run twice.
      if (!files || (file !== undefined && !files.has(file))) return;
      await store.commit([file === undefined ? { op: 'up-rm', dir } : { op: 'up-rm', dir, names: [file] }]);
      await collectBlobs(store, blobs);
    });
  }
}

