/** Groups: create, list, rename, members (add, remove, promote, demote), leave, send to all or privately to one member. */
import type { GroupInfo, MessageRow } from '@sigilo/client';
import type { HostContext } from './context.js';

export function groupMethods(ctx: HostContext) {
  return {
    /** Creates a group with these contacts; this account is its admin. */
    createGroup: (name: string, members: Uint8Array[]): Promise<GroupInfo> => ctx.need().createGroup(name, members),
    /** The group's name, revision, status, members with roles (and aliases) and this account's role. */
    groupInfo: (groupId: Uint8Array): GroupInfo => ctx.need().group(groupId),
    renameGroup: (groupId: Uint8Array, name: string): Promise<GroupInfo> => ctx.need().renameGroup(groupId, name),
    addGroupMembers: (groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> => ctx.need().addMembers(groupId, accountIds),
    removeGroupMembers: (groupId: Uint8Array, accountIds: Uint8Array[]): Promise<GroupInfo> => ctx.need().removeMembers(groupId, accountIds),
    promoteGroupMember: (groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> => ctx.need().promote(groupId, accountId),
    demoteGroupMember: (groupId: Uint8Array, accountId: Uint8Array): Promise<GroupInfo> => ctx.need().demote(groupId, accountId),
    leaveGroup: (groupId: Uint8Array): Promise<GroupInfo> => ctx.need().leaveGroup(groupId),
    sendGroupText: (groupId: Uint8Array, text: string): Promise<MessageRow> => ctx.need().sendGroupText(groupId, text),
    /** A message inside the group that only `accountId` (and this account) receives. */
    sendPrivateInGroup: (groupId: Uint8Array, accountId: Uint8Array, text: string): Promise<MessageRow> => ctx.need().sendPrivateInGroup(groupId, accountId, text),
  };
}
