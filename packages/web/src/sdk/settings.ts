/** Settings actions: mute a chat, delete its history, devices (list, link, unlink), the profile name. */
import { signal } from '@preact/signals';
import type { DeviceSummary } from '@sigilo/client-web';
import { disappearing, me } from './state.js';
import { sdk } from './client.js';
import { fromHex } from './ids.js';
import { refreshConversation, refreshConversations } from './refresh.js';

/** "Always" as the CLI writes it (cli format.ts MUTED_FOREVER): far beyond any real date. */
export const MUTED_FOREVER = 8.64e15;
export const HOUR = 3_600_000;

export type MuteChoice = '8h' | 'week' | 'always' | 'off';

/** When a mute choice ends (Unix ms; 0 unmutes). */
export function muteUntil(choice: MuteChoice, now = Date.now()): number {
  switch (choice) {
    case '8h': return now + 8 * HOUR;
    case 'week': return now + 7 * 24 * HOUR;
    case 'always': return MUTED_FOREVER;
    default: return 0;
  }
}

export const isMuted = (mutedUntil: number, now = Date.now()): boolean => mutedUntil > now;

export async function muteChat(id: string, choice: MuteChoice): Promise<void> {
  await sdk().call.mute(fromHex(id), muteUntil(choice));
  await refreshConversations();
}

/** Deletes a chat's messages on every device of this person; how many went here. */
export async function deleteChatHistory(id: string): Promise<number> {
  const n = await sdk().call.deleteHistory(fromHex(id));
  await Promise.all([refreshConversations(), refreshConversation(id)]);
  return n;
}

/** The account's devices, as last read (undefined until read). */
export const devices = signal<readonly DeviceSummary[] | undefined>(undefined);

export async function loadDevices(): Promise<void> {
  devices.value = await sdk().call.listDevices();
}

/** Names one of the account's devices (this one or another), so two "Chrome on Android" can be told apart. */
export async function renameDevice(deviceId: number, name: string): Promise<void> {
  await sdk().call.setDeviceName(name.trim(), deviceId);
  await loadDevices();
}

export async function unlinkDevice(deviceId: number): Promise<void> {
  await sdk().call.removeDevice(deviceId);
  await loadDevices();
}

/** On this (existing) device: approves the new device whose code was typed, sending it contacts and history. */
export async function approveDevice(code: string): Promise<number> {
  const r = await sdk().call.approveLink(code.trim());
  await loadDevices().catch(() => undefined);
  return r.historyMessages;
}

export async function setProfileName(name: string): Promise<void> {
  const clean = name.trim();
  await sdk().call.setProfileName(clean);
  if (me.value) me.value = { ...me.value, name: clean };
}

/** This account's username (undefined: none claimed, or not read yet). */
export const username = signal<string | undefined>(undefined);

export async function loadUsername(): Promise<void> {
  username.value = await sdk().call.username();
}

/** Claims a username; resolves to it in normal form. */
export async function setUsername(text: string): Promise<string> {
  const claimed = await sdk().call.setUsername(text);
  username.value = claimed;
  return claimed;
}

export { disappearing };

export async function loadDisappearing(id: string): Promise<void> {
  const ms = await sdk().call.disappearingTimer(fromHex(id));
  const next = new Map(disappearing.value);
  next.set(id, ms);
  disappearing.value = next;
}

export async function setDisappearing(id: string, ms: number): Promise<void> {
  await sdk().call.setDisappearingTimer(fromHex(id), ms);
  await Promise.all([loadDisappearing(id), refreshConversation(id).catch(() => undefined)]);
}

/**
 * The timers offered, as Signal and WhatsApp do: 30 s (the SDK's shortest, MIN_DISAPPEARING_MS) to 4 weeks; the
 * picker drops those above the organisation's maximum.
 */
export const TIMERS: readonly number[] = [30_000, 5 * 60_000, HOUR, 8 * HOUR, 24 * HOUR, 7 * 24 * HOUR, 28 * 24 * HOUR];
