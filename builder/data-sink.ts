// Where data.tar bytes go: straight into the .deb's file descriptor, compressed on the way.
// pigz, xz and zstd run as Debian's tools writing directly to the file (their output never
// passes through Node); without pigz, gzip runs as parallel zlib blocks in-process.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { CompressionError, type Compression } from '../deb/compression.js';
import { ParallelGzip } from '../deb/gzip-parallel.js';
import { writeFully } from '../lib/write-fully.js';

export interface DataSink {
  /** Resolves once the chunk is consumed, so its buffer may be reused. */
  write(chunk: Buffer): Promise<void>;
  /** Flushes everything; resolves when all bytes are in the file. */
  end(): Promise<void>;
  /** Stops early after an error elsewhere. */
  abort(): void;
}

/** Appends at the descriptor's current offset, one write at a time and in order. */
function sequentialWriter(fh: FileHandle): (chunk: Buffer) => Promise<void> {
  let tail: Promise<void> = Promise.resolve();
  return (chunk) => {
    const next = tail.then(async () => {
      await writeFully(fh, chunk);
    });
    tail = next;
    return next;
  };
}

/**
 * pigz when installed: it uses every core and its output does not depend on their number.
 * Otherwise the same block scheme runs in-process on zlib's thread pool.
 * DEBPKG_GZIP=zlib|pigz forces one (the two produce different, equally valid bytes).
 */
export function gzipEngine(): 'pigz' | 'zlib' {
  const forced = process.env.DEBPKG_GZIP;
  if (forced === 'pigz' || forced === 'zlib') return forced;
  cachedPigz ??= onPath('pigz');
  return cachedPigz ? 'pigz' : 'zlib';
}

let cachedPigz: boolean | undefined;

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(`${dir || '.'}/${command}`, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function openDataSink(compression: Compression, fh: FileHandle): DataSink {
  switch (compression.kind) {
    case 'none': {
      const write = sequentialWriter(fh);
      return { write, end: () => write(Buffer.alloc(0)), abort: () => undefined };
    }
    case 'gzip': {
      if (gzipEngine() === 'pigz') return toolSink('pigz', ['-c', '-n', `-${compression.level}`], fh);
      const gz = new ParallelGzip({ level: compression.level }, sequentialWriter(fh));
      return { write: (c) => gz.write(c), end: () => gz.end(), abort: () => undefined };
    }
    case 'xz':
      // A fixed block size makes -T0's output independent of the number of cores.
      return toolSink('xz', ['-z', '-c', `-${compression.level}`, '-T0', '--block-size=8MiB'], fh);
    case 'zstd':
      return toolSink('zstd', ['-c', '-q', `-${compression.level}`, '-T0'], fh);
  }
}

function toolSink(command: string, args: string[], fh: FileHandle): DataSink {
  // The child inherits the descriptor and writes from its current offset onwards.
  const child = spawn(command, args, { stdio: ['pipe', fh.fd, 'pipe'] });
  const stdin = child.stdin!;
  const errors = child.stderr!;
  let stderr = '';
  errors.setEncoding('utf8');
  errors.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      const pkg = command === 'xz' ? 'xz-utils' : command;
      reject(new CompressionError(`${command}: ${err.message}${err.code === 'ENOENT' ? ` (install it: apt-get install ${pkg})` : ''}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new CompressionError(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
  exited.catch(() => undefined);
  stdin.on('error', () => undefined); // EPIPE: the exit status says why
  return {
    // No per-write race against the exit promise: each would stay attached to it until the
    // tool exits (memory growing with the number of writes, then one thrown error per write).
    // A tool that dies fails the pending write (EPIPE or a destroyed stream); the exit status says why.
    write: (chunk) =>
      new Promise<void>((resolve, reject) =>
        stdin.write(chunk, (err) => {
          if (!err) return resolve();
          exited.then(() => reject(new CompressionError(`${command} exited before its input ended`)), reject);
        }),
      ),
    end: async () => {
      stdin.end();
      await exited;
    },
    abort: () => {
      child.kill();
    },
  };
}
