/** `sigilo admin tls-ca`: the organisation's internal CA, and the server's TLS certificate issued from it. */
import { createOrganisationCa, renewCaServerCertificate, resolveConfig, SERVER_CERT_DAYS, type CaInfo } from '@sigilo/server';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';

function describe(r: CaInfo, dataDir: string): string {
  const host = r.names.dns[0] ?? r.names.ips[0];
  return [
    r.created ? `Created the certificate authority of ${r.names.organisation} in ${dataDir}/tls/ca/ (ca.key is mode 0600: back it up offline).` : `Reissued the server certificate from the CA in ${dataDir}/tls/ca/.`,
    `  CA SHA-256 fingerprint: ${r.caFingerprint}`,
    `  CA valid until:         ${r.caNotAfter}`,
    `  server certificate for: ${[...r.names.dns, ...r.names.ips].join(', ')} (valid until ${r.serverNotAfter}; renewed at start when under 30 days)`,
    '',
    'Next:',
    `  1. (Re)start the server on this data directory: sigilo server start --data ${dataDir}`,
    `  2. On every phone and computer, open https://${host}:PORT/ca and follow the steps there`,
    '     (the browser warns once, before the CA is installed; compare the fingerprint above).',
    '  3. Print or hand out the CA fingerprint above so people can check what they install.',
    '  4. Command-line clients pin the CA fingerprint above, which renewals do not change: each person runs',
    `     sigilo init https://${host}:PORT --ca-fingerprint ${r.caFingerprint}`,
    '     (clients that pinned the server certificate with --fingerprint run it once; their account and history stay).',
    '     The server certificate itself changes now and at every renewal: do not hand out its fingerprint.',
    '',
  ].join('\n');
}

export const adminTlsCa: Command = {
  path: ['admin', 'tls-ca'],
  summary: "create the organisation's certificate authority and issue the server's TLS certificate from it (for browsers and phones)",
  usage: `sigilo admin tls-ca --name HOST [--name HOST]... [--ip ADDR]... [--org NAME] [--data DIR] [--config FILE] [--json]
sigilo admin tls-ca --reissue [--data DIR] [--json]

Creates DATA/tls/ca/: an ECDSA P-256 certificate authority valid 10 years (CA:TRUE, pathLen 0,
name constraints: it can only vouch for the given names and addresses), and the server's
certificate issued from it for ${SERVER_CERT_DAYS} days (browsers refuse longer). The server uses it on
its next start (unless --tls-cert/--tls-key are given), renews it at start when under 30 days
remain, and offers the CA with install instructions at https://HOST:PORT/ca.
--reissue issues the server certificate again now. An existing CA is never replaced.`,
  async run(args, io) {
    const { values } = parse(args, {
      name: { type: 'string', multiple: true },
      ip: { type: 'string', multiple: true },
      org: { type: 'string' },
      reissue: { type: 'boolean' },
      data: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    });
    const data = str(values.data);
    const config = resolveConfig({ env: io.env, cwd: io.cwd, configFile: str(values.config), flags: data ? { dataDir: data } : {} });
    let result: CaInfo;
    if (values.reissue) {
      const r = await renewCaServerCertificate(config.dataDir, new Date(), true);
      if (!r) throw new UsageError(`no CA in ${config.dataDir}/tls/ca; create one first: sigilo admin tls-ca --name HOST --data ${config.dataDir}`);
      result = r;
    } else {
      const dns = (values.name as string[] | undefined) ?? [];
      const ips = (values.ip as string[] | undefined) ?? [];
      if (dns.length + ips.length === 0) throw new UsageError('give the names people use to reach the server: --name chat.example.org (and/or --ip 10.0.0.5)');
      result = await createOrganisationCa(config.dataDir, { organisation: str(values.org) ?? 'Sigilo', dns, ips });
    }
    io.out(values.json ? `${JSON.stringify(result)}\n` : describe(result, config.dataDir));
    return 0;
  },
};
