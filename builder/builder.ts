// spec → .deb: validate, normalise contents, render scripts and docs, stream data.tar,
// build control.tar, write the ar archive, rename into place.

import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { renderParagraph } from '../deb/control.js';
import { CompressionError, memberName, parseCompression, type Compression } from '../deb/compression.js';
import { versionWithoutEpoch } from '../deb/version.js';
import { parseMtime, resolveContents, type GeneratedFile } from './contents.js';
import { setFlagsFromString } from 'node:v8';
import { gzipControlTar, gzipControlTarSize, type ControlMember } from './control-tar.js';
import { openDataSink } from './data-sink.js';
import { installedSizeKiB, md5sumsMember, Md5Table, streamDataTar } from './data-tar.js';
import { controlSlotSize, fileDigest, writeDebFile } from './deb-file.js';
import { addColorSnippets, colorFiles, colorUnit, withAgentDepends } from './color.js';
import { buildChangelog, gzipDoc, renderCopyright } from './docs.js';
import { renderTriggers } from './deb-triggers.js';
import { archVariantField, debScriptMembers, parseUmask } from './deb-extras.js';
import { emptySnippets, renderMaintainerScripts } from './maintainer-scripts.js';
import { packageMetadata, type PackageMetadata } from './metadata.js';
import { SpecError } from './spec-error.js';
import type { Environment, LoadedSpec } from './spec.js';
import { addSystemdSnippets, systemdUnits } from './systemd.js';
import { render, shellQuote } from './templates.js';

export interface BuildOptions {
  outputDir: string;
  /** Write exactly this file instead of outputDir/<name>_<version>_<arch>.deb (nfpm's -t FILE). */
  outputFile?: string;
  env?: Environment;
  /** Called with the payload size before writing and with each chunk's length while writing. */
  onPayload?: (total: number) => ((bytes: number) => void) | undefined;
  /** Compute sha256/md5 of the finished package. */
  digests?: boolean;
}

export interface BuildResult {
  path: string;
  filename: string;
  package: string;
  version: string;
  architecture: string;
  size: number;
  /** Present when BuildOptions.digests is set (costs one more read of the package). */
  sha256?: string;
  md5?: string;
  installedSize: number;
  compression: Compression;
  conffiles: string[];
  files: number;
  control: string;
}

function resolveCompression(text: string | undefined): Compression {
  try {
    return parseCompression(text ?? 'gzip');
  } catch (err) {
    if (err instanceof CompressionError) throw new SpecError(['deb', 'compression'], err.message);
    throw err;
  }
}

/** SOURCE_DATE_EPOCH wins over everything but explicit file_info.mtime (reproducible builds). */
function sourceDateEpoch(env: Environment): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+$/.test(raw)) throw new SpecError([], `SOURCE_DATE_EPOCH='${raw}' is not a whole number of seconds`);
  return Number(raw);
}

/**
 * A build keeps its long-lived state off the JS heap (entry-store.ts, typed arrays and buffers);
 * what it allocates there lives for one file. V8 still grows the young generation from its 1 MiB
 * semi-spaces towards 16 MiB as survivors add up over a long run, which at 200,000 files was
 * ~25 MB of peak RSS for nothing. A growth factor of 1 keeps the semi-spaces at their start size
 * (read by V8 at every growth decision, so setting it at run time takes effect from then on:
 * hence on loading this module, before a spec is even read).
 */
setFlagsFromString('--semi-space-growth-factor=1');

export async function buildPackage(loaded: LoadedSpec, opts: BuildOptions): Promise<BuildResult> {
  const env = opts.env ?? process.env;
  try {
    return await build(loaded, opts, env);
  } catch (err) {
    throw err instanceof SpecError && !err.file ? loaded.locate(err) : err;
  }
}

