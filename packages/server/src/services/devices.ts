/**
 * Devices managed by their own account (spec/server.md §3.5): the primary
 * device unlinks another one, any device names itself or another device of
 * the account (the name is encrypted by the clients; the server stores bytes),
 * and a removed device is told in words who removed it and when.
 */
import { CloseReason, type RemoveDevice, type SetDeviceName } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { authPayload } from '../auth.js';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { ServerError, invalidArgument } from '../errors.js';
import { DAY_MS, dayOf, toHex } from '../ids.js';
import { ACCOUNT_REMOVAL } from '../storage/port.js';

/** Encrypted device names: nonce, a name of up to 64 UTF-8 bytes, tag, with room to spare. */
export const MAX_ENCRYPTED_DEVICE_NAME = 128;

const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The words a removed device is told (also in the Error frame's message, for clients that only print it). */
export function removalWords(byDeviceId: number, day: number): string {
  const who = byDeviceId === 0 ? 'the administrator' : `device ${byDeviceId} of your account`;
  return `this device was removed from your account by ${who} on ${isoDay(day)}; link it again (sigilo link) or register a new account`;
}

/** A device that authenticated with the key of a device that was removed. */
export class DeviceRemovedError extends ServerError {
  constructor(readonly byDeviceId: number, readonly day: number) {
    super('DEVICE_REMOVED', removalWords(byDeviceId, day));
  }
}

/** A device whose whole account the administrator removed (its removal record says ACCOUNT_REMOVAL). */
export class AccountRemovedError extends ServerError {
  constructor(readonly day: number) {
    super('ACCOUNT_REMOVED', `the administrator removed this account on ${isoDay(day)}, with all its devices; ask them for an invite and register a new account (sigilo register)`);
  }
}

/** How long a removal record is kept: as long as an undelivered message would have waited for that device. */
export function removalRecord(ctx: { now: () => number; config: { retention: { undeliveredMs: number } } }, byDeviceId: number) {
  const now = ctx.now();
  return { byDeviceId, day: dayOf(now), expiresAt: now + ctx.config.retention.undeliveredMs };
}

/**
 * Called when authentication names a device that does not exist: when the
 * signature verifies against the key of a device removed recently, that device
 * (and only it) learns who removed it and when.
 */
export async function removedDeviceError(ctx: ServerContext, nonce: Uint8Array, accountId: Uint8Array, deviceId: number, signature: Uint8Array): Promise<DeviceRemovedError | AccountRemovedError | undefined> {
  const removal = await ctx.storage.getDeviceRemoval(accountId, deviceId, ctx.now());
  if (!removal || !ctx.crypto.ed25519Verify(removal.deviceKey, authPayload(nonce, accountId, deviceId), signature)) return undefined;
  if (removal.byDeviceId === ACCOUNT_REMOVAL) return new AccountRemovedError(removal.day);
  return new DeviceRemovedError(removal.byDeviceId, removal.day);
}

/** The primary device of an account: its lowest device id still linked. */
/** A primary device not seen for this many days stops being primary (a lost phone must not lock its owner out). */
export const PRIMARY_LAPSE_DAYS = 14;

/**
 * The primary device: the lowest device id among the devices seen in the last PRIMARY_LAPSE_DAYS days
 * (the lowest id of all when none was, or when the server keeps no last-seen day).
 */
async function primaryDevice(ctx: ServerContext, s: Session, today: number): Promise<number | undefined> {
  const devices = await ctx.storage.listDevices(s.accountId);
  if (!devices.length) return undefined;
  // A device connected now is seen now: a connection may outlast PRIMARY_LAPSE_DAYS without authenticating again
  // (last-seen days are written at authentication), and a device in use must never lose its role to another.
  // Without last-seen days (retention.lastSeen = off) the lowest id of all stays primary.
  if (ctx.config.retention.lastSeen !== 'day') return Math.min(...devices.map((d) => d.deviceId));
  const connected = (deviceId: number) => ctx.hub.get(s.accountHex, deviceId)?.closed === false;
  const recent = devices.filter((d) => connected(d.deviceId) || (d.lastSeenDay !== undefined && today - d.lastSeenDay <= PRIMARY_LAPSE_DAYS));
  return Math.min(...(recent.length ? recent : devices).map((d) => d.deviceId));
}

export async function removeOwnDevice(ctx: ServerContext, s: Session, m: RemoveDevice): Promise<Reply> {
  if (!Number.isInteger(m.deviceId) || m.deviceId < 1) throw invalidArgument('device_id must be a device number of your account (sigilo devices)');
  if (m.deviceId === s.deviceId) throw invalidArgument('a device cannot remove itself; remove it from your primary device, or ask the administrator');
  const primary = await primaryDevice(ctx, s, dayOf(ctx.now()));
  if (primary !== s.deviceId) {
    throw new ServerError('UNAUTHORIZED', `only your primary device (device ${primary}) can remove devices; run sigilo devices remove there. `
      + `If it is lost, it stops being primary ${PRIMARY_LAPSE_DAYS} days after it was last seen, or your administrator can revoke it now`);
  }
  const removal = removalRecord(ctx, s.deviceId);
  if (!(await ctx.storage.removeDevice(s.accountId, m.deviceId, removal))) {
    throw new ServerError('NOT_FOUND', 'your account has no such device (sigilo devices lists them)');
  }
  ctx.hub.removed(s.accountHex, m.deviceId);
  ctx.hub.closeDevice(s.accountHex, m.deviceId, CloseReason.DEVICE_REVOKED, removalWords(s.deviceId, removal.day));
  await ctx.kt.append([{ kind: 'remove', accountId: s.accountId, deviceId: m.deviceId, identityKey: s.identityKey, time: ctx.now() }]);
  ctx.log.info('device removed by its account');
  return { body: { case: 'ok', value: {} } };
}

export async function setDeviceName(ctx: ServerContext, s: Session, m: SetDeviceName): Promise<Reply> {
  if (m.encryptedName.length > MAX_ENCRYPTED_DEVICE_NAME) throw invalidArgument(`encrypted_name must be at most ${MAX_ENCRYPTED_DEVICE_NAME} bytes; choose a shorter name`);
  const deviceId = m.deviceId === 0 ? s.deviceId : m.deviceId;
  if (!(await ctx.storage.setDeviceName(s.accountId, deviceId, m.encryptedName.length ? m.encryptedName : undefined))) {
    throw new ServerError('NOT_FOUND', 'your account has no such device (sigilo devices lists them)');
  }
  return { body: { case: 'ok', value: {} } };
}

/** A device registered by a link that never published its prekeys is removed once it is this many whole days old. */
export const KEYLESS_DEVICE_DAYS = 1;

/**
 * The sweeper's part (services/retention.ts): removes devices left keyless by a link cut short after the server
 * registered them (server.md §5.1). Senders already leave them out; this takes them off the account's device list.
 */
export async function removeKeylessDevices(ctx: ServerContext): Promise<number> {
  const stale = await ctx.storage.keylessDevices(dayOf(ctx.now()) - KEYLESS_DEVICE_DAYS);
  let removed = 0;
  for (const { accountId, deviceId } of stale) {
    const account = await ctx.storage.getAccount(accountId);
    if (!(await ctx.storage.removeDevice(accountId, deviceId))) continue;
    removed++;
    const hex = toHex(accountId);
    ctx.hub.removed(hex, deviceId);
    ctx.hub.closeDevice(hex, deviceId, CloseReason.DEVICE_REVOKED, 'this device never finished linking and was removed; link it again (sigilo link)');
    if (account) await ctx.kt.append([{ kind: 'remove', accountId, deviceId, identityKey: account.identityKey, time: ctx.now() }]);
  }
  return removed;
}
