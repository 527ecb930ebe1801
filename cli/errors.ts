// Exit codes and error printing shared by every command.

import { SpecError } from '../builder/spec-error.js';

export const EXIT = {
  ok: 0,
  /** Something failed while doing the work (I/O, a tool, the server). */
  failure: 1,
  /** The input was wrong: the spec, a flag, a file that is not a package. */
  badInput: 2,
  /** A swap or rollback was refused by its health gate; traffic is unchanged. */
  refused: 3,
} as const;

export class UsageError extends Error {}

export function exitCodeFor(err: unknown): number {
  if (err instanceof SpecError || err instanceof UsageError) return EXIT.badInput;
  if (typeof err === 'object' && err !== null && 'exitCode' in err && typeof err.exitCode === 'number') return err.exitCode;
  return EXIT.failure;
}

export function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`debpkg: error: ${message}\n`);
  if (process.env.DEBPKG_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}
