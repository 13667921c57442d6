/**
 * Certification requests made by devices (spec/trust.md §4.1): `sigilo admin ca requests` lists the
 * pending ones; `approve ID` checks the request's signature by the identity key and that the key is still
 * the account's, shows the fingerprint to compare with the person, and certifies with the CA key (which
 * the server does not hold: the server can queue a request, never a certificate); `reject ID` drops it.
 */
import { certificationRequestPayload, identitySigningKey } from '@sigilo/protocol';
import { nodeCrypto } from '@sigilo/protocol/node';
import { CaError, IdentityCaDirectory, identityFingerprint, type CertificationRequestView, type IssuedRecord } from '@sigilo/server';
import { accountLines } from '../admin-target.js';
import { printableName } from '../client/format.js';
import { parse, str } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { confirm } from '../client/confirm.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';
import { openSigner, publish, published } from './admin-ca.js';

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

function requestId(positionals: string[]): number {
  const id = positionals.length === 1 && /^\d{1,15}$/.test(positionals[0]!) ? Number(positionals[0]) : 0;
  if (!id) throw new UsageError('give one request number, as sigilo admin ca requests prints it');
  return id;
}

/**
 * The request as the server described it, with the fingerprint computed here from the key that will be
 * certified: the server's own `fingerprint` field is never shown or compared, so a server (or whatever
 * answers on its admin socket) cannot show a colleague's fingerprint beside another key.
 */
function checked(r: CertificationRequestView): CertificationRequestView {
  return { ...r, fingerprint: identityFingerprint(fromHex(r.identityKey)) };
}

/** Whether the identity key signed this request as shown (a request altered in the database fails). */
function signatureValid(r: CertificationRequestView): boolean {
  const payload = certificationRequestPayload(fromHex(r.accountIdHex), r.deviceId, fromHex(r.identityKey), r.createdAtMs, r.name);
  return nodeCrypto.ed25519Verify(identitySigningKey(fromHex(r.identityKey)), payload, fromHex(r.signature));
}

/**
 * What the CA already issued for the request's account, so that approving does not silently replace a certificate
 * (approving supersedes it) or re-certify a revoked one without a second look. Empty when it has none.
 */
function priorCertificateLine(ca: IdentityCaDirectory, accountIdHex: string, indent: string): string {
  if (!ca.exists()) return '';
  const mine = ca.issued().filter((c) => c.accountId === accountIdHex);
  const current = mine.find((c) => !c.revokedAt);
  if (current) return `${indent}certified as "${printableName(current.name)}" until ${current.notAfter.slice(0, 10)}: approving replaces that certificate\n`;
  const revoked = mine.filter((c) => c.reason === 'revoked').at(-1);
  if (revoked) return `${indent}REVOKED on ${revoked.revokedAt!.slice(0, 10)} (was "${printableName(revoked.name)}"): find out why before certifying again\n`;
  return '';
}

const caRequests: Command = {
  path: ['admin', 'ca', 'requests'],
  summary: 'certification requests that devices sent (sigilo ca request), waiting for approval',
  usage: 'sigilo admin ca requests [--data DIR] [--json]',
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const config = adminConfig(io, values);
    const result = (await runAdmin<CertificationRequestView[]>(config, { op: 'ca-requests' }, (a) => a.certificationRequests())).result.map(checked);
    if (values.json) {
      io.out(`${JSON.stringify(result.map((r) => ({ ...r, signatureValid: signatureValid(r) })))}\n`);
      return 0;
    }
    if (result.length === 0) { io.out('No pending certification requests.\n'); return 0; }
    const ca = new IdentityCaDirectory(config.dataDir);
    for (const r of result) {
      const problem = !signatureValid(r) ? '  SIGNATURE INVALID: do not approve' : !r.keyIsCurrent ? '  STALE: the account has another key now' : '';
      io.out(`#${r.requestId}  "${printableName(r.name)}"  ${r.createdAt.slice(0, 16).replace('T', ' ')}  device ${r.deviceId}${problem}\n`
        + `${accountLines(r.summary, '      ').join('\n')}\n      identity fingerprint ${r.fingerprint}\n${priorCertificateLine(ca, r.accountIdHex, '      ')}`);
    }
    io.out('Approve one after comparing its fingerprint with the person: sigilo admin ca approve ID\n');
    return 0;
  },
};

