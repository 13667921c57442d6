/**
 * `sigilo witness`: runs a key transparency witness (spec/transparency.md §7,
 * C2SP tlog-witness) in the foreground until SIGTERM or SIGINT. It cosigns the
 * checkpoints of the logs given with --log after checking that each extends the
 * last one it cosigned; servers list it in kt.witnesses, clients may require
 * its cosignature.
 */
import { resolve } from 'node:path';
import { parseVerifierKey } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { startWitness } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';

export const witness: Command = {
  path: ['witness'],
  summary: 'run a key transparency witness that cosigns consistent checkpoints of Sigilo servers',
  usage: `sigilo witness --log VKEY [--log VKEY]... [--data DIR] [--name NAME] [--host ADDR] [--port N] [--json]

  --log VKEY   a server's log key, as \`sigilo server start\` prints it ("key transparency log")
               or /v1/server-info gives it (keyTransparency.verifierKey)
  --data DIR   the witness's key and state (default ./witness-data); keep it: a new key must be
               given to every server and client again
  --name NAME  the witness key name on first start (default sigilo-witness/<key hash>)
  --host ADDR  listen address (default 127.0.0.1); put a TLS proxy in front for other machines
  --port N     listen port (default 7380; 0 = any free port)

Prints the entry for the server's kt.witnesses setting and the witness key for clients.`,
  async run(args, io) {
    const { values } = parse(args, {
      log: { type: 'string', multiple: true },
      data: { type: 'string' },
      name: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      json: { type: 'boolean' },
    });
    const vkeys = (values.log as string[] | undefined) ?? [];
    if (!vkeys.length) throw new UsageError('give at least one --log VKEY (the server prints it as "key transparency log")');
    const logs = vkeys.map((v) => {
      try {
        return parseVerifierKey(nodeCrypto, v);
      } catch (e) {
        throw new UsageError(`--log ${JSON.stringify(v)}: ${(e as Error).message}; copy the whole key from the server`);
      }
    });
    const portText = str(values.port) ?? '7380';
    if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new UsageError('--port takes a number from 0 to 65535');
    const running = await startWitness({
      dataDir: resolve(io.cwd, str(values.data) ?? 'witness-data'),
      logs,
      name: str(values.name),
      host: str(values.host) ?? '127.0.0.1',
      port: Number(portText),
      onRefusal: (status, reason) => io.err(`refused a checkpoint (${status}): ${reason}\n`),
    });
    const entry = `${running.verifierKey} ${running.url}`;
    if (values.json) io.out(`${JSON.stringify({ name: running.name, verifierKey: running.verifierKey, url: running.url, ktWitnessesEntry: entry })}\n`);
    else {
      io.out([
        `Sigilo witness ${running.name} listening on ${running.url}/add-checkpoint`,
        `  witness key (clients): ${running.verifierKey}`,
        `  server setting: --set kt.witnesses="${entry}"`,
        `  logs: ${logs.map((l) => l.name).join(', ')}`,
        '',
      ].join('\n'));
    }
    const signal = await io.stopSignal;
    io.out(`received ${signal}: shutting down\n`);
    await running.close();
    return 0;
  },
};
