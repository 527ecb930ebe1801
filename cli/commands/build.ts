// debpkg build [--config FILE] [--output DIR] [--json]

import type { Argv } from 'yargs';

export interface BuildArgs {
  config: string;
  output: string;
  json: boolean;
}

export function buildCommand(y: Argv): Argv {
  return y.command<BuildArgs>(
    'build',
    'Build a .deb from a spec (nfpm field names)',
    (a) =>
      a
        .option('config', { alias: 'f', type: 'string', default: 'debpkg.yaml', describe: 'spec file' })
        .option('output', { alias: 'o', type: 'string', default: '.', describe: 'directory for the .deb' })
        .option('json', { type: 'boolean', default: false, describe: 'print the package metadata as JSON' }) as Argv<BuildArgs>,
    async (args) => {
      // Loaded here, not at start-up: every other command stays quick to start.
      const [{ buildPackage }, { loadSpec }, { payloadProgress }] = await Promise.all([
        import('../../builder/builder.js'),
        import('../../builder/spec.js'),
        import('../progress.js'),
      ]);
      const loaded = await loadSpec(args.config);
      const result = await buildPackage(loaded, { outputDir: args.output, onPayload: payloadProgress('data.tar'), digests: args.json });
      if (args.json) {
        const { control, ...rest } = result;
        process.stdout.write(`${JSON.stringify({ ...rest, control }, null, 2)}\n`);
      } else {
        process.stderr.write(`built ${result.package} ${result.version} (${result.architecture}), ${result.size} bytes\n`);
        process.stdout.write(`${result.path}\n`);
      }
    },
  );
}
