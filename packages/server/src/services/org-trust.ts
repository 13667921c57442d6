/**
 * The organisation's identity CA as the server publishes it (spec/trust.md §5): the CA
 * certificate, the latest CRL and each account's certificate, read from
 * DATA/identity-ca/ as `sigilo admin ca` wrote them. The server signs nothing here and
 * vouches for nothing: clients check every signature against the CA they pinned.
 */
import { certificationRequestPayload, identitySigningKey } from '@sigilo/protocol';
import type { GetCertificates, RequestCertification } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { invalidArgument, ServerError } from '../errors.js';
import { checkName } from '../identity-ca/issue.js';
import type { Hub } from '../hub.js';
import { IdentityCaDirectory } from '../identity-ca/ca-directory.js';

/** Accounts per GetCertificates (a contact list is fetched in pages of this size). */
export const MAX_CERTIFICATE_ACCOUNTS = 256;

function orgTrustBody(dataDir: string) {
  const p = new IdentityCaDirectory(dataDir).published();
  return { case: 'orgTrust' as const, value: { caCertificate: p?.ca ?? new Uint8Array(0), crl: p?.crl ?? new Uint8Array(0) } };
}

export function getOrgTrust(ctx: ServerContext, _s: Session): Promise<Reply> {
  return Promise.resolve({ body: orgTrustBody(ctx.config.dataDir) });
}

export function getCertificates(ctx: ServerContext, _s: Session, m: GetCertificates): Promise<Reply> {
  if (m.accountIds.length > MAX_CERTIFICATE_ACCOUNTS) throw invalidArgument(`ask for at most ${MAX_CERTIFICATE_ACCOUNTS} accounts at once`);
  if (m.accountIds.some((a) => a.length !== 16)) throw invalidArgument('account ids are 16 bytes');
  const dir = new IdentityCaDirectory(ctx.config.dataDir);
  const certificates: Uint8Array[] = [];
  if (dir.exists()) for (const a of m.accountIds) { const c = dir.certificateOf(a); if (c) certificates.push(c); }
  return Promise.resolve({ body: { case: 'certificates', value: { certificates } } });
}

/** How far a request's signed time may be from the server's clock. */
export const CERTIFICATION_REQUEST_SKEW_MS = 10 * 60_000;

/**
 * A device asks the organisation to certify its account's identity key (spec/trust.md §4.1). The account,
 * device and key are the session's, so one member cannot ask in another's name; the identity key's signature
 * over all of them, the name and the time is kept for the administrator's CLI to check again. The request
 * certifies nothing: only `sigilo admin ca approve`, with the CA key, does.
 */
export async function requestCertification(ctx: ServerContext, s: Session, m: RequestCertification): Promise<Reply> {
  if (!new IdentityCaDirectory(ctx.config.dataDir).exists()) {
    throw new ServerError('NO_IDENTITY_CA', 'this organisation has no identity CA: there is nothing to request (the administrator runs sigilo admin ca init)');
  }
  try { checkName('the name', m.name); } catch (e) { throw invalidArgument((e as Error).message); }
  const createdAt = Number(m.createdAt);
  if (Math.abs(createdAt - ctx.now()) > CERTIFICATION_REQUEST_SKEW_MS) throw invalidArgument('created_at is more than 10 minutes from the server\'s clock: check this device\'s clock');
  if (m.signature.length !== 64) throw invalidArgument('the signature is 64 bytes');
  const payload = certificationRequestPayload(s.accountId, s.deviceId, s.identityKey, createdAt, m.name);
  if (!ctx.crypto.ed25519Verify(identitySigningKey(s.identityKey), payload, m.signature)) {
    throw new ServerError('INVALID_SIGNATURE', "the request is not signed by this account's identity key");
  }
  const r = await ctx.storage.putCertificationRequest({ accountId: s.accountId, deviceId: s.deviceId, name: m.name, identityKey: s.identityKey, signature: m.signature, createdAt });
  if (!r) throw new ServerError('NOT_FOUND', 'this account was removed');
  return { body: { case: 'certificationRequested', value: { requestId: BigInt(r.requestId), replaced: r.replaced } } };
}

/**
 * After `sigilo admin ca` changed the CA's files: pushes the CA and the new CRL to every device
 * connected to this node at once (a revocation must not wait for a cache to expire).
 */
export function pushOrgTrust(hub: Hub, dataDir: string): number {
  const { value } = orgTrustBody(dataDir);
  return pushOrgTrustBytes(hub, value.caCertificate, value.crl);
}

/** The CA and CRL as published files (empty when there is no CA), for relaying them to the other nodes. */
export function publishedOrgTrust(dataDir: string): { ca: Uint8Array; crl: Uint8Array } {
  const { value } = orgTrustBody(dataDir);
  return { ca: value.caCertificate, crl: value.crl };
}

/**
 * A CA and CRL relayed by another node (cluster.ts): pushed to this node's devices only when the CA is
 * byte for byte the one in this node's own identity CA directory (every node holds the same, spec/trust.md
 * §5); undefined, nothing pushed, otherwise. A device that has pinned no CA yet pins the first one it is
 * sent, so a CA from the bus alone (anyone who can publish there) must never reach it. The CRL is
 * pushed as it came: every device checks it against its pinned CA and keeps it only if its number is
 * higher than the one it has, so a relayed copy can neither forge nor roll back a revocation.
 */
export function pushRelayedOrgTrust(hub: Hub, dataDir: string, caCertificate: Uint8Array, crl: Uint8Array): number | undefined {
  const own = publishedOrgTrust(dataDir).ca;
  if (own.length === 0 || !Buffer.from(own).equals(caCertificate)) return undefined;
  return pushOrgTrustBytes(hub, caCertificate, crl);
}

/** Pushes a CA and CRL to every device connected to this node. */
export function pushOrgTrustBytes(hub: Hub, caCertificate: Uint8Array, crl: Uint8Array): number {
  const body = { case: 'orgTrust' as const, value: { caCertificate, crl } };
  let n = 0;
  for (const conn of hub.connections()) {
    conn.send(body);
    n++;
  }
  return n;
}
