// Starting a suite's services at once with Promise.all loses the ones that started when another
// fails: nothing is assigned, so the suite's after hook cannot stop them, and their processes
// (or listening sockets) kept Node, and the CI, waiting (seen: an etcd cluster left by a
// radosgw that failed to start). startAll starts them together and, if one fails, stops those
// that did start before throwing the first failure.

type Stoppable = { stop(): Promise<unknown> } | { close(): Promise<unknown> } | { destroy(): Promise<unknown> };

const stopIt = (x: Stoppable): Promise<unknown> => ('stop' in x ? x.stop() : 'close' in x ? x.close() : x.destroy());

export async function startAll<T extends readonly Promise<Stoppable>[] | []>(starts: T): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }> {
  const settled = (await Promise.allSettled(starts)) as PromiseSettledResult<Stoppable>[];
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failures.length === 0) return started as { -readonly [P in keyof T]: Awaited<T[P]> };
  await Promise.all(started.map((x) => stopIt(x).catch(() => undefined)));
  throw failures[0];
}
