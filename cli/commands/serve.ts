// debpkg serve [--data DIR] [--listen HOST:PORT]: the repo server on the embedded default.

import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { checkS3GroupSecrets, parseGrace, s3BlobsConfig, type S3Args } from './serve-s3.js';
import { relaunchTuned, untunedRuntime } from '../../repo-server/runtime.js';
import type { EtcdConfig } from '../../repo-server/config.js';

interface ServeArgs extends S3Args {
  data: string;
  listen: string;
  'open-reads': boolean;
  'public-url'?: string;
  'metrics-token'?: string;
  lb: string;
  'lb-manage': boolean;
  'lb-dir'?: string;
  'lb-config'?: string;
  'lb-socket'?: string;
  'lb-reload'?: string;
  'unit-ttl': string;
  'max-unpacked'?: string;
  'max-unpack-ratio'?: string;
  etcd?: string;
  'etcd-cacert'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  'etcd-user'?: string;
  'etcd-lease-ttl': string;
  'etcd-max-txn-ops'?: number;
  'shared-dir'?: string;
  'gpg-key'?: string[];
}

/** --etcd URL[,URL…] and its TLS/auth flags (etcdctl's names), or undefined: the embedded store. */
export function etcdConfig(args: ServeArgs): EtcdConfig | undefined {
  if (!args.etcd) return undefined;
  const endpoints = args.etcd.split(',').map((e) => e.trim()).filter(Boolean);
  for (const e of endpoints) {
    let u: URL | undefined;
    try {
      u = new URL(e);
    } catch {
      u = undefined;
    }
    if (!u || !/^https?:$/.test(u.protocol) || u.pathname !== '/') throw new UsageError(`--etcd: '${e}' is not an etcd client URL like http://10.0.0.1:2379`);
  }
  if (endpoints.length === 0) throw new UsageError('--etcd: give at least one etcd client URL');
  const user = args['etcd-user'] ?? process.env.DEBPKG_ETCD_USER;
  const [username, ...rest] = user ? user.split(':') : [];
  const password = rest.length ? rest.join(':') : process.env.DEBPKG_ETCD_PASSWORD;
  if (user && !username) throw new UsageError('--etcd-user must be NAME or NAME:PASSWORD');
  const ttl = seconds(args['etcd-lease-ttl'], '--etcd-lease-ttl') / 1000;
  if (!Number.isInteger(ttl) || ttl < 2) throw new UsageError(`--etcd-lease-ttl must be whole seconds, at least 2s (etcd's lease granularity), got '${args['etcd-lease-ttl']}'`);
  if (args.lb !== 'none' && args['lb-manage']) {
    throw new UsageError('--etcd with --lb: the servers of a group share one load balancer that only the elected server drives; run it yourself and pass --no-lb-manage with --lb-socket/--lb-config (and --lb-reload)');
  }
  const maxOps = args['etcd-max-txn-ops'];
  if (maxOps !== undefined && (!Number.isInteger(maxOps) || maxOps < 2)) throw new UsageError(`--etcd-max-txn-ops must be a whole number ≥ 2 (etcd's --max-txn-ops), got '${maxOps}'`);
  return {
    endpoints,
    leaseTtlSeconds: ttl,
    ...(maxOps !== undefined ? { maxTxnOps: maxOps } : {}),
    ...(args['etcd-cacert'] ? { caFile: args['etcd-cacert'] } : {}),
    ...(args['etcd-cert'] ? { certFile: args['etcd-cert'] } : {}),
    ...(args['etcd-key'] ? { keyFile: args['etcd-key'] } : {}),
    ...(username ? { username, password: password ?? '' } : {}),
  };
}

function seconds(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s)?$/.exec(text);
  if (!m) throw new UsageError(`${flag} must be a duration like 10s or 500ms, got '${text}'`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : 1000));
}

