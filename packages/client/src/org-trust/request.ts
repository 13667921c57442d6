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

/** This device's last request, kept until its certificate arrives (`whoami` and the web app say it is pending). */
export interface PendingCertification { readonly requestId: number; readonly name: string; readonly requestedAt: number }

const PENDING_KEY = 'org.certification-request';

export async function requestCertification(engine: Engine, name: string): Promise<CertificationRequestResult> {
  const clean = name.trim();
  if (!clean) throw new ClientError('INVALID_INPUT', 'give the name to certify, as your organisation knows you');
  const { accountId, deviceId } = engine.requireAccount();
  const createdAt = engine.now();
  const identity = engine.identity;
  const signature = identity.signing.sign(certificationRequestPayload(accountId, deviceId, identity.publicKey, createdAt, clean));
  const f = await engine.requireConnection().request({ case: 'requestCertification', value: { name: clean, createdAt: BigInt(createdAt), signature } });
  if (f.body.case !== 'certificationRequested') throw new ClientError('SERVER_ERROR', `unexpected answer to a certification request: ${f.body.case}`);
  const requestId = Number(f.body.value.requestId);
  const pending: PendingCertification = { requestId, name: clean, requestedAt: createdAt };
  engine.store.setMeta(PENDING_KEY, new TextEncoder().encode(JSON.stringify(pending)));
  return { requestId, replaced: f.body.value.replaced };
}

/**
 * The request this device sent and that is not answered yet: undefined once the account's key is certified (the
 * record is then dropped), or when none was sent from this device. A rejected request stays pending here: the
 * server does not tell the person (the administrator does), and a new request replaces it.
 */
export function pendingCertification(engine: Engine, certified: boolean): PendingCertification | undefined {
  const raw = engine.store.getMeta(PENDING_KEY);
  if (!raw) return undefined;
  if (certified) {
    engine.store.setMeta(PENDING_KEY, undefined);
    return undefined;
  }
  try {
    const p = JSON.parse(new TextDecoder().decode(raw)) as PendingCertification;
    return Number.isSafeInteger(p.requestId) && typeof p.name === 'string' && Number.isFinite(p.requestedAt) ? p : undefined;
  } catch {
    return undefined;
  }
}
