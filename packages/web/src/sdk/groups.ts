/** Group actions: create, read its info, rename, members and roles, leave, send to all or privately. */
import { signal } from '@preact/signals';
import type { GroupInfo } from '@sigilo/client';
import { sdk } from './client.js';
import { fromHex, hex } from './ids.js';
import { refreshConversation, refreshConversations } from './refresh.js';

export type { GroupInfo };
/** The groups' info read so far, by group id (hex): members, roles, this account's role. */
export const groupInfos = signal<ReadonlyMap<string, GroupInfo>>(new Map());

function keep(info: GroupInfo): GroupInfo {
  const next = new Map(groupInfos.value);
  next.set(hex(info.groupId), info);
  groupInfos.value = next;
  return info;
}

export async function loadGroup(id: string): Promise<GroupInfo> {
  return keep(await sdk().call.groupInfo(fromHex(id)));
}

/** Creates a group with these contacts (hex account ids); returns its id (hex). */
export async function createGroup(name: string, members: string[]): Promise<string> {
  const info = keep(await sdk().call.createGroup(name.trim(), members.map(fromHex)));
  await refreshConversations();
  return hex(info.groupId);
}

async function after(id: string, p: Promise<GroupInfo>): Promise<void> {
  keep(await p);
  await Promise.all([refreshConversations(), refreshConversation(id).catch(() => undefined)]);
}

export const renameGroup = (id: string, name: string) => after(id, sdk().call.renameGroup(fromHex(id), name.trim()));
export const addMembers = (id: string, members: string[]) => after(id, sdk().call.addGroupMembers(fromHex(id), members.map(fromHex)));
export const removeMember = (id: string, member: Uint8Array) => after(id, sdk().call.removeGroupMembers(fromHex(id), [member]));
export const promoteMember = (id: string, member: Uint8Array) => after(id, sdk().call.promoteGroupMember(fromHex(id), member));
export const demoteMember = (id: string, member: Uint8Array) => after(id, sdk().call.demoteGroupMember(fromHex(id), member));
export const leaveGroup = (id: string) => after(id, sdk().call.leaveGroup(fromHex(id)));

/** Sends a text to the whole group, or privately to one member (hex) inside it. */
export async function sendGroupText(id: string, text: string, privateTo?: string): Promise<void> {
  if (privateTo) await sdk().call.sendPrivateInGroup(fromHex(id), fromHex(privateTo), text);
  else await sdk().call.sendGroupText(fromHex(id), text);
  await Promise.all([refreshConversation(id), refreshConversations()]);
}
