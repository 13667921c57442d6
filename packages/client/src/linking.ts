/**
 * Linking a device (client.md §6) and what a backup holds (backup.md): the
 * identity, contacts, groups and history sent through the provisioning relay
 * or written to a backup, and installed on the new device.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { decodeIdentityKeyPair, encodeIdentityKeyPair, generateX25519KeyPair, linkDevicePayload, linkIdentityPayload } from '@sigilo/protocol';
import { HistoryArchiveSchema, type HistoryEntry, type ProvisionMessage, ProvisionMessageSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { generateDeviceKey } from './account.js';
import { Connection, type ServerAddress, ServerRequestError } from './connection.js';
import { type Engine, META, u32 } from './engine.js';
import { installPrivacySettings, privacySettings } from './conversation-privacy.js';
import { checkProvisionedOrgTrust, installProvisionedOrgTrust, orgTrustForProvisioning } from './org-trust/org-trust.js';
import { ClientError } from './errors.js';
import { carried, historyEntry, LINK_TOKEN_LENGTH, rememberSnapshot, requestCatchUp } from './link-catch-up.js';
import { acceptPointers } from './media/pointer.js';
import { replenishPreKeys } from './prekeys.js';
import { decryptHistory, encryptHistory, formatLinkCode, linkQrPayload, openProvision, parseLinkCode, sealProvision } from './provisioning.js';
import { statusFromWire } from './status.js';

/**
 * On a NEW device: asks the server for a provisioning address and returns the
 * code to show (and its QR payload). `completed` resolves once an existing
 * device approved the code: the identity, contacts and history are installed,
 * this device is linked to the account and its prekeys are published.
 */
export async function startLink(engine: Engine): Promise<{ code: string; qrPayload: Uint8Array; completed: Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }>; cancel(): void }> {
  if (engine.accountId) throw new ClientError('ALREADY_REGISTERED', 'this device is already registered; link from a new --dir');
  const address = engine.requireServer();
  const deliveries: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  const { connection, nonce } = await Connection.open(engine.transportFor(address), (f) => {
    if (f.body.case === 'provisionDeliver') {
      deliveries.push(f.body.value.body);
      wake?.();
    }
  });
  void connection.closed.then(() => wake?.());
  const listen = await connection.request({ case: 'provisionListen', value: {} });
  if (listen.body.case !== 'provisionAddress') throw new ClientError('SERVER_ERROR', 'the server has no provisioning relay; update it');
  const ephemeral = generateX25519KeyPair(engine.ctx);
  const code = { address: listen.body.value.address, publicKey: ephemeral.publicKey };
  const next = async (): Promise<Uint8Array> => {
    while (deliveries.length === 0) {
      if (!connection.isOpen) throw new ClientError('LINK_FAILED', 'the connection closed before the link was approved; run `sigilo link` again');
      await new Promise<void>((r) => { wake = r; });
    }
    return deliveries.shift()!;
  };
  // The server closes idle unauthenticated connections: keep this one alive while the person walks to the other device.
  const keepAlive = setInterval(() => { connection.request({ case: 'ping', value: {} }, 10_000).catch(() => {}); }, 5_000);
  const completed = (async () => {
    try {
      const pm = fromBinary(ProvisionMessageSchema, openProvision(engine.ctx, ephemeral, await next()));
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < pm.historyChunks; i++) chunks.push(await next());
      const archive = fromBinary(HistoryArchiveSchema, decryptHistory(engine.ctx, pm.historyKey, chunks, pm.historyChunks));
      return await installAccount(engine, connection, nonce, pm, archive.entries, true);
    } finally {
      clearInterval(keepAlive);
      connection.close();
    }
  })();
  completed.catch(() => {});
  return { code: formatLinkCode(code), qrPayload: linkQrPayload(code), completed, cancel: () => connection.close() };
}

/**
 * On an EXISTING device: sends the identity, contacts and the conversation
 * history, encrypted to the new device's code, through the provisioning relay.
 */
