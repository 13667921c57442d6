/** This account's devices and their names (client.md §9). */
import { decryptDeviceName, encryptDeviceName } from './device-names.js';
import type { Engine } from './engine.js';

/** The account's devices; `name` is undefined when none is set or it cannot be read (device-names.ts). */
export async function listDevices(engine: Engine): Promise<{ deviceId: number; createdDay: number; lastSeenDay: number; name: string | undefined }[]> {
  const f = await engine.requireConnection().request({ case: 'listDevices', value: {} });
  const { accountId } = engine.requireAccount();
  return f.body.case === 'devices'
    ? f.body.value.devices.map((d) => ({
      deviceId: d.deviceId, createdDay: d.createdDay, lastSeenDay: d.lastSeenDay,
      name: d.encryptedName.length ? decryptDeviceName(engine.ctx, engine.identity, accountId, d.deviceId, d.encryptedName) : undefined,
    }))
    : [];
}

/** Names a device of this account (default: this one), encrypted for the account's devices only. */
export async function setDeviceName(engine: Engine, name: string, deviceId = engine.requireAccount().deviceId): Promise<void> {
  const { accountId } = engine.requireAccount();
  const encryptedName = encryptDeviceName(engine.ctx, engine.identity, accountId, deviceId, name);
  await engine.requireConnection().request({ case: 'setDeviceName', value: { deviceId, encryptedName } });
}

/** Unlinks another device of this account (from the primary device): the server closes it and purges its queue. */
export async function removeDevice(engine: Engine, deviceId: number): Promise<void> {
  await engine.requireConnection().request({ case: 'removeDevice', value: { deviceId } });
  engine.ownDevices = undefined;
}
