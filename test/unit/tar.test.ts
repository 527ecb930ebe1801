import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTarBuffer, decodeNumber, encodeHeader, endOfArchive, paddingFor, readTarBuffer, TarFormatError, type TarHeader } from '../../deb/tar.js';
import { sh } from '../support/project.js';

const base = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 1700000000 };

function file(path: string, content: string): Buffer[] {
  const data = Buffer.from(content);
  return [encodeHeader({ ...base, path, type: 'file', mode: 0o644, size: data.length }), data, paddingFor(data.length)];
}

async function gnuTarList(parts: Buffer[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tar-test-'));
  try {
    await writeFile(join(dir, 'a.tar'), Buffer.concat([...parts, endOfArchive()]));
    const { stdout } = await sh(`tar --numeric-owner -tvf ${join(dir, 'a.tar')}`);
    return stdout.trim().split('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Typeflags of every header block in an archive (walking sizes), to prove no PAX record is written. */
function typeflags(archive: Buffer): string[] {
  const flags: string[] = [];
  let off = 0;
  while (off + 512 <= archive.length) {
    const block = archive.subarray(off, off + 512);
    if (block.every((b) => b === 0)) break;
    flags.push(String.fromCharCode(block[156]!));
    const size = decodeNumber(block.subarray(124, 136));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return flags;
}

test('short names use the name field only, with a valid checksum', () => {
  const h = encodeHeader({ ...base, path: './usr/bin/app', type: 'file', mode: 0o755, size: 10 });
  assert.is(h.length, 512);
  assert.is(h.subarray(0, 13).toString(), './usr/bin/app');
  assert.is(h.subarray(257, 265).toString('latin1'), 'ustar\u000000');
  const stored = parseInt(h.subarray(148, 154).toString(), 8);
  const copy = Buffer.from(h);
  copy.fill(0x20, 148, 156);
  assert.is(stored, copy.reduce((s, b) => s + b, 0));
});

test('101..255-byte names split into ustar prefix + name; longer ones use a GNU L record', async () => {
  const mid = `./${'d'.repeat(120)}/${'f'.repeat(90)}`;
  const midHeader = encodeHeader({ ...base, path: mid, type: 'file', mode: 0o644, size: 0 });
  assert.is(midHeader.length, 512, 'fits with prefix: one block');
  const long = `./${'a/'.repeat(150)}${'x'.repeat(200)}.txt`;
  const longHeader = encodeHeader({ ...base, path: long, type: 'file', mode: 0o644, size: 0 });
  assert.is(String.fromCharCode(longHeader[156]!), 'L');
  const listing = await gnuTarList([...file(mid, ''), ...file(long, 'x')]);
  assert.ok(listing[0]!.endsWith(mid), listing[0]);
  assert.ok(listing[1]!.endsWith(long), listing[1]);
});

test('non-ASCII names and long link targets never produce PAX headers', async () => {
  const parts = [
    ...file('./usr/share/ünïcödé/日本語.txt', 'hi'),
    encodeHeader({ ...base, path: './usr/lib/link', type: 'symlink', mode: 0o777, size: 0, linkTarget: `/opt/${'t'.repeat(150)}/target` }),
    encodeHeader({ ...base, path: `./${'é'.repeat(140)}`, type: 'directory', mode: 0o755, size: 0 }),
  ];
  const archive = Buffer.concat(parts);
  const flags = typeflags(archive);
  assert.not.ok(flags.includes('x') || flags.includes('g'), `flags: ${flags.join(',')}`);
  assert.equal(flags, ['0', 'K', '2', 'L', '5']);
  const listing = await gnuTarList(parts);
  assert.ok(listing[0]!.endsWith('./usr/share/ünïcödé/日本語.txt'), listing[0]);
  assert.ok(listing[1]!.endsWith(`./usr/lib/link -> /opt/${'t'.repeat(150)}/target`), listing[1]);
  assert.ok(listing[2]!.endsWith(`./${'é'.repeat(140)}/`), listing[2]);
});

test('sizes over 8 GiB use GNU base-256 and decode back', () => {
  const size = 9 * 1024 ** 3 + 123;
  const h = encodeHeader({ ...base, path: './big', type: 'file', mode: 0o644, size });
  assert.is(h[124], 0x80);
  assert.is(decodeNumber(h.subarray(124, 136)), size);
  const small = encodeHeader({ ...base, path: './s', type: 'file', mode: 0o644, size: 8 ** 11 - 1 });
  assert.is(small.subarray(124, 136).toString('latin1'), '77777777777\u0000');
});

test('GNU tar reads a >8 GiB entry header as the right size', async () => {
  // Only the header is checked (tar -tv reads it before the body): streaming 8 GiB would be slow.
  const size = 8 * 1024 ** 3 + 1;
  const h = encodeHeader({ ...base, path: './huge.bin', type: 'file', mode: 0o644, size });
  const dir = await mkdtemp(join(tmpdir(), 'tar-big-'));
  try {
    await writeFile(join(dir, 'h.tar'), h);
    const r = await sh(`tar --numeric-owner -tvf ${join(dir, 'h.tar')} 2>&1`, { allowFail: true });
    assert.match(r.stdout, new RegExp(`0/0\\s+${size}\\s`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses what cannot be encoded', () => {
  assert.throws(() => encodeHeader({ ...base, path: './l', type: 'symlink', mode: 0o777, size: 0 }), (e: unknown) => e instanceof TarFormatError);
  assert.throws(() => encodeHeader({ ...base, path: './d', type: 'directory', mode: 0o755, size: 5 }), (e: unknown) => e instanceof TarFormatError);
  assert.throws(() => encodeHeader({ ...base, uname: 'u'.repeat(40), path: './f', type: 'file', mode: 0o644, size: 0 } as TarHeader), (e: unknown) => e instanceof TarFormatError);
});

test('readTarBuffer reads what we write and what GNU tar writes in PAX and GNU formats', async () => {
  const long = `./${'dir/'.repeat(70)}${'é'.repeat(30)}.txt`;
  const ours = Buffer.concat([...file('./a', 'hello'), ...file(long, 'deep'), endOfArchive()]);
  const read = [...readTarBuffer(ours)].map((m) => [m.path, m.data.toString()]);
  assert.equal(read, [['./a', 'hello'], [long, 'deep']]);
  const dir = await mkdtemp(join(tmpdir(), 'tar-read-'));
  try {
    const name = `${'n'.repeat(120)}/${'m'.repeat(120)}.txt`;
    await sh(`mkdir -p ${dir}/src/${'n'.repeat(120)} && printf pax > ${dir}/src/${name}`);
    for (const format of ['pax', 'gnu']) {
      await sh(`cd ${dir}/src && tar --format=${format} -cf ${dir}/${format}.tar ${name}`);
      const members = [...readTarBuffer(await readFile(join(dir, `${format}.tar`)))];
      assert.equal(members.map((m) => [m.path, m.data.toString()]), [[name, 'pax']], format);
      checkTarBuffer(await readFile(join(dir, `${format}.tar`)));
    }
    checkTarBuffer(ours);
    // Headers are summed a word at a time when aligned, byte by byte when not: same answers.
    for (const shift of [1, 2, 3, 4]) {
      const shifted = Buffer.alloc(ours.length + shift);
      ours.copy(shifted, shift);
      const view = shifted.subarray(shift);
      assert.equal([...readTarBuffer(view)].map((m) => m.path), ['./a', long], `shift ${shift}`);
      checkTarBuffer(view);
      const bad = Buffer.from(view);
      bad[300] = (bad[300]! + 1) & 0xff;
      const badView = Buffer.alloc(bad.length + shift);
      bad.copy(badView, shift);
      assert.throws(() => checkTarBuffer(badView.subarray(shift)), (e: unknown) => e instanceof TarFormatError, `shift ${shift}`);
    }
    // The structural check refuses what the full reader refuses.
    const truncated = ours.subarray(0, 700);
    const cut = ours.subarray(0, 512 + 100); // a header whose data runs past the end
    const corrupt = Buffer.from(ours);
    corrupt[10] = 0x41;
    const badSize = Buffer.concat([...file('./a', 'hello'), endOfArchive()]);
    badSize.write('9', 124, 'latin1'); // not an octal digit (checksum fixed below)
    badSize.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += badSize[i]!;
    badSize.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
    for (const [label, bad] of [['truncated', truncated], ['cut', cut], ['corrupt', corrupt], ['bad size', badSize]] as const) {
      assert.throws(() => [...readTarBuffer(bad)], (e: unknown) => e instanceof TarFormatError, `read ${label}`);
      assert.throws(() => checkTarBuffer(bad), (e: unknown) => e instanceof TarFormatError, `check ${label}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