export async function approveLink(engine: Engine, codeText: string, options: { onProgress?: (sent: number, total: number) => void } = {}): Promise<{ historyMessages: number }> {
  const me = engine.requireAccount();
  const connection = engine.requireConnection();
  const code = parseLinkCode(codeText);
  // What this device stores from now on is sent to the new device once it can be addressed (link-catch-up.ts).
  const linkToken = engine.ctx.random(LINK_TOKEN_LENGTH);
  engine.store.transaction(() => rememberSnapshot(engine, linkToken, engine.now()));
  const entries = historyEntries(engine);
  const historyKey = engine.ctx.random(32);
  const chunks = encryptHistory(engine.ctx, historyKey, toBinary(HistoryArchiveSchema, create(HistoryArchiveSchema, { entries })));
  const pm = provisionMessage(engine, me.accountId);
  pm.historyKey = historyKey;
  pm.historyChunks = chunks.length;
  pm.linkToken = linkToken;
  const total = chunks.length + 1;
  await connection.request({ case: 'provisionSend', value: { address: code.address, body: sealProvision(engine.ctx, code.publicKey, toBinary(ProvisionMessageSchema, pm)) } });
  options.onProgress?.(1, total);
  for (let i = 0; i < chunks.length; i++) {
    await connection.request({ case: 'provisionSend', value: { address: code.address, body: chunks[i]! } });
    options.onProgress?.(i + 2, total);
  }
  historyKey.fill(0);
  engine.ownDevices = undefined; // the new device appears in the next device list
  return { historyMessages: entries.length };
}

/** The identity, contacts and groups a new device of this account gets (linking, backup). */
export function provisionMessage(engine: Engine, accountId: Uint8Array): ProvisionMessage {
  const profiles = engine.profiles.forProvisioning();
  return create(ProvisionMessageSchema, {
    accountId,
    profileKey: profiles.profileKey,
    ownProfile: profiles.ownProfile,
    profiles: profiles.known,
    username: engine.usernames.current ?? '',
    identityKeyPair: encodeIdentityKeyPair(engine.identity),
    accessKey: engine.accessKey ?? new Uint8Array(0),
    contacts: engine.store.listContacts().map((c) => ({
      alias: c.alias ?? '', accountId: c.accountId, identityKey: c.identityKey ?? new Uint8Array(0), verified: c.verified,
      accessKey: c.accessKey ?? new Uint8Array(0), mutedUntil: BigInt(c.mutedUntil), profileKey: profiles.contactKey(c.accountId),
    })),
    groups: engine.groups.forProvisioning(),
    ...privacySettings(engine),
    ...orgTrustForProvisioning(engine),
  });
}

/** Every stored message not deleted, with its attachment pointers (linking, backup). */
export function historyEntries(engine: Engine): HistoryEntry[] {
  // Group changes are not copied (a new device verifies the group logs itself, client.md §12). Nor are disappearing
  // messages and notices: a copy made to outlive its timer (a backup) or on a device that learned no countdown would
  // defeat it (client.md §14).
  return engine.store.allMessages().filter(carried).map(historyEntry);
}

/**
 * Links a new device to the account of `pm` (signing with its identity key) over `connection`, then installs the
 * identity, contacts, groups and history in one transaction and publishes this device's prekeys.
 */
