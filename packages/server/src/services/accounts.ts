/** Registration with an invite, device linking, challenge-response authentication, account settings. */
import { identitySigningKey } from '@sigilo/protocol';
import type { Authenticate, LinkDevice, Register, SetAccessKey } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { hash } from 'node:crypto';
import {
  ACCOUNT_ID_LENGTH, DEVICE_KEY_LENGTH, authPayload, linkDevicePayload, linkIdentityPayload, registerDevicePayload, registerIdentityPayload,
} from '../auth.js';
import type { Connection, Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { ServerError, invalidArgument } from '../errors.js';
import { dayOf, toHex } from '../ids.js';
import { removedDeviceError } from './devices.js';
import { inviteCodeHash } from './invites.js';

const SIGNATURE_LENGTH = 64;
const IDENTITY_KEY_LENGTH = 64;
export const ACCESS_KEY_LENGTH = 16;

const authFailed = () => new ServerError('AUTH_FAILED', 'authentication failed: unknown device or wrong signature; check the account and device ids and the device key');

function need(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw invalidArgument(`${what} must be ${length} bytes`);
}

async function touchLastSeen(ctx: ServerContext, accountId: Uint8Array, deviceId: number, known: number | undefined): Promise<void> {
  if (ctx.config.retention.lastSeen !== 'day') return;
  const today = dayOf(ctx.now());
  if (known !== today) await ctx.storage.setLastSeen(accountId, deviceId, today);
}

export async function register(ctx: ServerContext, conn: Connection, m: Register): Promise<Reply> {
  need(m.identityKey, IDENTITY_KEY_LENGTH, 'identity_key');
  need(m.deviceKey, DEVICE_KEY_LENGTH, 'device_key');
  need(m.identitySignature, SIGNATURE_LENGTH, 'identity_signature');
  need(m.deviceSignature, SIGNATURE_LENGTH, 'device_signature');
  // Guessing invite codes: failures are bounded per source address and in all (registration-guard.ts).
  const guard = ctx.registrationGuard;
  guard.begin(conn.sourceKey, ctx.now());
  if (m.inviteCode.length === 0 || m.inviteCode.length > 64) {
    throw new ServerError('INVITE_INVALID', 'registration needs an invite code from your administrator (`sigilo admin invite`)');
  }
  const { crypto } = ctx;
  if (!crypto.ed25519Verify(identitySigningKey(m.identityKey), registerIdentityPayload(conn.nonce, m.deviceKey), m.identitySignature)
    || !crypto.ed25519Verify(m.deviceKey, registerDevicePayload(conn.nonce, m.identityKey), m.deviceSignature)) {
    ctx.metrics.registrations.inc({ outcome: 'bad_signature' });
    throw authFailed();
  }
  const now = ctx.now();
  const accountId = ctx.random(ACCOUNT_ID_LENGTH);
  const createdDay = dayOf(now);
  const r = await ctx.storage.registerAccount(inviteCodeHash(m.inviteCode), now,
    { accountId, identityKey: m.identityKey, accessKeyHash: undefined, unrestricted: false, createdDay },
    { deviceKey: m.deviceKey, createdDay });
  if (r.status !== 'ok') {
    ctx.metrics.registrations.inc({ outcome: r.status });
    throw r.status === 'invite-expired'
      ? new ServerError('INVITE_EXPIRED', 'this invite code has expired; ask your administrator for a new one')
      : new ServerError('INVITE_INVALID', 'this invite code is not valid or was already used; ask your administrator for a new one');
  }
  ctx.metrics.registrations.inc({ outcome: 'registered' });
  guard.succeeded(conn.sourceKey, ctx.now());
  ctx.log.info('account registered');
  await ctx.kt.append([{ kind: 'add', accountId, deviceId: r.deviceId, identityKey: m.identityKey, time: now }]);
  await touchLastSeen(ctx, accountId, r.deviceId, undefined);
  const after = conn.establish({ accountId, accountHex: toHex(accountId), deviceId: r.deviceId, identityKey: m.identityKey });
  return { body: { case: 'registered', value: { accountId, deviceId: r.deviceId } }, after };
}

export async function linkDevice(ctx: ServerContext, conn: Connection, m: LinkDevice): Promise<Reply> {
  need(m.accountId, ACCOUNT_ID_LENGTH, 'account_id');
  need(m.deviceKey, DEVICE_KEY_LENGTH, 'device_key');
  need(m.identitySignature, SIGNATURE_LENGTH, 'identity_signature');
  need(m.deviceSignature, SIGNATURE_LENGTH, 'device_signature');
  const account = await ctx.storage.getAccount(m.accountId);
  if (!account
    || !ctx.crypto.ed25519Verify(identitySigningKey(account.identityKey), linkIdentityPayload(conn.nonce, m.accountId, m.deviceKey), m.identitySignature)
    || !ctx.crypto.ed25519Verify(m.deviceKey, linkDevicePayload(conn.nonce, m.accountId), m.deviceSignature)) {
    ctx.metrics.registrations.inc({ outcome: 'link_failed' });
    throw authFailed();
  }
  const r = await ctx.storage.addDevice(m.accountId, { deviceKey: m.deviceKey, createdDay: dayOf(ctx.now()) }, ctx.config.limits.maxDevicesPerAccount);
  if (r.status === 'limit') {
    ctx.metrics.registrations.inc({ outcome: 'device_limit' });
    throw new ServerError('DEVICE_LIMIT', `this account already has the maximum of ${ctx.config.limits.maxDevicesPerAccount} devices; unlink one (or ask the administrator to revoke one) and try again`);
  }
  if (r.status === 'no-account') throw authFailed();
  ctx.metrics.registrations.inc({ outcome: 'linked' });
  ctx.log.info('device linked');
  await ctx.kt.append([{ kind: 'add', accountId: m.accountId, deviceId: r.deviceId, identityKey: account.identityKey, time: ctx.now() }]);
  await touchLastSeen(ctx, m.accountId, r.deviceId, undefined);
  const after = conn.establish({ accountId: m.accountId, accountHex: toHex(m.accountId), deviceId: r.deviceId, identityKey: account.identityKey });
  return { body: { case: 'registered', value: { accountId: m.accountId, deviceId: r.deviceId } }, after };
}

export async function authenticate(ctx: ServerContext, conn: Connection, m: Authenticate): Promise<Reply> {
  need(m.accountId, ACCOUNT_ID_LENGTH, 'account_id');
  need(m.signature, SIGNATURE_LENGTH, 'signature');
  const device = await ctx.storage.getDevice(m.accountId, m.deviceId);
  const account = device && await ctx.storage.getAccount(m.accountId);
  if (!device || !account || !ctx.crypto.ed25519Verify(device.deviceKey, authPayload(conn.nonce, m.accountId, m.deviceId), m.signature)) {
    const removed = device ? undefined : await removedDeviceError(ctx, conn.nonce, m.accountId, m.deviceId, m.signature);
    ctx.metrics.authentications.inc({ outcome: removed ? 'removed' : 'failed' });
    if (removed) throw removed;
    ctx.log.info('authentication failed');
    throw authFailed();
  }
  ctx.metrics.authentications.inc({ outcome: 'ok' });
  await touchLastSeen(ctx, m.accountId, m.deviceId, device.lastSeenDay);
  const after = conn.establish({ accountId: m.accountId, accountHex: toHex(m.accountId), deviceId: m.deviceId, identityKey: account.identityKey });
  return { body: { case: 'authenticated', value: { accountId: m.accountId, deviceId: m.deviceId, serverTime: BigInt(ctx.now()) } }, after };
}

/** SHA-256 of an access key (one-shot: computed on every sealed send). */
export const accessKeyHash = (key: Uint8Array): Uint8Array => hash('sha256', key, 'buffer');

export async function setAccessKey(ctx: ServerContext, s: Session, m: SetAccessKey): Promise<Reply> {
  if (m.accessKey.length !== 0 && m.accessKey.length !== ACCESS_KEY_LENGTH) throw invalidArgument(`access_key must be ${ACCESS_KEY_LENGTH} bytes, or empty to remove it`);
  await ctx.storage.setAccessKey(s.accountId, m.accessKey.length ? accessKeyHash(m.accessKey) : undefined, m.unrestricted);
  return { body: { case: 'ok', value: {} } };
}

export async function listDevices(ctx: ServerContext, s: Session): Promise<Reply> {
  const devices = await ctx.storage.listDevices(s.accountId);
  const names = await ctx.storage.listDeviceNames(s.accountId);
  return {
    body: {
      case: 'devices',
      value: { devices: devices.map((d) => ({ deviceId: d.deviceId, createdDay: d.createdDay, lastSeenDay: d.lastSeenDay ?? 0, encryptedName: names.get(d.deviceId) })) },
    },
  };
}
