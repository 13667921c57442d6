/**
 * `sigilo admin ca …`: the organisation's identity CA (spec/trust.md §3–§4), apart from the TLS
 * CA of `sigilo admin tls-ca`. It certifies people's identity keys after the administrator
 * compared the key's fingerprint with the one the person reads from `sigilo whoami`, and revokes
 * them; a running server pushes every change to the connected devices at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminRequest, CaError, IdentityCaDirectory, identityFingerprint, type AccountSummary, type CaSigner, type IssuedRecord } from '@sigilo/server';
import { formatAccountId } from '@sigilo/client-node';
import { accountLines } from '../admin-target.js';
import { parse, str } from '../args.js';
import { UsageError, type Command, type Io } from '../command.js';
import { confirm } from '../client/confirm.js';
import { printableName } from '../client/format.js';
import { promptHidden } from '../client/passphrase.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

async function pin(io: Io): Promise<string> {
  const fromEnv = io.env.SIGILO_PKCS11_PIN;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) throw new UsageError('the CA key is on a token: set SIGILO_PKCS11_PIN (or run this in a terminal to be asked for the PIN)');
  return promptHidden('Token PIN: ');
}

export async function openSigner(io: Io, ca: IdentityCaDirectory): Promise<CaSigner> {
  const onToken = ca.summary().key.kind === 'pkcs11';
  return ca.openSigner(onToken ? await pin(io) : undefined);
}

interface Published { readonly pushed: number | undefined; readonly relayed: boolean }

/** Tells a running server to push the CA and CRL to connected devices (and, with several nodes, relay them to the others). */
export async function publish(dataDir: string): Promise<Published> {
  const r = await adminRequest(dataDir, { op: 'publish-org-trust' }) as { pushed: number; relayed?: boolean } | undefined;
  return { pushed: r?.pushed, relayed: r?.relayed === true };
}

export function published(io: Io, { pushed, relayed }: Published): void {
  io.out(pushed === undefined
    ? 'The server is not running: devices get the change when they next connect after it starts.\n'
    : `Pushed to ${pushed} connected device(s) on this node now${relayed ? ' and relayed to the other nodes' : ''}; the others get it when they connect.\n`);
}

const caInit: Command = {
  path: ['admin', 'ca', 'init'],
  summary: "create the organisation's identity CA (key in a file, or made on a PKCS#11 token)",
  usage: `sigilo admin ca init --org NAME [--certified-counts-as-verified] [--pkcs11-module LIB --token LABEL [--key-label LABEL]] [--data DIR] [--json]

Creates DATA/identity-ca/: an Ed25519 CA valid 10 years that certifies people's identity keys,
and an empty CRL. It is not the TLS CA of \`sigilo admin tls-ca\` (spec/trust.md §3.1 says why).
With --pkcs11-module the key is generated on the token and never leaves it (PIN from
SIGILO_PKCS11_PIN or asked); without, it is DATA/identity-ca/ca.key (0600): keep a copy offline.
--certified-counts-as-verified is the organisation's policy, written into the CA certificate (so
the server cannot change it): clients treat a certified key as verified, without comparing
safety numbers. It cannot be changed later without a new CA.`,
  async run(args, io) {
    const { values } = parse(args, { ...dataOptions, org: { type: 'string' }, 'pkcs11-module': { type: 'string' }, token: { type: 'string' }, 'key-label': { type: 'string' }, 'certified-counts-as-verified': { type: 'boolean' } });
    const org = str(values.org);
    if (!org) throw new UsageError('give the organisation\'s name: --org "Acme Logistics"');
    const config = adminConfig(io, values);
    const module = str(values['pkcs11-module']);
    const token = str(values.token);
    if ((module === undefined) !== (token === undefined)) throw new UsageError('--pkcs11-module and --token go together');
    const ca = new IdentityCaDirectory(config.dataDir);
    const s = await ca.init(org, module ? { kind: 'pkcs11', module, tokenLabel: token!, keyLabel: str(values['key-label']) ?? 'sigilo-identity-ca', pin: await pin(io) } : { kind: 'file' }, new Date(), { certifiedIsVerified: values['certified-counts-as-verified'] === true });
    const pub = await publish(config.dataDir);
    if (values.json) {
      io.out(`${JSON.stringify({ ...s, pushed: pub.pushed ?? null })}\n`);
      return 0;
    }
    io.out([
      `Created the identity CA of ${s.organisation} in ${ca.dir}.`,
      `  CA SHA-256 fingerprint: ${s.fingerprint}`,
      `  valid until:            ${s.notAfter}`,
      `  policy:                 ${values['certified-counts-as-verified'] ? 'a certified key counts as verified' : 'people still compare safety numbers (certificates are shown beside)'}`,
      `  key:                    ${s.key.kind === 'file' ? `${s.key.path} (back it up offline)` : `on token "${s.key.tokenLabel}", label "${s.key.keyLabel}" (not extractable)`}`,
      '',
      'Give people the CA fingerprint with the server\'s, so their devices trust only this CA:',
      // The server's own TLS pin: the organisation's TLS CA where `admin tls-ca` made one, else the server certificate.
      `  sigilo init URL ${existsSync(join(config.dataDir, 'tls', 'ca', 'ca.crt')) ? '--ca-fingerprint TLS-CA-FINGERPRINT' : '--fingerprint SERVER-FINGERPRINT'} --identity-ca "${s.fingerprint}"`,
      '',
      'Next: certify each person after comparing their key fingerprint (they run sigilo whoami):',
      '  sigilo admin ca requests                      # what people asked for at sign-up or with sigilo ca request',
      '  sigilo admin ca approve ID --fingerprint "XXXX XXXX …"',
      '  sigilo admin ca certify @USERNAME --name "NAME" --fingerprint "XXXX XXXX …"   # without a request',
      '',
    ].join('\n'));
    published(io, pub);
    return 0;
  },
};

