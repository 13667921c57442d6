/** Safety numbers: comparing, scanning and accepting a contact's identity key (client.md §4.2). */
import { bytesEqual, decodeSessionRecord, formatSafetyNumber, safetyNumber as computeSafetyNumber, verifySafetyNumberQr } from '@sigilo/protocol';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { flushSoon } from './outbox.js';

export function safetyNumber(engine: Engine, accountId: Uint8Array): { digits: string; formatted: string; qrPayload: Uint8Array; verified: boolean; changed: boolean } {
  const me = engine.requireAccount();
  const c = engine.store.getContact(accountId);
  const theirs = c?.pendingIdentityKey ?? c?.identityKey;
  if (!theirs) throw new ClientError('NOT_FOUND', 'no identity known for this contact yet: exchange a message first');
  const sn = computeSafetyNumber(engine.ctx.crypto, { identityKey: engine.identity.publicKey, stableId: me.accountId }, { identityKey: theirs, stableId: accountId });
  return { digits: sn.digits, formatted: formatSafetyNumber(sn.digits), qrPayload: sn.qrPayload, verified: c!.verified, changed: c!.pendingIdentityKey !== undefined };
}

/** Accepts a contact's changed identity key (after comparing safety numbers), unblocking sends. */
export function acceptIdentity(engine: Engine, accountId: Uint8Array, verified = false): void {
  const c = engine.store.getContact(accountId);
  if (!c?.pendingIdentityKey) {
    if (c && verified) engine.store.putContact({ ...c, verified: true });
    return;
  }
  engine.store.transaction(() => {
    engine.store.putContact({ ...c, identityKey: c.pendingIdentityKey, pendingIdentityKey: undefined, verified });
    // Sessions built with the old key are useless now.
    for (const d of engine.store.sessionDevices(accountId)) {
      const record = decodeSessionRecord(engine.store.getSession(accountId, d)!);
      if (record.current && !bytesEqual(record.current.remoteIdentity, c.pendingIdentityKey!)) engine.store.deleteSession(accountId, d);
    }
  });
  flushSoon(engine, 0);
}

/** Marks a contact verified after its QR payload was scanned (or digits compared). */
export function verifyQr(engine: Engine, accountId: Uint8Array, scanned: Uint8Array): boolean {
  const ok = verifySafetyNumberQr(safetyNumber(engine, accountId).qrPayload, scanned);
  if (ok) acceptIdentity(engine, accountId, true);
  return ok;
}
