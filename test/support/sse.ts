// A test's text/event-stream reader over fetch() (as the dashboard reads it: the token in the
// Authorization header). Collects parsed events and comment lines; `next` waits for one.

export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private readonly abort = new AbortController();
  private waiters: Array<() => void> = [];

  private constructor(readonly status: number, readonly contentType: string) {}

  static async open(url: string, token: string | null): Promise<SseReader> {
    const ctl = new AbortController();
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ctl.signal });
    const r = new SseReader(res.status, res.headers.get('content-type') ?? '');
    r.abort.signal.addEventListener('abort', () => ctl.abort());
    if (res.ok && res.body) void r.pump(res.body);
    else {
      await res.text().catch(() => undefined);
      r.ended = true;
    }
    return r;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body) {
        buf += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) this.events.push({ event, data: JSON.parse(data.join('\n')) as unknown });
          this.wake();
        }
      }
    } catch {
      // aborted by close(), or cut by the server
    }
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds for the collected state, or throws after `timeoutMs`. */
  async until<T>(what: string, pred: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${this.events.map((e) => e.event).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first event named `event` after index `from` that satisfies `pred`. */
  next<T = unknown>(event: string, pred: (data: T) => boolean = () => true, from = 0, timeoutMs = 5000): Promise<T> {
    return this.until(`event '${event}'`, () => {
      const e = this.events.slice(from).find((x) => x.event === event && pred(x.data as T));
      return e ? { v: e.data as T } : undefined;
    }, timeoutMs).then((x) => x.v);
  }

  close(): void {
    this.abort.abort();
  }
}
