// debpkg serve [--data DIR] [--listen HOST:PORT]: the repo server on the embedded default.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';

interface ServeArgs {
  data: string;
  listen: string;
  'open-reads': boolean;
  'public-url'?: string;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`--listen must be HOST:PORT, got '${text}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function serveCommand(y: Argv): Argv {
  return y.command<ServeArgs>(
    'serve',
    'Run the repo server (aptly-compatible API, signed publishing, static apt tree)',
    (a) =>
      a
        .option('data', { type: 'string', default: process.env.DEBPKG_DATA ?? './var', describe: 'data directory' })
        .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'HOST:PORT to listen on' })
        .option('open-reads', { type: 'boolean', default: false, describe: 'allow GET /api/... without a token' })
        .option('public-url', { type: 'string', describe: 'base URL written into .sources snippets' }) as Argv<ServeArgs>,
    async (args) => {
      const { host, port } = parseListen(args.listen);
      const { createRepoServer } = await import('../../repo-server/server.js');
      const server = await createRepoServer({
        dataDir: args.data,
        host,
        port,
        openReads: args['open-reads'],
        ...(args['public-url'] ? { publicUrl: args['public-url'] } : {}),
      });
      const stop = async (signal: string): Promise<void> => {
        server.app.log.info({ signal }, 'shutting down');
        await server.close();
        process.exit(0);
      };
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      await server.app.listen({ host, port });
      server.app.log.info({ data: args.data, tokenFile: process.env.DEBPKG_ADMIN_TOKEN ? '$DEBPKG_ADMIN_TOKEN' : `${args.data}/admin.token` }, 'debpkg repo server ready');
      await new Promise(() => undefined); // run until a signal
    },
  );
}
