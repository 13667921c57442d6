/** `sigilo server start`: runs the server in the foreground until SIGTERM or SIGINT. */
import { resolveConfig, settingForFlag, settingsHelp, startServer } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';

const FLAGS = ['port', 'host', 'data', 'tls-cert', 'tls-key', 'log-level', 'max-devices', 'storage', 'postgres-url', 'bus'] as const;

export const serverStart: Command = {
  path: ['server', 'start'],
  summary: 'run the relay and key directory (TLS) on a data directory',
  usage: `sigilo server start [--port N] [--host ADDR] [--data DIR] [--config FILE] [--tls-cert PEM --tls-key PEM]
                    [--log-level error|warn|info|debug] [--max-devices N] [--set PATH=VALUE]...
                    [--storage sqlite|postgres --postgres-url URL] [--bus redis://HOST:6379]

Several identical nodes: give each the same --storage postgres --postgres-url and --bus
(and the same TLS certificate and keys; see the README, "Several nodes").

${settingsHelp()}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])),
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
    });
    const flags: Record<string, unknown> = {};
    for (const f of FLAGS) {
      const v = str(values[f]);
      if (v !== undefined) flags[settingForFlag(f)!] = v;
    }
    for (const kv of (values.set as string[] | undefined) ?? []) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new UsageError(`--set takes PATH=VALUE (e.g. --set retention.undelivered=14d), got '${kv}'`);
      flags[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const config = resolveConfig({ flags, configFile: str(values.config), env: io.env, cwd: io.cwd });
    const server = await startServer({ config });
    io.out([
      `Sigilo server listening on wss://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}/v1/ws`,
      `  data directory: ${config.dataDir}`,
      ...(server.tls.caFingerprint
        ? [
          '  TLS: certificate issued by the organisation CA (sigilo admin tls-ca; renewed at start)',
          `  CA SHA-256 fingerprint (clients pin this: sigilo init URL --ca-fingerprint FP): ${server.tls.caFingerprint}`,
          `  server certificate SHA-256 (changes at every renewal): ${server.tls.fingerprint}`,
        ]
        : [
          `  TLS: ${server.tls.selfSigned ? `self-signed certificate${server.tls.generated ? ' (generated now)' : ''}` : 'provided certificate'}`,
          `  SHA-256 fingerprint (clients pin this): ${server.tls.fingerprint}`,
        ]),
      `  sender certificate key: id ${server.certificateKey.keyId}, ${Buffer.from(server.certificateKey.publicKey).toString('base64')}`,
      `  key transparency log: ${server.kt.verifierKey}`,
      `  admin: sigilo admin invite --data ${config.dataDir}`,
      `  member directory: ${config.directory.mode === 'members' ? 'on (members who join are listed, username and name in clear to the server)' : 'off (members find each other by exact username; directory.mode=members turns the list on)'}`,
      `  metrics: ${server.metricsUrl ?? 'off (set metrics.enabled to serve them on a loopback port)'}`,
      `  storage: ${config.storage.backend}${server.cluster ? `; node ${server.cluster.nodeId} of several (bus)` : ''}`,
      '',
    ].join('\n'));
    const signal = await io.stopSignal;
    io.out(`received ${signal}: shutting down\n`);
    await server.close();
    io.out('stopped\n');
    return 0;
  },
};
