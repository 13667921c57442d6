/** Pairwise sessions: fetching prekey bundles and starting sessions with every device of an account (client.md §3). */
import { bytesEqual, decodePreKeyBundle, decodeSessionRecord, encodeSessionRecord, initiateSession } from '@sigilo/protocol';
import { Connection } from './connection.js';
import { assertSendable, checkIncomingIdentity } from './contacts.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';

/** Fetches bundles (all devices, or the listed ones) and starts sessions, checking identities. */
export async function fetchSessions(engine: Engine, connection: Connection, accountId: Uint8Array, deviceIds: number[]): Promise<void> {
  const f = await connection.request({ case: 'fetchBundles', value: { accountId, deviceIds } });
  if (f.body.case !== 'bundles') throw new ClientError('SERVER_ERROR', 'unexpected answer to a bundle request');
  const bundles = f.body.value.bundles;
  const me = engine.requireAccount();
  const toSelf = bytesEqual(accountId, me.accountId);
  const decoded = bundles.map((bytes) => decodePreKeyBundle(bytes));
  // Every fetched key must be in the server's key transparency log (spec/transparency.md §6.1).
  await engine.kt.verifyBundles(connection, accountId, f.body.value, decoded);
  // Identity first, committed on its own: a changed key is remembered (and blocks sending)
  // even though no session is built with it.
  const events: ClientEvent[] = [];
  engine.store.transaction(() => {
    for (const bundle of decoded) {
      if (toSelf) {
        if (!bytesEqual(bundle.identityKey, engine.identity.publicKey)) throw new ClientError('IDENTITY_CHANGED', 'a device of this account has another identity key');
      } else {
        checkIncomingIdentity(engine, accountId, bundle.identityKey, me.accountId, events);
      }
    }
  });
  for (const e of events) engine.emit(e);
  if (!toSelf) assertSendable(engine, accountId);
  engine.store.transaction(() => {
    for (const bundle of decoded) {
      const existing = engine.store.getSession(accountId, bundle.deviceId);
      const record = initiateSession(engine.ctx, engine.identity, bundle, existing ? decodeSessionRecord(existing) : undefined);
      engine.store.putSession(accountId, bundle.deviceId, encodeSessionRecord(record));
    }
  });
  if (bundles.length === 0 && !toSelf) {
    throw new ClientError('CONNECTION_FAILED', 'the contact has no device with published keys yet; it will be retried');
  }
}