export async function installAccount(engine: Engine, connection: Connection, nonce: Uint8Array, pm: ProvisionMessage, entries: readonly HistoryEntry[], linked = false): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
  // An identity key on a token (trust.md §7.1) signs this link on the token; a client without tokens (a browser) refuses here, before the link.
  const identity = decodeIdentityKeyPair(engine.ctx.crypto, pm.identityKeyPair, engine.identityToken);
  checkProvisionedOrgTrust(engine, pm);
  const deviceKey = generateDeviceKey(engine);
  const f = await connection.request({
    case: 'linkDevice',
    value: {
      accountId: pm.accountId,
      deviceKey: deviceKey.publicKey,
      identitySignature: identity.signing.sign(linkIdentityPayload(nonce, pm.accountId, deviceKey.publicKey)),
      deviceSignature: engine.ctx.crypto.ed25519Sign(deviceKey.privateKey, linkDevicePayload(nonce, pm.accountId)),
    },
  });
  if (f.body.case !== 'registered') throw new ClientError('SERVER_ERROR', 'unexpected answer to the link request');
  const deviceId = f.body.value.deviceId;
  const now = engine.now();
  engine.store.transaction(() => {
    engine.store.setMeta(META.identity, pm.identityKeyPair);
    engine.store.setMeta(META.deviceKey, deviceKey.privateKey);
    engine.store.setMeta(META.accountId, pm.accountId);
    engine.store.setMeta(META.deviceId, u32(deviceId));
    engine.store.setMeta(META.accessKey, pm.accessKey);
    for (const c of pm.contacts) {
      engine.store.putContact({
        accountId: c.accountId, alias: c.alias || undefined, identityKey: c.identityKey.length ? c.identityKey : undefined, pendingIdentityKey: undefined,
        verified: c.verified, accessKey: c.accessKey.length ? c.accessKey : undefined, mutedUntil: Number(c.mutedUntil),
      });
    }
    for (const e of entries) {
      const attachments = acceptPointers(e.attachments);
      engine.store.insertMessage({
        conversation: e.conversationAccountId, messageId: e.messageId, author: e.authorAccountId, outgoing: e.outgoing,
        timestamp: Number(e.timestamp), text: e.text, status: statusFromWire(e.status), deleted: false, receivedAt: now,
      });
      if (e.privateWith.length === 16) engine.store.setMessagePrivateWith(e.conversationAccountId, e.messageId, e.privateWith);
      if (attachments.length) engine.store.setMessageAttachments(e.conversationAccountId, e.messageId, attachments);
    }
    engine.groups.installProvisioned(pm.groups, now);
    installPrivacySettings(engine, pm);
    installProvisionedOrgTrust(engine, pm);
    engine.profiles.installProvisioned(pm);
    engine.usernames.installProvisioned(pm.username);
    // Sent by the outbox once connected, after the prekeys (online.ts): the approving device answers with what came meanwhile.
    if (linked) requestCatchUp(engine, pm.linkToken);
  });
  engine.identityCache = identity;
  engine.retain(identity);
  engine.account = undefined;
  await replenishPreKeys(engine, connection, true);
  return { accountId: pm.accountId, deviceId, historyMessages: entries.length };
}

/**
 * Backup (backup.ts, spec/backup.md): what a backup holds of this account. Never this device's own keys,
 * prekeys or sessions: a restore links a new device.
 */
export function backupContents(engine: Engine): { account: ProvisionMessage; messages: HistoryEntry[]; server: ServerAddress } {
  const me = engine.requireAccount();
  return { account: provisionMessage(engine, me.accountId), messages: historyEntries(engine), server: engine.requireServer() };
}

/**
 * Restore (backup.ts): on a device with a server configured and no account, links this device to the backup's
 * account with the identity key it holds, and installs its contacts, groups and history.
 */
export async function restoreAccount(engine: Engine, account: ProvisionMessage, messages: readonly HistoryEntry[]): Promise<{ accountId: Uint8Array; deviceId: number; historyMessages: number }> {
  if (engine.accountId) throw new ClientError('ALREADY_REGISTERED', 'this directory already holds an account; restore into a new --dir');
  const { connection, nonce } = await Connection.open(engine.transport(), () => {});
  try {
    return await installAccount(engine, connection, nonce, account, messages);
  } catch (e) {
    if (e instanceof ServerRequestError && e.serverCode === 'AUTH_FAILED') {
      throw new ClientError('ACCOUNT_GONE', 'the server does not have this account any more (the administrator removed it, or the backup is of an account on another server): nothing was restored; ask your administrator for an invite and run `sigilo register`');
    }
    throw e;
  } finally {
    connection.close();
  }
}
