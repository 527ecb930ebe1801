// The dashboard's access to the API: JSON calls and the live event stream, both with the token
// from sessionStorage as a Bearer header. EventSource cannot send headers, so the stream is read
// with fetch() and parsed here; it reconnects after a cut (a slow tab, a server restart).

export const TOKEN_KEY = 'debpkg-token';

const auth = (): Record<string, string> => ({ authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}` });

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly body: Record<string, unknown>) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const form = body instanceof FormData;
  const res = await fetch(path, {
    method,
    headers: { ...auth(), ...(body !== undefined && !form ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: form ? body : JSON.stringify(body) } : {}),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(typeof json.error === 'string' ? json.error : `HTTP ${res.status}`, res.status, json);
  return json as T;
}

export type EventHandler = (event: string, data: unknown) => void;

/**
 * Reads text/event-stream from `path` until `signal` aborts, calling `onEvent` per event and
 * `onState` with whether the stream is live; reconnects after the server's retry delay.
 */
export async function streamEvents(path: string, onEvent: EventHandler, onState: (live: boolean) => void, signal: AbortSignal): Promise<void> {
  let retry = 2000;
  while (!signal.aborted) {
    try {
      const res = await fetch(path, { headers: auth(), signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
            else if (line.startsWith('retry: ')) retry = Number(line.slice(7)) || retry;
          }
          if (data.length) onEvent(event, JSON.parse(data.join('\n')));
        }
      }
    } catch {
      // cut, refused or aborted: shown as not live, retried below unless aborted
    }
    onState(false);
    if (signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}
