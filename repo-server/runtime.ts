// How the repo server's process is started so that its memory stays bounded (docs/repo-server.md,
// Limits and hardening). Measured with the fuzzer (2,000 cases): the default glibc malloc gives
// each thread (libuv's pool, the inspection worker, V8's helpers) an arena of its own and RSS
// crept from ~100 MB to over 300 MB; V8's default 16 MiB semi-spaces (per isolate) added tens of
// MB more. Both are process-start settings: node cannot change them once running, so `npm start`,
// the systemd unit and the test harnesses launch `serve` with these.

/** Environment for the server process. */
export const SERVE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** node flags for the server process (before the script path). */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Why the memory bound may not hold for this process, or undefined when it is started as above. */
export function untunedRuntime(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): string | undefined {
  const missing = [
    ...Object.entries(SERVE_ENV).filter(([k, v]) => env[k] !== v).map(([k, v]) => `${k}=${v}`),
    ...SERVE_NODE_FLAGS.filter((f) => !execArgv.includes(f) && !(env.NODE_OPTIONS ?? '').split(/\s+/).includes(f)),
  ];
  return missing.length > 0 ? `started without ${missing.join(' ')}: the documented memory bound assumes them (npm start sets them)` : undefined;
}
