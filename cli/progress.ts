// A progress bar on stderr for large payloads on a terminal; nothing otherwise.
// cli-progress is required only when a bar is drawn: most builds (small, or not on a terminal)
// never need it, and loading it is start-up time.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const THRESHOLD = 64 << 20;

export function payloadProgress(label: string): (total: number) => ((bytes: number) => void) | undefined {
  return (total) => {
    if (!process.stderr.isTTY || total < THRESHOLD) return undefined;
    const cliProgress = require('cli-progress') as typeof import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {percentage}% {value}/{total} MiB`, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    const mib = (n: number): number => Math.round(n / (1 << 20));
    bar.start(mib(total), 0);
    let done = 0;
    return (bytes) => {
      done += bytes;
      bar.update(mib(done));
      if (done >= total) bar.stop();
    };
  };
}
