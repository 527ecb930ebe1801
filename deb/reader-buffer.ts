// Reading a .deb held in memory (small packages, the repo server's hot path): one read of the
// file instead of several streams. Decompressed members are held only up to IN_MEMORY_UNPACK;
// a member that unpacks larger is walked as a stream from the buffer instead, under the same
// unpack budget, so a small upload never becomes a large allocation.

import { Readable } from 'node:stream';
import { AR_HEADER_SIZE, AR_MAGIC, decodeMemberHeader } from './ar.js';
import { decompressBounded, kindFromMemberName } from './compression.js';
import { DataArchiveRules, UnpackRuleError } from './unpack-rules.js';
import { controlFromFiles, DebFormatError, readControlTar, unsafeControlPath, walkTar, type ArMember, type ControlArchive, type TarListing } from './reader.js';
import { checkTarBuffer, readTarBuffer } from './tar.js';
import { DEFAULT_UNPACK_LIMITS, UnpackMeter, type UnpackLimits } from './unpack-limits.js';

/** Decompressed bytes of one member held in memory at most; larger members are streamed. */
export const IN_MEMORY_UNPACK = 16 << 20;

/** ar members of a package held in memory. */
export function readArBuffer(buf: Buffer): ArMember[] {
  if (buf.length < AR_MAGIC.length || !buf.subarray(0, AR_MAGIC.length).equals(AR_MAGIC)) {
    throw new DebFormatError('not a Debian package (no ar archive signature)');
  }
  const members: ArMember[] = [];
  let pos = AR_MAGIC.length;
  while (pos < buf.length) {
    if (buf.length - pos === 1 && buf[pos] === 0x0a) break;
    if (buf.length - pos < AR_HEADER_SIZE) throw new DebFormatError(`truncated ar member header at offset ${pos}`);
    let h;
    try {
      h = decodeMemberHeader(buf.subarray(pos, pos + AR_HEADER_SIZE));
    } catch (err) {
      throw new DebFormatError((err as Error).message);
    }
    const offset = pos + AR_HEADER_SIZE;
    if (offset + h.size > buf.length) throw new DebFormatError(`ar member '${h.name}' is truncated (${h.size} bytes declared, ${buf.length - offset} present)`);
    members.push({ name: h.name, offset, size: h.size });
    pos = offset + h.size + (h.size % 2);
    if (members.length > 64) throw new DebFormatError('too many ar members for a Debian package');
  }
  return members;
}

/** Any failure while reading member `name` → a DebFormatError that names it. */
/** One data.tar entry through dpkg's unpack rules; a refusal names the member. */
export function ruled(member: string, rules: DataArchiveRules, e: { path: string; type: TarListing['type']; linkTarget?: string }): void {
  try {
    rules.check(e);
  } catch (err) {
    if (err instanceof UnpackRuleError) throw new DebFormatError(`${member}: ${err.message}`);
    throw err;
  }
}

function named(name: string, err: unknown): DebFormatError {
  return err instanceof DebFormatError ? err : new DebFormatError(`${name}: ${(err as Error).message}`);
}

/**
 * The whole of readDebLayout + readControlArchive + a full check of the data archive, for a
 * package held in memory, within `limits`.
 */
export async function readDebBuffer(buf: Buffer, limits: UnpackLimits = DEFAULT_UNPACK_LIMITS): Promise<ControlArchive> {
  const members = readArBuffer(buf);
  const first = members[0];
  if (!first || first.name !== 'debian-binary') throw new DebFormatError("first ar member must be 'debian-binary'");
  const version = buf.subarray(first.offset, first.offset + Math.min(first.size, 16)).toString('latin1');
  if (!/^2\.[0-9]+\n/.test(version)) throw new DebFormatError(`unsupported package format version '${version.trim()}'`);
  const rest = members.slice(1).filter((m) => !m.name.startsWith('_'));
  const control = rest[0];
  const data = rest[1];
  if (!control || !/^control\.tar(\.(gz|xz|zst))?$/.test(control.name)) throw new DebFormatError('second ar member must be control.tar[.gz|.xz|.zst]');
  if (!data || !/^data\.tar(\.(gz|xz|zst))?$/.test(data.name)) throw new DebFormatError('third ar member must be data.tar[.gz|.xz|.zst]');
  const meter = new UnpackMeter(limits, buf.length);
  const bytes = (m: ArMember): Buffer => buf.subarray(m.offset, m.offset + m.size);
  const stream = (m: ArMember): Readable => Readable.from([bytes(m)], { objectMode: false });
  /** The member unpacked, or undefined when it unpacks past IN_MEMORY_UNPACK (then it is streamed). */
  const unpack = async (m: ArMember): Promise<Buffer | undefined> => {
    const bound = Math.min(IN_MEMORY_UNPACK, meter.remaining);
    try {
      const out = await decompressBounded(kindFromMemberName(m.name)!, bytes(m), bound);
      if (out === undefined && bound < IN_MEMORY_UNPACK) throw meter.exceeded();
      if (out !== undefined) meter.add(out.length);
      return out;
    } catch (err) {
      throw named(m.name, err);
    }
  };

  const controlTar = await unpack(control);
  let result: ControlArchive;
  if (controlTar === undefined) result = await readControlTar(control.name, stream(control), meter);
  else {
    const files = new Map<string, string>();
    try {
      for (const e of readTarBuffer(controlTar)) {
        const unsafe = unsafeControlPath(control.name, e.path);
        if (unsafe) throw unsafe;
        const name = e.path.replace(/^\.\//, '');
        if (e.type === 'file' && !name.includes('/') && name !== '') files.set(name, e.data.toString('utf8'));
      }
    } catch (err) {
      throw named(control.name, err);
    }
    result = controlFromFiles(files);
  }
  // Walk every data.tar entry: a corrupt payload is refused now, not on the node.
  const dataTar = await unpack(data);
  const rules = new DataArchiveRules();
  if (dataTar === undefined) await walkTar(data.name, stream(data), meter, async (e) => ruled(data.name, rules, e));
  else {
    try {
      checkTarBuffer(dataTar);
      for (const e of readTarBuffer(dataTar)) {
        meter.addEntry();
        ruled(data.name, rules, e);
      }
    } catch (err) {
      throw named(data.name, err);
    }
  }
  return result;
}
