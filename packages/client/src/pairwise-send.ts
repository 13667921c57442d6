/**
 * Sending one encoded Content pairwise, now (client.md §3, §10.3): encrypted
 * for every device of the recipient (or of this account), sealed over the
 * unauthenticated connection when the recipient's access key is known,
 * repairing the device list when the server calls it stale.
 */
import { bytesEqual, decodeSessionRecord, encodeSessionRecord, encryptMessage, messageType, SEALED_CONTENT_PREKEY, SEALED_CONTENT_RATCHET, sealSender, verifySenderCertificate } from '@sigilo/protocol';
import { type ClientBody, Connection, ServerRequestError } from './connection.js';
import { expiryHint } from './disappearing.js';
import type { Engine } from './engine.js';
import { ClientError } from './errors.js';
import { pad } from './padding.js';
import { fetchSessions } from './sessions.js';

/** The connection sealed sends go over: opened on first use, never authenticated, reopened after it closes. */
export function anonymousConnection(engine: Engine): Promise<Connection> {
  const existing = engine.anonymous;
  if (existing) {
    return existing.then((c) => {
      if (c.isOpen) return c;
      engine.anonymous = undefined;
      return anonymousConnection(engine);
    });
  }
  const opening = Connection.open(engine.transport(), () => { /* nothing is pushed to an unauthenticated connection */ }).then((o) => o.connection);
  engine.anonymous = opening;
  opening.catch(() => { if (engine.anonymous === opening) engine.anonymous = undefined; });
  return opening;
}

export async function senderCertificate(engine: Engine, connection: Connection): Promise<Uint8Array> {
  const now = engine.now();
  if (engine.certificate && engine.certificate.expires - 60_000 > now) return engine.certificate.bytes;
  const f = await connection.request({ case: 'getSenderCertificate', value: {} });
  if (f.body.case !== 'senderCertificate') throw new ClientError('SERVER_ERROR', 'unexpected answer to a sender certificate request');
  // Check it before use: a certificate we could not verify, our peers could not either.
  const body = verifySenderCertificate(engine.ctx.crypto, engine.trustedKeys(), f.body.value.certificate, now);
  engine.certificate = { bytes: f.body.value.certificate, expires: body.expires };
  return engine.certificate.bytes;
}

/** Every device of this account (this one included), asked once per connection and cached. */
export async function ownDevices(engine: Engine, connection: Connection): Promise<number[]> {
  if (!engine.ownDevices) {
    const f = await connection.request({ case: 'listDevices', value: {} });
    engine.ownDevices = f.body.case === 'devices' ? f.body.value.devices.map((d) => d.deviceId) : [];
  }
  return engine.ownDevices;
}

/**
 * Encrypts `content` for every device of `to` (for this account: every other device) and
 * sends it, sealed when the recipient's access key is known. Repairs the device list on a
 * STALE_DEVICES answer and retries.
 */
export async function deliverContent(engine: Engine, to: Uint8Array, content: Uint8Array, messageId: Uint8Array, options: { onlineOnly?: boolean } = {}): Promise<void> {
  const onlineOnly = options.onlineOnly ?? false;
  // A disappearing message tells the server when an undelivered copy may go (server.md §8.3).
  const expiresHint = onlineOnly || !engine.expiryHints ? 0n : expiryHint(content, engine.now());
  const me = engine.requireAccount();
  const connection = engine.requireConnection();
  const toSelf = bytesEqual(to, me.accountId);
  if (toSelf && !(await ownDevices(engine, connection)).some((d) => d !== me.deviceId)) return; // no other device to sync
  const padded = pad(content);
  const contact = toSelf ? undefined : engine.store.getContact(to);
  let sealed = !toSelf && contact?.accessKey !== undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    let devices = engine.store.sessionDevices(to).filter((d) => !(toSelf && d === me.deviceId));
    if (devices.length === 0) {
      await fetchSessions(engine, connection, to, []);
      devices = engine.store.sessionDevices(to).filter((d) => !(toSelf && d === me.deviceId));
      if (devices.length === 0 && toSelf) return; // other own devices have no keys yet: nothing to sync to
    }
    const messages = engine.store.transaction(() => devices.map((deviceId) => {
      const record = decodeSessionRecord(engine.store.getSession(to, deviceId)!);
      const out = encryptMessage(engine.ctx, record, padded);
      engine.store.putSession(to, deviceId, encodeSessionRecord(out.record));
      return { deviceId, message: out.message, remoteIdentity: out.record.current!.remoteIdentity };
    }));
    await engine.durable(); // the ratchet step is durable before its ciphertext leaves (no message key reused after a crash)
    try {
      if (sealed) {
        const certificate = await senderCertificate(engine, connection);
        const anonymous = await anonymousConnection(engine);
        await anonymous.request({
          case: 'sealedSend',
          value: {
            recipientAccountId: to, messageId, accessKey: contact!.accessKey!, onlineOnly, expiresHint,
            messages: messages.map((m) => ({
              deviceId: m.deviceId,
              content: sealSender(engine.ctx, engine.identity, m.remoteIdentity, certificate,
                messageType(m.message) === 'prekey' ? SEALED_CONTENT_PREKEY : SEALED_CONTENT_RATCHET, m.message, engine.sealedCache),
            })),
          },
        } satisfies ClientBody);
      } else {
        await connection.request({ case: 'send', value: { recipientAccountId: to, messageId, onlineOnly, expiresHint, messages: messages.map((m) => ({ deviceId: m.deviceId, content: m.message })) } });
      }
      return;
    } catch (e) {
      if (e instanceof ServerRequestError && e.serverCode === 'STALE_DEVICES' && e.frame.body.case === 'error') {
        const stale = e.frame.body.value.staleDevices!;
        engine.store.transaction(() => { for (const d of stale.extraDeviceIds) engine.store.deleteSession(to, d); });
        if (toSelf) engine.ownDevices = [...stale.currentDeviceIds, me.deviceId];
        if (stale.missingDeviceIds.length) await fetchSessions(engine, connection, to, stale.missingDeviceIds);
        continue;
      }
      if (e instanceof ServerRequestError && e.serverCode === 'UNAUTHORIZED' && sealed) {
        // The access key we hold is wrong or was changed: fall back to an identified send.
        sealed = false;
        continue;
      }
      throw e;
    }
  }
  throw new ClientError('SERVER_ERROR', 'the recipient\'s device list kept changing; try again');
}

