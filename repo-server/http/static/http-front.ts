// The raw front of the HTTP server: the one request shape an apt repository sees most — a plain
// HTTP/1.1 GET or HEAD of a small published file, on a keep-alive connection — answered from
// FastStatic's memory cache without node:http's parser and response objects (which cost more
// than the answer itself: one process did ~35k req/s through node:http and ~85k this way).
//
// The front only reads request heads it fully understands. At the first request it does not
// (another method, a body, Range, HTTP/1.0, Connection: close, an odd header, a file not in the
// cache, an API call), it hands the connection to node:http for good, with the unread bytes put
// back: node:http then parses that request itself, byte for byte, and answers or rejects it as it
// would have without the front. Responses already written go first, so pipelining keeps order.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { notModified } from './conditional.js';
import type { CachedFile, FastStatic } from './fast-static.js';

/** Heads larger than this are node:http's business (its own limit is 16 KiB). */
const MAX_HEAD = 8 << 10;
const MAX_HEADER_LINES = 64;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface RequestHead {
  method: 'GET' | 'HEAD';
  target: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/**
 * Parses one request head (`text` ends before its blank line). Undefined when the request is
 * anything but a plain body-less HTTP/1.1 GET/HEAD that keeps the connection open.
 */
export function parseSimpleHead(text: string): RequestHead | undefined {
  const lines = text.split('\r\n');
  if (lines.length > MAX_HEADER_LINES) return undefined;
  const m = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/.exec(lines[0]!);
  if (!m) return undefined;
  const head: RequestHead = { method: m[1] as 'GET' | 'HEAD', target: m[2]! };
  let host = 0;
  let contentLength = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    // No obs-fold, no bare CR/LF, no control bytes: node:http decides what those mean.
    if (colon <= 0 || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return undefined;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined;
    // Only SP and HTAB are optional whitespace (String.trim would also take U+00A0 and others).
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    switch (name.toLowerCase()) {
      case 'host':
        host++;
        break;
      case 'if-none-match':
        if (head.ifNoneMatch !== undefined) return undefined;
        head.ifNoneMatch = value;
        break;
      case 'if-modified-since':
        if (head.ifModifiedSince !== undefined) return undefined;
        head.ifModifiedSince = value;
        break;
      case 'connection':
        if (value.toLowerCase() !== 'keep-alive') return undefined;
        break;
      case 'content-length':
        if (value !== '0' || contentLength++ > 0) return undefined;
        break;
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      case 'range':
      case 'if-range':
      case 'if-match':
      case 'if-unmodified-since':
        return undefined;
    }
  }
  // HTTP/1.1 requires exactly one Host; node:http answers the others with 400.
  return host === 1 ? head : undefined;
}

/** The date line, rebuilt once a second. */
let dateSecond = -1;
let dateLine = '';
function currentDateLine(): string {
  const s = Math.floor(Date.now() / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = `date: ${new Date(s * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/**
 * A connection the front holds: the sweep tick of its last activity, bytes flushed by then, and
 * the tick at which a request head still incomplete began arriving (slow heads are cut off as
 * node:http's headersTimeout would).
 */
interface Held {
  tick: number;
  flushed: number;
  headSince: number | undefined;
}

export interface HttpFront {
  /** Connections the front still holds (not handed to node:http). */
  readonly connections: number;
}

/**
 * Puts the front before `server`'s own connection handling. Call before `listen`. Closing the
 * server ends the front's idle connections (node:http ends its own).
 */
export function installHttpFront(server: Server, fast: FastStatic): HttpFront {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const held = new Map<Socket, Held>();
  let closing = false;
  // Idle connections are ended by a once-a-second sweep: a socket timeout would re-arm a timer on
  // every read and write, which cost ~20% of the request rate.
  let tick = 0;
  const idleTicks = Math.max(1, Math.ceil(server.keepAliveTimeout / 1000));
  const headTicks = Math.max(1, Math.ceil((server.headersTimeout || 60_000) / 1000));
  const sweep = setInterval(() => {
    tick++;
    for (const [s, seen] of held) {
      if (seen.headSince !== undefined && tick - seen.headSince > headTicks) {
        s.destroy();
        continue;
      }
      // A long answer still going out to a slow reader is activity too.
      const flushed = s.bytesWritten - s.writableLength;
      if (flushed !== seen.flushed) {
        seen.flushed = flushed;
        seen.tick = tick;
      } else if (tick - seen.tick > idleTicks) s.destroy();
    }
  }, 1000);
  sweep.unref();
  const keepAlive = (): string => `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(server.keepAliveTimeout / 1000)}\r\n`;
  /** The header lines of a 200/304 after the date (the same as FastStatic.send writes). */
  const tails = new WeakMap<CachedFile, { ok: string; notModified: string }>();
  const tailOf = (f: CachedFile): { ok: string; notModified: string } => {
    let t = tails.get(f);
    if (!t) {
      const common = `content-type: ${f.contentType}\r\netag: ${f.etag}\r\nlast-modified: ${f.lastModified}\r\naccept-ranges: bytes\r\n${keepAlive()}`;
      t = { ok: `${common}content-length: ${f.body.length}\r\n\r\n`, notModified: `${common}\r\n` };
      tails.set(f, t);
    }
    return t;
  };

  function onError(this: Socket): void {
    this.destroy();
  }

  const handOver = (socket: Socket, unread: Buffer | undefined): void => {
    held.delete(socket);
    // Paused first: a flowing stream without a data listener would keep the unread bytes
    // buffered until more arrive, and node:http's listener would not restart the flow.
    socket.pause();
    socket.removeAllListeners('data');
    socket.removeListener('error', onError);
    if (unread && unread.length > 0) socket.unshift(unread);
    for (const h of handlers) h.call(server, socket);
    socket.resume();
  };

  const onConnection = (socket: Socket): void => {
    if (closing) {
      for (const h of handlers) h.call(server, socket);
      return;
    }
    const seen: Held = { tick, flushed: 0, headSince: undefined };
    held.set(socket, seen);
    socket.setNoDelay(true);
    socket.on('error', onError);
    socket.once('close', () => held.delete(socket));
    let pending: Buffer | undefined;

    /** Answers every complete request in `pending`; false once the socket left the front. */
    const drainRequests = (): boolean => {
      while (pending !== undefined) {
        const buf = pending;
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buf.length > MAX_HEAD) {
            pending = undefined;
            handOver(socket, buf);
            return false;
          }
          seen.headSince ??= tick;
          return true;
        }
        seen.headSince = undefined;
        const head = end <= MAX_HEAD ? parseSimpleHead(buf.toString('latin1', 0, end)) : undefined;
        const file = head && !closing ? fast.lookup(head.target) : undefined;
        if (!head || !file) {
          pending = undefined;
          handOver(socket, buf);
          return false;
        }
        pending = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
        const fresh = notModified({ 'if-none-match': head.ifNoneMatch, 'if-modified-since': head.ifModifiedSince }, file.etag, file.mtimeMs);
        const t = tailOf(file);
        socket.cork();
        let more: boolean;
        if (fresh) more = socket.write(`HTTP/1.1 304 Not Modified\r\n${currentDateLine()}${t.notModified}`, 'latin1');
        else {
          more = socket.write(`HTTP/1.1 200 OK\r\n${currentDateLine()}${t.ok}`, 'latin1');
          if (head.method === 'GET' && file.body.length > 0) more = socket.write(file.body);
        }
        socket.uncork();
        if (!more) {
          // The client is not reading: stop reading and parsing until what was written is taken
          // (or a client sending one request per packet would queue answers without bound).
          socket.pause();
          socket.once('drain', () => {
            socket.resume();
            drainRequests();
          });
          return true;
        }
      }
      return true;
    };

    // The client half-closed: answers already queued go out, then the connection ends (a
    // partial request head left is dropped, as node:http drops it with a 400).
    socket.once('end', () => {
      if (held.has(socket)) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      seen.tick = tick;
      pending = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      if (socket.isPaused()) return; // waiting for drain: parsed after it
      drainRequests();
    });
  };
  server.on('connection', onConnection);

  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    closing = true;
    clearInterval(sweep);
    // Between requests a held connection is idle: end it. One still sending gets a few seconds
    // to finish, and is no longer read from (nothing is handed over after the end).
    for (const s of held.keys()) {
      if (s.writableLength === 0) s.destroy();
      else {
        s.removeAllListeners('data');
        s.end();
        setTimeout(() => s.destroy(), 5000).unref();
      }
    }
    held.clear();
    return close(cb);
  }) as Server['close'];

  return {
    get connections() {
      return held.size;
    },
  };
}
