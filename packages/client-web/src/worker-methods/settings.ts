/** Per-chat and account settings: mute a chat, delete its history, this account's devices (list, unlink). */
import type { HostContext } from './context.js';

/** A device of this account as the settings screen shows it. */
export interface DeviceSummary {
  readonly deviceId: number;
  /** Days since the Unix epoch (the server keeps days only). */
  readonly createdDay: number;
  readonly lastSeenDay: number;
  readonly name: string | undefined;
  /** The device this Worker runs on. */
  readonly current: boolean;
}

export function settingsMethods(ctx: HostContext) {
  return {
    /** Mutes notifications of a chat (contact or group) until `until` (Unix ms; 0 unmutes), on all of this person's devices. */
    mute: (conversation: Uint8Array, until: number): Promise<void> => ctx.need().mute(conversation, until),
    /** Deletes a chat's messages on all of this person's devices; the number deleted here. */
    deleteHistory: (conversation: Uint8Array): Promise<number> => ctx.need().deleteHistory(conversation),
    async listDevices(): Promise<DeviceSummary[]> {
      const c = ctx.need();
      const own = c.deviceId;
      return (await c.listDevices()).map((d) => ({ ...d, current: d.deviceId === own }));
    },
    /** Unlinks another device of this account (the server closes it and drops what was queued for it). */
    removeDevice: (deviceId: number): Promise<void> => ctx.need().removeDevice(deviceId),
  };
}
