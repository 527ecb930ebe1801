// The heartbeat bench's load generator connection (bench/heartbeat-bench.ts): pipelined
// HTTP/1.1 requests from pre-rendered bytes on one keep-alive socket, answers matched in order.

import { connect, type Socket } from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const LENGTH = Buffer.from('\r\ncontent-length:');

/** A response head's Content-Length (the servers write the name in lower case; any case is read). */
function contentLength(buf: Buffer, headEnd: number): number {
  let at = buf.indexOf(LENGTH);
  if (at < 0 || at > headEnd) {
    const m = /\r\ncontent-length: *([0-9]+)/i.exec(buf.subarray(0, headEnd).toString('latin1'));
    return Number(m?.[1] ?? 0);
  }
  at += LENGTH.length;
  while (buf[at] === 0x20) at++;
  let n = 0;
  while (buf[at]! >= 48 && buf[at]! <= 57) n = n * 10 + buf[at++]! - 48;
  return n;
}

/**
 * Heartbeats over a few keep-alive connections per server, HTTP/1.1-pipelined from pre-rendered
 * bytes: node's http client costs about as much CPU per request as the server does, so on a
 * shared 2-core host it, not the server, would set the pace (measured: 30 s "latencies" at
 * 4 % server CPU). Answers come back in order per connection; each is matched to its send time.
 */
export class Pipe {
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private inflight: ((status: number) => void)[] = [];
  /** Connections the server closed under this pipe (each reopened, as an agent's next curl would). */
  closed = 0;
  constructor(private readonly url: URL) {
    this.socket = this.connect();
  }
  private connect(): Socket {
    const socket = connect(Number(this.url.port), this.url.hostname);
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.read(d));
    socket.on('error', () => this.fail(socket));
    socket.on('close', () => this.fail(socket));
    return socket;
  }
  get depth(): number {
    return this.inflight.length;
  }
  send(bytes: Buffer): Promise<number> {
    if (this.socket.destroyed) this.socket = this.connect();
    return new Promise((resolve) => {
      this.inflight.push(resolve);
      this.socket.write(bytes);
    });
  }
  private read(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const head = this.buf.indexOf(HEAD_END);
      if (head < 0) return;
      const len = contentLength(this.buf, head);
      if (this.buf.length < head + 4 + len) return;
      // "HTTP/1.1 200 …": the status is bytes 9–11.
      const status = (this.buf[9]! - 48) * 100 + (this.buf[10]! - 48) * 10 + (this.buf[11]! - 48);
      this.buf = this.buf.subarray(head + 4 + len);
      this.inflight.shift()?.(status);
    }
  }
  /** The server closed the connection (e.g. its headers timeout): what it had not answered fails. */
  private fail(socket: Socket): void {
    if (socket !== this.socket || this.closedSeen.has(socket)) return;
    this.closedSeen.add(socket);
    this.closed++;
    socket.destroy();
    this.buf = Buffer.alloc(0);
    for (const r of this.inflight.splice(0)) r(0);
  }
  private readonly closedSeen = new WeakSet<Socket>();
  close(): void {
    this.closedSeen.add(this.socket);
    this.socket.destroy();
  }
}
