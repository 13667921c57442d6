/** The name a new device gets (register, link): --device-name, else the computer's host name. */
import { hostname } from 'node:os';
import { MAX_DEVICE_NAME_BYTES, type SigiloClient } from '@sigilo/client-node';
import { str } from '../args.js';
import type { ClientContext } from './session.js';

export const DEVICE_NAME_OPTION = { 'device-name': { type: 'string' } } as const;

export function chosenDeviceName(ctx: ClientContext): string {
  const given = str(ctx.values['device-name']);
  if (given !== undefined) return given;
  let name = hostname().trim() || 'this device';
  while (Buffer.byteLength(name) > MAX_DEVICE_NAME_BYTES) name = name.slice(0, -1);
  return name;
}

/** Names this device on the server, encrypted (best effort: a failure only warns, `sigilo devices rename` sets it later). */
export async function nameThisDevice(ctx: ClientContext, client: SigiloClient, name: string): Promise<void> {
  try {
    await client.connect({ reconnect: false });
    await client.setDeviceName(name);
  } catch (e) {
    ctx.io.err(`warning: this device could not be named (${e instanceof Error ? e.message : String(e)}); name it later with: sigilo devices rename "NAME"\n`);
  }
}