async function build(loaded: LoadedSpec, opts: BuildOptions, env: Environment): Promise<BuildResult> {
  const { spec, baseDir } = loaded;
  const meta = packageMetadata(withAgentDepends(spec));
  const color = colorUnit(spec, meta);
  const compression = resolveCompression(spec.deb?.compression);
  const forced = sourceDateEpoch(env);
  const specMtime = spec.mtime !== undefined ? parseMtime(spec.mtime, ['mtime']) : undefined;
  const epoch = forced ?? specMtime ?? loaded.mtime;
  // before any work: a missing key or passphrase should not cost a whole build
  // (openpgp.js is loaded only for a spec that signs: it is a tenth of a second of start-up)
  const signature = spec.deb?.signature;
  const signer = signature && (await (await import('./deb-signature.js')).debSigner(signature, baseDir, env, epoch));

  // Generated files join contents[] in its one normalisation pass (parents, conffiles, order).
  const generated = async (): Promise<GeneratedFile[]> => {
    const units = await systemdUnits(spec.systemd ?? [], baseDir);
    const files: GeneratedFile[] = [
      ...(await documentation(meta, loaded, epoch)),
      ...units.map((u) => ({ path: u.path, data: u.data, origin: u.origin })),
      ...(color ? colorFiles(color) : []),
    ];
    if (spec.deb?.lintian_overrides?.length) {
      files.push({
        path: `/usr/share/lintian/overrides/${meta.name}`,
        data: Buffer.from(spec.deb.lintian_overrides.map((o) => `${meta.name}: ${o}\n`).join('')),
        origin: 'deb.lintian_overrides',
      });
    }
    return files;
  };
  const contents = await resolveContents(spec.contents ?? [], {
    baseDir,
    defaultMtime: epoch,
    ...(forced !== undefined ? { forcedMtime: forced } : specMtime !== undefined ? { forcedMtime: specMtime } : {}),
    ...(spec.disable_globbing ? { disableGlobbing: true } : {}),
    ...(spec.umask !== undefined ? { umask: parseUmask(spec.umask) } : {}),
    generated,
  });
  const entries = contents.list;

  const snippets = emptySnippets();
  addSystemdSnippets(spec.systemd ?? [], snippets);
  if (color) addColorSnippets(color, snippets);
  if (contents.ghosts.length > 0) {
    snippets.postrm.push(render('maintscripts/ghost-postrm', { paths: contents.ghosts.map((g) => shellQuote(g.path)).join(' ') }).trimEnd());
  }
  const scripts = await renderMaintainerScripts(meta.name, spec.scripts, snippets, baseDir);

  const triggers = renderTriggers(spec.deb?.triggers);
  const debScripts = await debScriptMembers(spec.deb?.scripts, baseDir);
  const variant = archVariantField(spec.deb?.arch_variant);
  const filename = `${meta.name}_${versionWithoutEpoch(meta.version)}_${meta.architecture}.deb`;
  const target = opts.outputFile ? resolve(opts.outputFile) : join(resolve(opts.outputDir), filename);
  await mkdir(dirname(target), { recursive: true });

  // One pass over the entries for everything control needs besides md5sums.
  const conffiles: string[] = [];
  let fileCount = 0;
  let payload = 0;
  for (const e of entries) {
    if (e.conffile) conffiles.push(e.path);
    if (e.type !== 'file') continue;
    fileCount++;
    if (typeof e.source === 'string') payload += e.size;
  }
  const installedSize = installedSizeKiB(entries);
  const control = renderParagraph(withVariant(withInstalledSize(meta.fields, installedSize), variant));
  const controlMembers = (md5: Md5Table): ControlMember[] => {
    const members: ControlMember[] = [{ name: 'control', data: Buffer.from(control), mode: 0o644 }];
    const md5sums = md5sumsMember(entries, md5);
    if (md5sums.size > 0) members.push({ name: 'md5sums', data: md5sums, mode: 0o644 });
    if (conffiles.length > 0) members.push({ name: 'conffiles', data: Buffer.from(conffiles.map((c) => `${c}\n`).join('')), mode: 0o644 });
    members.push(...debScripts);
    if (triggers !== '') members.push({ name: 'triggers', data: Buffer.from(triggers), mode: 0o644 });
    for (const [name, text] of scripts) members.push({ name, data: Buffer.from(text), mode: 0o755 });
    return members;
  };
  // The control member precedes data.tar but its md5s are known only afterwards: its slot is
  // sized from stand-in digests of the same entropy (deb-file.ts moves data.tar in the rare
  // case the real one does not fit).
  const controlSlot = controlSlotSize(await gzipControlTarSize(controlMembers(Md5Table.standIn(fileCount)), epoch));

  const progress = opts.onPayload?.(payload);
  let md5: Md5Table | undefined;
  const size = await writeDebFile(
    target,
    { controlSize: controlSlot, dataMember: memberName('data.tar', compression.kind), mtime: epoch },
    async (fh) => {
      md5 = (await streamDataTar(entries, fileCount, openDataSink(compression, fh), progress)).md5;
    },
    () => gzipControlTar(controlMembers(md5 ?? Md5Table.placeholder(fileCount)), epoch),
    signer,
  );
  const digest = opts.digests ? await fileDigest(target) : undefined;
  return {
    path: target,
    filename: basename(target),
    package: meta.name,
    version: meta.version,
    architecture: meta.architecture,
    size,
    ...(digest ? { sha256: digest.sha256, md5: digest.md5 } : {}),
    installedSize,
    compression,
    conffiles,
    files: fileCount,
    control,
  };
}

/** nfpm writes Architecture-Variant right after Architecture. */
function withVariant(fields: [string, string][], variant: [string, string] | undefined): [string, string][] {
  if (!variant) return fields;
  const out = [...fields];
  out.splice(out.findIndex(([k]) => k === 'Architecture') + 1, 0, variant);
  return out;
}

function withInstalledSize(fields: [string, string][], kib: number): [string, string][] {
  const out = [...fields];
  // dpkg-gencontrol places Installed-Size right after Maintainer.
  const at = out.findIndex(([k]) => k === 'Maintainer') + 1;
  out.splice(at, 0, ['Installed-Size', String(kib)]);
  return out;
}

async function documentation(meta: PackageMetadata, loaded: LoadedSpec, epoch: number): Promise<GeneratedFile[]> {
  const { spec } = loaded;
  const docDir = `/usr/share/doc/${meta.name}`;
  const changelog = await buildChangelog({
    pkg: meta.name,
    version: meta.version,
    maintainer: meta.maintainer,
    date: epoch,
    baseDir: loaded.baseDir,
    ...(spec.changelog !== undefined ? { changelog: spec.changelog } : {}),
  });
  const copyright = renderCopyright({
    name: meta.name,
    maintainer: meta.maintainer,
    year: new Date(epoch * 1000).getUTCFullYear(),
    ...(spec.license !== undefined ? { license: spec.license } : {}),
    ...(spec.vendor !== undefined ? { vendor: spec.vendor } : {}),
    ...(spec.homepage !== undefined ? { homepage: spec.homepage } : {}),
  });
  return [
    { path: `${docDir}/copyright`, data: Buffer.from(copyright), origin: 'generated copyright' },
    // Policy 12.7: native packages name it changelog.gz, others changelog.Debian.gz.
    { path: `${docDir}/${meta.native ? 'changelog.gz' : 'changelog.Debian.gz'}`, data: gzipDoc(changelog), origin: 'generated changelog' },
  ];
}
