/**
 * The organisation's identity CA as the server publishes it (spec/trust.md §5): the CA
 * certificate, the latest CRL and each account's certificate, read from
 * DATA/identity-ca/ as `sigilo admin ca` wrote them. The server signs nothing here and
 * vouches for nothing: clients check every signature against the CA they pinned.
 */
import type { GetCertificates } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { Reply } from '../connection.js';
import type { ServerContext, Session } from '../context.js';
import { invalidArgument } from '../errors.js';
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
 * Pushes a CA and CRL relayed by another node (cluster.ts) to this node's devices. The bytes are
 * pushed as they came: every device checks them against the CA it pinned, and keeps a CRL only if its
 * number is higher than the one it has, so a relayed copy can neither forge nor roll back anything.
 */
export function pushOrgTrustBytes(hub: Hub, caCertificate: Uint8Array, crl: Uint8Array): number {
  const body = { case: 'orgTrust' as const, value: { caCertificate, crl } };
  let n = 0;
  for (const conn of hub.connections()) {
    conn.send(body);
    n++;
  }
  return n;
}
