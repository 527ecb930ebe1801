// debpkg build [-f FILE] [-o DIR/|FILE.deb] [--strict-env] [--json], and nfpm's form of the same:
// debpkg package -p deb [-f nfpm.yaml] [-t DIR/|FILE]. Both share the runner below; `package`
// keeps nfpm's habits (nfpm.yaml first, paths from the current directory, a target that is not
// a directory is the file to write).

import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';

interface CommonArgs {
  config?: string;
  'strict-env': boolean;
  'base-dir'?: string;
  json: boolean;
}

export interface BuildArgs extends CommonArgs {
  output?: string;
}

export interface PackageArgs extends CommonArgs {
  target?: string;
  packager?: string;
}

interface RunOptions {
  config: string;
  /** A directory for <name>_<version>_<arch>.deb, or the file to write. */
  output: { dir: string } | { file: string };
  baseDir?: string;
  strictEnv: boolean;
  json: boolean;
}

const BUILD_DEFAULTS = ['debpkg.yaml', 'nfpm.yaml', 'nfpm.yml'];
const PACKAGE_DEFAULTS = ['nfpm.yaml', 'nfpm.yml', 'debpkg.yaml'];
/** Config file names that mean nfpm's conventions. */
const NFPM_NAMES = /^nfpm\.ya?ml$/;

function findConfig(given: string | undefined, candidates: string[]): string {
  if (given !== undefined) return given;
  const found = candidates.find((name) => existsSync(name));
  if (!found) throw new UsageError(`no spec given and none of ${candidates.join(', ')} is in ${process.cwd()}: pass -f FILE`);
  return found;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** -o out/ or an existing directory: a directory; -o x.deb (or, for nfpm's -t, any other name): that file. */
function outputOf(value: string | undefined, nonDebNameIsFile: boolean): RunOptions['output'] {
  if (value === undefined || value === '') return { dir: '.' };
  if (value.endsWith('/') || isDirectory(value)) return { dir: value };
  if (extname(value) === '.deb' || nonDebNameIsFile) return { file: value };
  return { dir: value };
}

const common = <T>(a: Argv<T>): Argv<T & CommonArgs> =>
  a
    .option('strict-env', { type: 'boolean', default: false, describe: 'an unset ${VAR} is an error (nfpm: empty)' })
    .option('base-dir', { type: 'string', describe: 'directory relative paths in the spec start from' })
    .option('json', { type: 'boolean', default: false, describe: 'print the package metadata as JSON' }) as Argv<T & CommonArgs>;

/** `debpkg build`: from yargs, or from cli/build-argv.ts's parse when yargs is not needed. */
export async function runBuild(args: BuildArgs): Promise<void> {
  const config = findConfig(args.config, BUILD_DEFAULTS);
  // An nfpm config means nfpm's paths (from the current directory: `debpkg build -f
  // packaging/nfpm.yaml` run from the project root); a debpkg spec's start at its directory.
  const baseDir = args['base-dir'] ?? (NFPM_NAMES.test(basename(config)) ? process.cwd() : undefined);
  await run({
    config,
    output: outputOf(args.output, false),
    ...(baseDir !== undefined ? { baseDir } : {}),
    strictEnv: args['strict-env'],
    json: args.json,
  });
}

export function buildCommand(y: Argv, onBuild: (args: BuildArgs) => Promise<void> = runBuild, onPackage: (args: PackageArgs) => Promise<void> = runPackage): Argv {
  y.command<BuildArgs>(
    'build',
    'Build a .deb from a spec (nfpm field names)',
    (a) =>
      common(
        a
          .option('config', { alias: 'f', type: 'string', describe: `spec file (default: the first of ${BUILD_DEFAULTS.join(', ')})` })
          .option('output', { alias: ['o', 't', 'target'], type: 'string', describe: 'directory for the .deb, or the .deb file to write' }),
      ) as Argv<BuildArgs>,
    onBuild,
  );
  return y.command<PackageArgs>(
    ['package', 'pkg'],
    "Build a .deb the nfpm way: debpkg package -p deb -f nfpm.yaml -t out/ (paths from the current directory)",
    (a) =>
      common(
        a
          .option('config', { alias: 'f', type: 'string', describe: `config file (default: the first of ${PACKAGE_DEFAULTS.join(', ')})` })
          .option('target', { alias: 't', type: 'string', describe: 'where to write the package: a directory, or the file name' })
          .option('packager', { alias: 'p', type: 'string', describe: 'packager: deb (the only one debpkg builds)' }),
      ) as Argv<PackageArgs>,
    onPackage,
  );
}

/** `debpkg package`: nfpm's command line over the same build (also run without yargs, cli/build-argv.ts). */
export async function runPackage(args: PackageArgs): Promise<void> {
  const target = args.target;
  const targetIsDir = target !== undefined && (target.endsWith('/') || isDirectory(target));
  // nfpm guesses the packager from the target's extension when -p is missing.
  const packager = args.packager ?? (target && !targetIsDir && extname(target) !== '' ? extname(target).slice(1) : undefined);
  if (packager === undefined) throw new UsageError('a packager must be given (-p deb) when the target is a directory or not given');
  if (packager !== 'deb') throw new UsageError(`debpkg builds only deb packages, not ${packager}: use -p deb`);
  await run({
    config: findConfig(args.config, PACKAGE_DEFAULTS),
    output: outputOf(target, true),
    baseDir: args['base-dir'] ?? process.cwd(),
    strictEnv: args['strict-env'],
    json: args.json,
  });
}

async function run(opts: RunOptions): Promise<void> {
  // Loaded here, not at start-up: every other command stays quick to start.
  const [{ buildPackage }, { loadSpec }, { payloadProgress }, { hostArch }] = await Promise.all([
    import('../../builder/builder.js'),
    import('../../builder/spec.js'),
    import('../progress.js'),
    import('../host-arch.js'),
  ]);
  const loaded = await loadSpec(opts.config, process.env, {
    strictEnv: opts.strictEnv,
    hostArch,
    ...(opts.baseDir !== undefined ? { baseDir: resolve(opts.baseDir) } : {}),
  });
  const result = await buildPackage(loaded, {
    outputDir: 'dir' in opts.output ? opts.output.dir : '.',
    ...('file' in opts.output ? { outputFile: opts.output.file } : {}),
    onPayload: payloadProgress('data.tar'),
    digests: opts.json,
  });
  // After the build, so a failing build still starts its output with the error.
  for (const note of loaded.notes) process.stderr.write(`debpkg: ${note}\n`);
  for (const warning of loaded.warnings) process.stderr.write(`debpkg: warning: ${warning.message}\n`);
  if (opts.json) {
    const { control, ...rest } = result;
    process.stdout.write(`${JSON.stringify({ ...rest, control }, null, 2)}\n`);
  } else {
    process.stderr.write(`built ${result.package} ${result.version} (${result.architecture}), ${result.size} bytes\n`);
    process.stdout.write(`${result.path}\n`);
  }
}