const caCertify: Command = {
  path: ['admin', 'ca', 'certify'],
  summary: "certify an account's identity key (after comparing its fingerprint with the person's)",
  usage: `sigilo admin ca certify ACCOUNT [--name "PERSON'S NAME"] [--fingerprint "XXXX …"] [--days N] [--yes] [--data DIR] [--json]

ACCOUNT is the account id or @username. The person reads their identity fingerprint from
\`sigilo whoami\` (in person, or on a call you trust); give it with --fingerprint (it must match)
or compare it when asked. --name defaults to the account's label (sigilo admin label).
The certificate is valid --days (default 365) and replaces the account's previous one.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, name: { type: 'string' }, fingerprint: { type: 'string' }, days: { type: 'string' }, yes: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError('give one account (id or @username)');
    const days = values.days === undefined ? 365 : Number(values.days);
    const config = adminConfig(io, values);
    const ca = new IdentityCaDirectory(config.dataDir);
    if (!ca.exists()) throw new CaError('NO_CA', `no identity CA in ${ca.dir}; create one first: sigilo admin ca init --org NAME`);
    const { result } = await runAdmin<{ accountIdHex: string; identityKey: string; summary: AccountSummary }>(config, { op: 'identity', accountId: positionals[0]! }, (a) => a.identityOf(positionals[0]!));
    const name = str(values.name) ?? result.summary.label ?? undefined;
    if (!name) throw new UsageError('give the person\'s name with --name "…" (or label the account first: sigilo admin label)');
    const identityKey = Uint8Array.from(Buffer.from(result.identityKey, 'hex'));
    const fp = identityFingerprint(identityKey);
    const given = str(values.fingerprint);
    io.err(`Certify as "${name}":\n${accountLines(result.summary, '  ').join('\n')}\n  identity fingerprint ${fp}\n`);
    if (given !== undefined) {
      if (given.replace(/\s+/g, '').toLowerCase() !== fp.replace(/\s+/g, '')) {
        io.err('The fingerprint given is NOT this account\'s identity key: nothing was certified. Check it with the person again (sigilo whoami).\n');
        return 1;
      }
    } else if (!values.yes) {
      if (!process.stdin.isTTY) {
        io.err('Nothing was done: compare the fingerprint above with the person\'s (sigilo whoami) and pass it with --fingerprint.\n');
        return 1;
      }
      if (!(await confirm('Does the person\'s sigilo whoami show this fingerprint? [y/N] '))) {
        io.err('Nothing was certified.\n');
        return 1;
      }
    }
    const signer = await openSigner(io, ca);
    let record: IssuedRecord;
    try {
      ({ record } = await ca.certify(signer, { accountId: Uint8Array.from(Buffer.from(result.accountIdHex, 'hex')), identityKey, name, days }, new Date()));
    } finally {
      signer.close();
    }
    const pub = await publish(config.dataDir);
    if (values.json) {
      io.out(`${JSON.stringify({ ...record, accountId: result.summary.accountId, pushed: pub.pushed ?? null })}\n`);
      return 0;
    }
    io.out(`Certified ${name} (${result.summary.accountId}) until ${record.notAfter}; serial ${record.serial}.\n`);
    published(io, pub);
    return 0;
  },
};

const caRevoke: Command = {
  path: ['admin', 'ca', 'revoke'],
  summary: "revoke an account's identity certificate; connected devices learn it at once",
  usage: `sigilo admin ca revoke ACCOUNT [--yes] [--data DIR] [--json]
sigilo admin ca revoke --serial HEX [--data DIR] [--json]

Adds the certificate to a new CRL signed by the CA; the running server pushes it to every
connected device, and the others fetch it when they connect. Devices then show the person's key
as revoked and hold messages to them until the person there accepts it anyway.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, serial: { type: 'string' }, yes: { type: 'boolean' } }, true);
    const serial = str(values.serial);
    if ((positionals.length === 1) === (serial !== undefined)) throw new UsageError('give one account (id or @username), or --serial HEX');
    const config = adminConfig(io, values);
    const ca = new IdentityCaDirectory(config.dataDir);
    let accountId: Uint8Array | undefined;
    if (positionals.length === 1) {
      const { result } = await runAdmin<{ accountIdHex: string; identityKey: string; summary: AccountSummary }>(config, { op: 'identity', accountId: positionals[0]! }, (a) => a.identityOf(positionals[0]!));
      io.err(`Revoke the identity certificate of:\n${accountLines(result.summary, '  ').join('\n')}\n`);
      if (!values.yes) {
        if (!process.stdin.isTTY) { io.err('Nothing was done: no terminal to confirm on; run again with --yes.\n'); return 1; }
        if (!(await confirm('Go ahead? [y/N] '))) { io.err('Nothing was done.\n'); return 1; }
      }
      accountId = Uint8Array.from(Buffer.from(result.accountIdHex, 'hex'));
    } else if (!/^[0-9a-fA-F]{1,40}$/.test(serial!)) {
      throw new UsageError('--serial is the certificate\'s serial number in hex, as sigilo admin ca list prints it');
    }
    const signer = await openSigner(io, ca);
    let revoked: IssuedRecord[];
    try {
      ({ revoked } = await ca.revoke(signer, accountId ? { accountId } : { serial: serial! }, new Date()));
    } finally {
      signer.close();
    }
    const pub = await publish(config.dataDir);
    if (values.json) {
      io.out(`${JSON.stringify({ revoked, pushed: pub.pushed ?? null })}\n`);
      return 0;
    }
    for (const r of revoked) io.out(`Revoked ${printableName(r.name)}'s certificate ${r.serial}.\n`);
    published(io, pub);
    return 0;
  },
};

