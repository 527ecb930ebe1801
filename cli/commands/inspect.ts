// debpkg inspect FILE.deb [--json]: what dpkg-deb -I and -c show, in one place.

import { stat } from 'node:fs/promises';
import type { Argv } from 'yargs';
import type { TarListing } from '../../deb/reader.js';
import { UsageError } from '../errors.js';

interface InspectArgs {
  file: string;
  json: boolean;
}

const TYPE_CHAR: Record<TarListing['type'], string> = { file: '-', directory: 'd', symlink: 'l', hardlink: 'h', other: '?' };

function modeString(e: TarListing): string {
  const bits = 'rwxrwxrwx';
  let s = TYPE_CHAR[e.type];
  for (let i = 0; i < 9; i++) s += e.mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

export function inspectCommand(y: Argv): Argv {
  return y.command<InspectArgs>(
    'inspect <file>',
    'Show control fields, scripts, conffiles and contents of a .deb',
    (a) =>
      a
        .positional('file', { type: 'string', demandOption: true, describe: '.deb file' })
        .option('json', { type: 'boolean', default: false }) as Argv<InspectArgs>,
    async (args) => {
      const { defaultMeter, readControlArchive, readDataArchive, readDebLayout, DebFormatError } = await import('../../deb/reader.js');
      const size = await stat(args.file).then(
        (s) => s.size,
        () => {
          throw new UsageError(`${args.file}: cannot read the file`);
        },
      );
      let layout;
      try {
        layout = await readDebLayout(args.file);
      } catch (err) {
        throw new UsageError(`${args.file}: ${(err as Error).message}`);
      }
      // The same budget as the repo server's defaults: a bomb is refused, not unpacked.
      const meter = defaultMeter(layout);
      const contents: TarListing[] = [];
      let control;
      try {
        control = await readControlArchive(args.file, layout, meter);
        await readDataArchive(args.file, (e) => {
          contents.push(e);
        }, layout, meter);
      } catch (err) {
        if (err instanceof DebFormatError) throw new UsageError(`${args.file}: ${err.message}`);
        throw err;
      }
      if (args.json) {
        process.stdout.write(
          `${JSON.stringify(
            {
              file: args.file,
              size,
              format: layout.version,
              members: { control: layout.control.name, data: layout.data.name },
              control: Object.fromEntries(control.control),
              scripts: Object.fromEntries([...control.files].filter(([n]) => n !== 'md5sums' && n !== 'conffiles')),
              conffiles: control.conffiles,
              contents,
            },
            null,
            2,
          )}\n`,
        );
        return;
      }
      const out: string[] = [];
      out.push(` new Debian package, version ${layout.version}.`);
      out.push(` size ${size} bytes: control archive=${layout.control.size} bytes (${layout.control.name}), data archive=${layout.data.size} bytes (${layout.data.name}).`);
      for (const [name, text] of control.files) out.push(`  ${String(text.length).padStart(7)} bytes, ${String(text.split('\n').length - 1).padStart(4)} lines   ${name}`);
      for (const line of control.controlText.trimEnd().split('\n')) out.push(` ${line}`);
      if (control.conffiles.length > 0) {
        out.push(' Conffiles:');
        for (const c of control.conffiles) out.push(`  ${c}`);
      }
      out.push(' Contents:');
      for (const e of contents) {
        const owner = `${e.uname || e.uid}/${e.gname || e.gid}`;
        const date = new Date(e.mtime * 1000).toISOString().slice(0, 16).replace('T', ' ');
        const link = e.linkTarget ? ` -> ${e.linkTarget}` : '';
        out.push(`  ${modeString(e)} ${owner.padEnd(11)} ${String(e.size).padStart(10)} ${date} ${e.path}${link}`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    },
  );
}