const caApprove: Command = {
  path: ['admin', 'ca', 'approve'],
  summary: "certify the key of a device's certification request (after comparing its fingerprint with the person)",
  usage: `sigilo admin ca approve ID [--name "NAME"] [--fingerprint "XXXX …"] [--days N] [--yes] [--data DIR] [--json]

Checks the request's signature by the identity key and that the key is still the account's, shows
the identity fingerprint to compare with the person's \`sigilo whoami\` (in person, or on a call you
trust), and asks for confirmation, unless --fingerprint matches or --yes is given. --name replaces
the name the person asked for. Then it certifies as \`sigilo admin ca certify\` does; a running server
pushes the certificate's CRL, and the device fetches its certificate at once.`,
  async run(args, io) {
    const { values, positionals } = parse(args, { ...dataOptions, name: { type: 'string' }, fingerprint: { type: 'string' }, days: { type: 'string' }, yes: { type: 'boolean' } }, true);
    const id = requestId(positionals);
    const days = values.days === undefined ? 365 : Number(values.days);
    const config = adminConfig(io, values);
    const ca = new IdentityCaDirectory(config.dataDir);
    if (!ca.exists()) throw new CaError('NO_CA', `no identity CA in ${ca.dir}; create one first: sigilo admin ca init --org NAME`);
    const r = checked((await runAdmin<CertificationRequestView>(config, { op: 'ca-request', requestId: id }, (a) => a.certificationRequest(id))).result);
    if (!signatureValid(r)) {
      io.err(`Request ${id} is NOT signed by the identity key it names (altered after it was sent): nothing was certified. Reject it: sigilo admin ca reject ${id}\n`);
      return 1;
    }
    if (!r.keyIsCurrent) {
      io.err(`Request ${id} is for a key the account no longer has (it registered again): nothing was certified. Reject it and ask the person to request again.\n`);
      return 1;
    }
    const name = str(values.name) ?? r.name;
    io.err(`Certification request ${id}, made ${r.createdAt} by device ${r.deviceId}; certify as "${printableName(name)}"${name !== r.name ? ` (asked: "${printableName(r.name)}")` : ''}:\n`
      + `${accountLines(r.summary, '  ').join('\n')}\n  identity fingerprint ${r.fingerprint}\n${priorCertificateLine(ca, r.accountIdHex, '  ')}`);
    const given = str(values.fingerprint);
    if (given !== undefined) {
      if (given.replace(/\s+/g, '').toLowerCase() !== r.fingerprint.replace(/\s+/g, '')) {
        io.err('The fingerprint given is NOT this request\'s identity key: nothing was certified. Check it with the person again (sigilo whoami).\n');
        return 1;
      }
    } else if (!values.yes) {
      if (!process.stdin.isTTY) {
        io.err('Nothing was done: compare the fingerprint above with the person\'s (sigilo whoami) and pass it with --fingerprint (or --yes).\n');
        return 1;
      }
      if (!(await confirm('Does the person\'s sigilo whoami show this fingerprint? [y/N] '))) {
        io.err('Nothing was certified; the request stays pending.\n');
        return 1;
      }
    }
    const signer = await openSigner(io, ca);
    let record: IssuedRecord;
    try {
      ({ record } = await ca.certify(signer, { accountId: fromHex(r.accountIdHex), identityKey: fromHex(r.identityKey), name, days }, new Date()));
    } finally {
      signer.close();
    }
    await runAdmin(config, { op: 'ca-request-close', requestId: id }, (a) => a.closeCertificationRequest(id));
    const pub = await publish(config.dataDir);
    if (values.json) {
      io.out(`${JSON.stringify({ ...record, requestId: id, accountId: r.summary.accountId, pushed: pub.pushed ?? null })}\n`);
      return 0;
    }
    io.out(`Certified ${printableName(name)} (${r.summary.accountId}) until ${record.notAfter}; serial ${record.serial}.\n`);
    published(io, pub);
    return 0;
  },
};

const caReject: Command = {
  path: ['admin', 'ca', 'reject'],
  summary: 'drop a certification request without certifying',
  usage: 'sigilo admin ca reject ID [--data DIR] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, dataOptions, true);
    const id = requestId(positionals);
    const config = adminConfig(io, values);
    const { result } = await runAdmin<{ closed: boolean }>(config, { op: 'ca-request-close', requestId: id }, (a) => a.closeCertificationRequest(id));
    if (values.json) { io.out(`${JSON.stringify({ requestId: id, rejected: result.closed })}\n`); return result.closed ? 0 : 1; }
    if (!result.closed) { io.err(`No pending certification request ${id} (sigilo admin ca requests lists them).\n`); return 1; }
    io.out(`Rejected request ${id}; nothing was certified.\n`);
    return 0;
  },
};

export const adminCaRequestCommands: readonly Command[] = [caRequests, caApprove, caReject];