/**
 * Sends several pairwise Contents together (a group's membership change with the new sender key goes to every
 * member at once): every recipient's sessions are advanced and stored in one transaction before anything leaves
 * (one commit instead of one per recipient), then all the sends go out without waiting for each other. An item
 * that needs more (this account's own devices, a recipient with no session yet, a device list the server calls
 * stale, a refused access key) is sent by #deliverContent on its own, which repairs and retries. Resolves with
 * whether each item went out.
 */
export async function deliverContents(engine: Engine, items: readonly { to: Uint8Array; content: Uint8Array; messageId: Uint8Array }[]): Promise<boolean[]> {
  const me = engine.requireAccount();
  const connection = engine.requireConnection();
  const results = new Array<boolean>(items.length).fill(false);
  const alone = (i: number) => deliverContent(engine, items[i]!.to, items[i]!.content, items[i]!.messageId).then(() => { results[i] = true; }, () => {});
  const single: number[] = [];
  const batch: { index: number; accessKey: Uint8Array | undefined; messages: { deviceId: number; message: Uint8Array; remoteIdentity: Uint8Array }[] }[] = [];
  engine.store.transaction(() => items.forEach((item, index) => {
    const contact = engine.store.getContact(item.to);
    if (contact?.pendingIdentityKey) return; // held until the new safety number is accepted
    const devices = bytesEqual(item.to, me.accountId) ? [] : engine.store.sessionDevices(item.to);
    if (devices.length === 0) {
      single.push(index);
      return;
    }
    try {
      const padded = pad(item.content);
      const messages = devices.map((deviceId) => {
        const out = encryptMessage(engine.ctx, decodeSessionRecord(engine.store.getSession(item.to, deviceId)!), padded);
        engine.store.putSession(item.to, deviceId, encodeSessionRecord(out.record));
        return { deviceId, message: out.message, remoteIdentity: out.record.current!.remoteIdentity };
      });
      batch.push({ index, accessKey: contact?.accessKey, messages });
    } catch {
      single.push(index); // a session that cannot encrypt: the one-at-a-time path reports it (the outbox keeps the row)
    }
  }));
  await engine.durable();
  const sealed = batch.some((b) => b.accessKey);
  const certificate = sealed ? await senderCertificate(engine, connection) : undefined;
  const anonymous = sealed ? await anonymousConnection(engine) : undefined;
  await Promise.all([
    ...single.map(alone),
    ...batch.map(async ({ index, accessKey, messages }) => {
      const { to, messageId, content } = items[index]!;
      const expiresHint = engine.expiryHints ? expiryHint(content, engine.now()) : 0n;
      try {
        if (accessKey) {
          await anonymous!.request({
            case: 'sealedSend',
            value: {
              recipientAccountId: to, messageId, accessKey, expiresHint,
              messages: messages.map((m) => ({
                deviceId: m.deviceId,
                content: sealSender(engine.ctx, engine.identity, m.remoteIdentity, certificate!,
                  messageType(m.message) === 'prekey' ? SEALED_CONTENT_PREKEY : SEALED_CONTENT_RATCHET, m.message, engine.sealedCache),
              })),
            },
          } satisfies ClientBody);
        } else {
          await connection.request({ case: 'send', value: { recipientAccountId: to, messageId, expiresHint, messages: messages.map((m) => ({ deviceId: m.deviceId, content: m.message })) } });
        }
        results[index] = true;
      } catch (e) {
        // Stale devices, a refused access key…: the one-at-a-time path repairs that. Anything else waits for the outbox.
        if (e instanceof ServerRequestError) await alone(index);
      }
    }),
  ]);
  return results;
}
