// debpkg upload FILE.deb... [--dir NAME] [--repo NAME] [--json]: stream packages into the
// server's upload area and, with --repo, add them to a local repo in the same step.

import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Argv } from 'yargs';
import { clientFrom, clientOptions, out, withLists, printJson, say, seg, type ClientArgs } from '../client.js';
import type { ImportReportWire } from '../../repo-server/http/wire.js';
import { UsageError } from '../errors.js';

interface UploadArgs extends ClientArgs {
  files: string[];
  dir?: string;
  repo?: string;
}

export function uploadCommand(y: Argv): Argv {
  return y.command<UploadArgs>(
    'upload <files..>',
    'Upload .deb files to the repo server (and add them to a repo with --repo)',
    (a) =>
      clientOptions(
        withLists(a, ['files'])
          .positional('files', { type: 'string', array: true, demandOption: true, describe: '.deb files' })
          .option('dir', { type: 'string', describe: 'upload directory on the server (default: a fresh random one)' })
          .option('repo', { type: 'string', describe: 'add the uploaded files to this local repo' }),
      ) as Argv<UploadArgs>,
    async (args) => {
      const files = args.files.map(String);
      const seen = new Set<string>();
      for (const f of files) {
        const st = await stat(f).catch(() => undefined);
        if (!st?.isFile()) throw new UsageError(`${f}: not a readable file`);
        // Files land in one directory by base name: two with the same name would collide.
        if (seen.has(basename(f))) throw new UsageError(`two files are named ${basename(f)}`);
        seen.add(basename(f));
      }
      const dir = args.dir ?? `upload-${Date.now()}-${randomBytes(4).toString('hex')}`;
      const client = await clientFrom(args);
      const uploaded = await client.upload(dir, files);
      if (args.repo === undefined) {
        if (args.json) printJson(uploaded);
        else {
          say(`uploaded ${uploaded.length} file(s) to ${dir}`);
          out(dir); // so that `debpkg repo add R --dir "$(debpkg upload x.deb)"` works
        }
        return;
      }
      const report = await client.post<ImportReportWire>(`/api/repos/${seg(args.repo)}/file/${seg(dir)}`);
      if (args.json) return printJson(report);
      for (const w of report.Report.Warnings) say(`warning: ${w}`);
      for (const line of [...report.Report.Added, ...report.Report.Removed]) out(line);
      say(`repo ${args.repo}: ${report.Report.Added.length} added, ${report.Report.Removed.length} removed`);
    },
  );
}
