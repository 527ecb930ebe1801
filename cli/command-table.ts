// The top-level commands and the module that declares each, loaded on demand (cli/main.ts).
// No static imports: listing the names costs nothing (cli/write-help.ts reads them too).

import type { Argv } from 'yargs';

type Registrar = (y: Argv) => Argv;

/** Top-level command names (aliases included) → the module that declares them. */
export const COMMANDS: { names: string[]; load: () => Promise<Registrar> }[] = [
  { names: ['build', 'package', 'pkg'], load: async () => (await import('./commands/build.js')).buildCommand },
  { names: ['inspect'], load: async () => (await import('./commands/inspect.js')).inspectCommand },
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).serveCommand },
  { names: ['upload'], load: async () => (await import('./commands/upload.js')).uploadCommand },
  { names: ['repo'], load: async () => (await import('./commands/repo.js')).repoCommand },
  { names: ['snapshot'], load: async () => (await import('./commands/snapshot.js')).snapshotCommand },
  { names: ['publish'], load: async () => (await import('./commands/publish.js')).publishCommand },
  { names: ['swap', 'rollback', 'status', 'lb'], load: async () => (await import('./commands/color.js')).colorCommands },
  { names: ['agent'], load: async () => (await import('./commands/agent.js')).agentCommand },
];

/** The command modules `argv` needs: the one its first word names, else all of them. */
export function commandsFor(argv: string[]): { names: string[]; load: () => Promise<Registrar> }[] {
  const first = argv.find((a) => !a.startsWith('-'));
  const named = first === undefined ? undefined : COMMANDS.find((c) => c.names.includes(first));
  return named ? [named] : COMMANDS;
}

/** Every top-level command name, aliases included. */
export const COMMAND_NAMES: string[] = COMMANDS.flatMap((c) => c.names);
