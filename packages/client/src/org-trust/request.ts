/**
 * A device asks the organisation to certify its account's identity key (spec/trust.md §4.1): the name the
 * person wants certified and the time, signed by the identity key with the account, device and key. The
 * server queues it for the administrator, who approves it with the CA key after comparing the identity
 * fingerprint with the person; the certificate then reaches this device with the next OrgTrust push.
 */
import { certificationRequestPayload } from '@sigilo/protocol';
import type { Engine } from '../engine.js';
import { ClientError } from '../errors.js';

/** What the administrator approves: `sigilo admin ca approve <requestId>`; `replaced`: an older pending request of this account was dropped. */
export interface CertificationRequestResult { readonly requestId: number; readonly replaced: boolean }

export async function requestCertification(engine: Engine, name: string): Promise<CertificationRequestResult> {
  const clean = name.trim();
  if (!clean) throw new ClientError('INVALID_INPUT', 'give the name to certify, as your organisation knows you');
  const { accountId, deviceId } = engine.requireAccount();
  const createdAt = engine.now();
  const identity = engine.identity;
  const signature = identity.signing.sign(certificationRequestPayload(accountId, deviceId, identity.publicKey, createdAt, clean));
  const f = await engine.requireConnection().request({ case: 'requestCertification', value: { name: clean, createdAt: BigInt(createdAt), signature } });
  if (f.body.case !== 'certificationRequested') throw new ClientError('SERVER_ERROR', `unexpected answer to a certification request: ${f.body.case}`);
  return { requestId: Number(f.body.value.requestId), replaced: f.body.value.replaced };
}