/** "8G", "512M", "64MiB", "1048576": bytes, binary units (K = 1024). */
export function parseByteSize(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const n = m ? Math.round(Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase())) : NaN;
  if (!m || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a size like 8G, 512M or a number of bytes, got '${text}'`);
  return n;
}

function ratio(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 1) throw new UsageError(`${flag} must be a number ≥ 1, got '${text}'`);
  return n;
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
        .option('public-url', { type: 'string', describe: 'base URL written into .sources snippets' })
        .option('metrics-token', { type: 'string', default: process.env.DEBPKG_METRICS_TOKEN || undefined, describe: 'a token that may only scrape /metrics (or $DEBPKG_METRICS_TOKEN; the admin token may too)' })
        // The adapter names come from the server's registry (colors/lb/adapters.ts), checked
        // when the server is loaded: listing them here would load server code for every command.
        .option('lb', { type: 'string', default: 'none', describe: "load balancer the color swaps drive: 'none' or an adapter (haproxy, nginx)" })
        .option('lb-manage', { type: 'boolean', default: true, describe: 'run the load balancer as a child process (else drive a running one)' })
        .option('lb-dir', { type: 'string', describe: 'directory for the LB config, socket and state (default <data>/lb/<adapter>)' })
        .option('lb-config', { type: 'string', describe: 'LB config file to write (e.g. /etc/haproxy/haproxy.cfg)' })
        .option('lb-socket', { type: 'string', describe: 'HAProxy admin socket (e.g. /run/haproxy/admin.sock)' })
        .option('lb-reload', { type: 'string', describe: "command that reloads an LB we do not manage, e.g. 'systemctl reload haproxy'" })
        .option('unit-ttl', { type: 'string', default: '10s', describe: 'a unit without a heartbeat for this long leaves the pool' })
        .option('gpg-key', { type: 'string', array: true, describe: 'key that signs publishes naming none (fingerprint, key id or e-mail in the server keyring <data>/keys); repeat to sign with several, e.g. during a key rotation' })
        .option('max-unpacked', { type: 'string', describe: 'decompressed bytes one uploaded package may unpack to (default 8G)' })
        .option('max-unpack-ratio', { type: 'string', describe: 'decompressed/compressed ratio allowed above 64M unpacked (default 200)' })
        .option('etcd', { type: 'string', default: process.env.DEBPKG_ETCD || undefined, describe: 'etcd client URLs, comma-separated: share the color registry with the other servers of a group' })
        .option('etcd-cacert', { type: 'string', describe: 'CA bundle for https etcd endpoints' })
        .option('etcd-cert', { type: 'string', describe: 'client certificate for etcd (PEM)' })
        .option('etcd-key', { type: 'string', describe: 'client key for etcd (PEM)' })
        .option('etcd-user', { type: 'string', describe: 'etcd user as NAME[:PASSWORD] (or $DEBPKG_ETCD_USER, $DEBPKG_ETCD_PASSWORD)' })
        .option('etcd-lease-ttl', { type: 'string', default: '5s', describe: 'session lease of the LB-driving role and of publish locks: a dead holder is replaced within about this' })
        .option('etcd-max-txn-ops', { type: 'number', describe: "operations per etcd transaction, as etcd's --max-txn-ops (default 128); a larger commit is split" })
        .option('shared-dir', { type: 'string', default: process.env.DEBPKG_SHARED_DIR || undefined, describe: 'with --etcd: a directory every server mounts (blobs, published trees, keys); the repo metadata then lives on etcd' })
        .option('blobs', { type: 'string', default: process.env.DEBPKG_BLOBS || undefined, describe: 'pool blobs on an S3-compatible object store: s3://BUCKET[/PREFIX] (credentials from $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY)' })
        .option('s3-endpoint', { type: 'string', default: process.env.DEBPKG_S3_ENDPOINT || undefined, describe: 'with --blobs: the S3 API URL, e.g. http://127.0.0.1:7480 (or $DEBPKG_S3_ENDPOINT)' })
        .option('s3-region', { type: 'string', default: process.env.AWS_REGION || 'us-east-1', describe: 'with --blobs: the region requests are signed for (or $AWS_REGION)' })
        .option('s3-cache-max', { type: 'string', describe: 'with --blobs: size bound of this server\'s cache of S3 blobs under --data/pool, e.g. 20G (default 20G); least recently used files are evicted' })
        .option('blob-grace', { type: 'string', describe: 'with --shared-dir or --blobs: how long a blob stays unnamed before GC or the orphan sweep may delete it (default 1h)' }) as Argv<ServeArgs>,
    async (args) => {
      const { host, port } = parseListen(args.listen);
      const etcd = etcdConfig(args);
      const blobs = s3BlobsConfig(args);
      const blobGraceMs = args['blob-grace'] !== undefined ? parseGrace(args['blob-grace'], '--blob-grace') : undefined;
      if (blobGraceMs !== undefined && !blobs && args['shared-dir'] === undefined) throw new UsageError('--blob-grace needs --shared-dir or --blobs: on a server\'s own directory GC deletes at once');
      if (args['shared-dir'] !== undefined && !etcd) throw new UsageError('--shared-dir needs --etcd: the servers sharing a directory keep their repo metadata on etcd');
      if (etcd && blobs && args['shared-dir'] === undefined) await checkS3GroupSecrets(args.data);
      // The memory bound needs process-start settings (allocator, V8 flags): without them the
      // same command runs again as a child that has them, and this process only mirrors it.
      if (await relaunchTuned()) return;
      const { createRepoServer } = await import('../../repo-server/server.js');
      const { ADAPTERS } = await import('../../repo-server/colors/lb/adapters.js');
      if (args.lb !== 'none' && !ADAPTERS.includes(args.lb)) throw new UsageError(`--lb must be none or one of ${ADAPTERS.join(', ')}, got '${args.lb}'`);
      const server = await createRepoServer({
        dataDir: args.data,
        host,
        port,
        openReads: args['open-reads'],
        ...(args['max-unpacked'] !== undefined ? { maxUnpackedBytes: parseByteSize(args['max-unpacked'], '--max-unpacked') } : {}),
        ...(args['max-unpack-ratio'] !== undefined ? { maxUnpackRatio: ratio(args['max-unpack-ratio'], '--max-unpack-ratio') } : {}),
        ...(args['gpg-key'] ? { signingKeys: args['gpg-key'].flatMap((k) => k.split(',')).map((k) => k.trim()).filter(Boolean) } : {}),
        ...(args['public-url'] ? { publicUrl: args['public-url'] } : {}),
        ...(args['metrics-token'] ? { metricsToken: args['metrics-token'] } : {}),
        ...(etcd ? { etcd } : {}),
        ...(args['shared-dir'] ? { sharedDir: args['shared-dir'] } : {}),
        ...(blobs ? { blobs } : {}),
        ...(blobGraceMs !== undefined ? { blobGraceMs } : {}),
        color: {
          ttlMs: seconds(args['unit-ttl'], '--unit-ttl'),
          ...(args.lb === 'none'
            ? {}
            : {
                lb: {
                  adapter: args.lb,
                  manage: args['lb-manage'],
                  ...(args['lb-dir'] ? { dir: args['lb-dir'] } : {}),
                  ...(args['lb-config'] ? { configFile: args['lb-config'] } : {}),
                  ...(args['lb-socket'] ? { socket: args['lb-socket'] } : {}),
                  ...(args['lb-reload'] ? { reloadCommand: args['lb-reload'].split(/\s+/).filter(Boolean) } : {}),
                },
              }),
        },
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
      const untuned = untunedRuntime();
      if (untuned) server.app.log.warn(untuned);
      await server.app.listen({ host, port });
      server.app.log.info({ data: args.data, tokenFile: process.env.DEBPKG_ADMIN_TOKEN ? '$DEBPKG_ADMIN_TOKEN' : `${args['shared-dir'] ?? args.data}/admin.token` }, 'debpkg repo server ready');
      await new Promise(() => undefined); // run until a signal
    },
  );
}
