// One JSON API call as the tests make it: bearer token, JSON, FormData or raw bytes as the body,
// the answer's status, text and (when it parses) JSON. Shared by the in-process and the
// child-process test servers.

export interface ApiAnswer {
  status: number;
  json: unknown;
  text: string;
}

export async function apiCall(baseUrl: string, method: string, path: string, body: unknown, token: string | null): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | Buffer | FormData | undefined;
  if (body instanceof FormData) payload = body;
  else if (Buffer.isBuffer(body)) {
    headers['content-type'] = 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  return answerOf(await fetch(`${baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) }));
}

/** A response's status, text and (when it parses) JSON. */
export async function answerOf(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}