const caList: Command = {
  path: ['admin', 'ca', 'list'],
  summary: 'the identity CA and every certificate it issued (in force, expired, revoked)',
  usage: 'sigilo admin ca list [--data DIR] [--json]',
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const config = adminConfig(io, values);
    const ca = new IdentityCaDirectory(config.dataDir);
    const s = ca.summary();
    const now = Date.now();
    const rows = ca.issued().map((r) => ({ ...r, state: r.revokedAt ? (r.reason === 'superseded' ? 'superseded' : 'revoked') : Date.parse(r.notAfter) < now ? 'expired' : 'in force' }));
    if (values.json) {
      io.out(`${JSON.stringify({ organisation: s.organisation, fingerprint: s.fingerprint, notAfter: s.notAfter, key: s.key, certificates: rows })}\n`);
      return 0;
    }
    io.out(`Identity CA of ${s.organisation}; fingerprint ${s.fingerprint}; key ${s.key.kind === 'file' ? 'in a file' : `on token "${s.key.tokenLabel}"`}\n`);
    // The account as `whoami` and `admin accounts` show it, so that revoke ACCOUNT can be typed from this list.
    for (const r of rows) io.out(`  ${r.serial}  ${r.state.padEnd(10)}  until ${r.notAfter.slice(0, 10)}  ${formatAccountId(Buffer.from(r.accountId, 'hex'))}  ${printableName(r.name)}\n`);
    if (rows.length === 0) io.out('  (no certificates yet: sigilo admin ca certify ACCOUNT)\n');
    return 0;
  },
};

const caCrl: Command = {
  path: ['admin', 'ca', 'crl'],
  summary: 'sign a fresh CRL (do it before the last one expires, 90 days after it was made)',
  usage: 'sigilo admin ca crl [--data DIR] [--json]',
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const config = adminConfig(io, values);
    const ca = new IdentityCaDirectory(config.dataDir);
    const signer = await openSigner(io, ca);
    try {
      await ca.refreshCrl(signer, new Date());
    } finally {
      signer.close();
    }
    const pub = await publish(config.dataDir);
    if (values.json) io.out(`${JSON.stringify({ pushed: pub.pushed ?? null })}\n`);
    else { io.out('Signed a new CRL, valid 90 days.\n'); published(io, pub); }
    return 0;
  },
};

export const adminCaCommands: readonly Command[] = [caInit, caCertify, caRevoke, caList, caCrl];
