/**
 * `sigilo group …`: groups (spec/groups.md). Create one with contacts, add and
 * remove members, promote admins, leave, list and show. Messages: `sigilo send
 * GROUP TEXT` and `sigilo chat GROUP` (with /private NAME TEXT for one member).
 *
 * A membership change is signed on this device and queued like a message: when
 * the server cannot be reached it goes out with the next `send`, `inbox` or
 * `chat`, and the command says so with exit code 1.
 */
import { ClientError, formatAccountId, type GroupInfo, type SigiloClient } from '@sigilo/client-node';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { hex, printableName, ticks } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectAndCatchUp, connectBestEffort, contactName, watchWarnings, type ClientContext } from '../client/session.js';

export function groupJson(g: GroupInfo) {
  return {
    groupId: hex(g.groupId),
    name: g.name,
    revision: g.revision,
    status: g.status,
    myRole: g.myRole ?? null,
    members: g.members.map((m) => ({ accountId: formatAccountId(m.accountId), contact: m.alias ?? null, role: m.role })),
  };
}

/** The short id people can type: the first 12 hex digits (any unique prefix of 8 or more works). */
export const shortGroupId = (g: { groupId: Uint8Array }) => hex(g.groupId).slice(0, 12);

function memberNames(client: SigiloClient, g: GroupInfo): string {
  const me = client.accountId;
  return g.members.map((m) => {
    const name = me && formatAccountId(m.accountId) === formatAccountId(me) ? 'you' : contactName(client.store.getContact(m.accountId), m.accountId, client);
    return m.role === 'admin' ? `${name} (admin)` : name;
  }).join(', ');
}

/** Contacts by name or account id; a member known only from a group log is found by its account id. */
function resolveMembers(client: SigiloClient, names: string[]): Uint8Array[] {
  return names.map((n) => client.resolveContact(n).accountId);
}

/** Connects when possible, runs `fn`, then reports whether the change reached the server (exit 1 when queued). */
async function change(ctx: ClientContext, fn: (client: SigiloClient) => Promise<GroupInfo>, done: (g: GroupInfo, client: SigiloClient) => string): Promise<number> {
  const client = await ctx.client();
  watchWarnings(client, ctx.io);
  const online = await connectBestEffort(client);
  const g = await fn(client);
  const queued = client.store.listOutbox().length > 0;
  if (ctx.json) ctx.io.out(`${JSON.stringify({ ...groupJson(g), queued })}\n`);
  else ctx.io.out(`${done(g, client)}\n`);
  if (!online || queued) {
    ctx.io.err(`sigilo group: not sent to every member yet${online ? '' : ' (the server cannot be reached)'}; the change is in the outbox and goes out with the next \`sigilo send\`, \`inbox\` or \`chat\`\n`);
    return 1;
  }
  return 0;
}

const groupCreate = clientCommand({
  path: ['group', 'create'],
  summary: 'create a group with some of your contacts (you are its admin)',
  usage: `sigilo group create NAME CONTACT… ${CLIENT_USAGE} [--json]

  NAME     the group's name (1–64 characters; quote it if it has spaces)
  CONTACT  contacts (names or account ids) to add as members; more can be added later
Every member's devices receive the signed membership log; messages are encrypted with
sender keys, once per message for all members.`,
  positionals: true,
  async run(ctx) {
    const [name, ...names] = ctx.positionals;
    if (!name) throw new UsageError('give the group NAME and the CONTACTs to add');
    return change(ctx, (client) => client.createGroup(name, resolveMembers(client, names)),
      (g, client) => `Created group ${printableName(g.name)} (id ${shortGroupId(g)}): ${memberNames(client, g)}.\nWrite to it with: sigilo send ${printableName(JSON.stringify(g.name))} TEXT   or   sigilo chat ${printableName(JSON.stringify(g.name))}`);
  },
});

const groupAdd = clientCommand({
  path: ['group', 'add'],
  summary: 'add contacts to a group (admins only)',
  usage: `sigilo group add GROUP CONTACT… ${CLIENT_USAGE} [--json]

  GROUP    the group's name or id (see \`sigilo group list\`)
New members cannot read messages sent before they joined.`,
  positionals: true,
  async run(ctx) {
    const [group, ...names] = ctx.positionals;
    if (!group || names.length === 0) throw new UsageError('give the GROUP and the CONTACTs to add');
    return change(ctx, (client) => client.addMembers(client.resolveGroup(group).groupId, resolveMembers(client, names)),
      (g, client) => `Added ${names.join(', ')} to ${printableName(g.name)}. Members: ${memberNames(client, g)}.`);
  },
});

const groupRemove = clientCommand({
  path: ['group', 'remove'],
  summary: 'remove members from a group (admins only)',
  usage: `sigilo group remove GROUP MEMBER… ${CLIENT_USAGE} [--json]

  MEMBER   a contact name or account id (\`sigilo group show GROUP\` lists them)
Everyone who stays sends with new sender keys from the next message on, so the
removed members cannot read anything new.`,
  positionals: true,
  async run(ctx) {
    const [group, ...names] = ctx.positionals;
    if (!group || names.length === 0) throw new UsageError('give the GROUP and the MEMBERs to remove');
    return change(ctx, (client) => client.removeMembers(client.resolveGroup(group).groupId, resolveMembers(client, names)),
      (g, client) => `Removed ${names.join(', ')} from ${printableName(g.name)}. Members: ${memberNames(client, g)}.`);
  },
});

const groupPromote = clientCommand({
  path: ['group', 'promote'],
  summary: 'make a member an admin of a group (admins only)',
  usage: `sigilo group promote GROUP MEMBER ${CLIENT_USAGE} [--json]

Admins can add, remove and promote members and rename the group.`,
  positionals: true,
  async run(ctx) {
    const [group, name, ...extra] = ctx.positionals;
    if (!group || !name) throw new UsageError('give the GROUP and the MEMBER to promote');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}' (promote one member at a time)`);
    return change(ctx, (client) => client.promote(client.resolveGroup(group).groupId, client.resolveContact(name).accountId),
      (g) => `${name} is now an admin of ${printableName(g.name)}.`);
  },
});

const groupRename = clientCommand({
  path: ['group', 'rename'],
  summary: 'rename a group (admins only)',
  usage: `sigilo group rename GROUP NEW-NAME ${CLIENT_USAGE} [--json]`,
  positionals: true,
  async run(ctx) {
    const [group, name, ...extra] = ctx.positionals;
    if (!group || !name) throw new UsageError('give the GROUP and its NEW-NAME');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}' (quote a name with spaces)`);
    return change(ctx, (client) => client.renameGroup(client.resolveGroup(group).groupId, name), (g) => `The group is now called ${printableName(g.name)}.`);
  },
});

const groupLeave = clientCommand({
  path: ['group', 'leave'],
  summary: 'leave a group (its history stays on this device)',
  usage: `sigilo group leave GROUP ${CLIENT_USAGE} [--json]

You stop receiving the group's messages; the others are told and switch to new keys.`,
  positionals: true,
  async run(ctx) {
    const [group, ...extra] = ctx.positionals;
    if (!group) throw new UsageError('give the GROUP to leave');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    return change(ctx, (client) => client.leaveGroup(client.resolveGroup(group).groupId), (g) => `You left ${printableName(g.name)}. Its history stays here.`);
  },
});

/** Receives what is queued (new groups, membership changes) unless --offline; offline it says so and goes on. */
async function receive(ctx: ClientContext, client: SigiloClient): Promise<void> {
  if (ctx.values.offline === true) return;
  watchWarnings(client, ctx.io);
  ctx.progress('Receiving…');
  try {
    await connectAndCatchUp(client);
  } catch (e) {
    if (!(e instanceof ClientError) || (e.code !== 'CONNECTION_FAILED' && e.code !== 'TIMEOUT')) throw e;
    ctx.io.err(`sigilo group: the server cannot be reached (${e.message}); showing what this device knows\n`);
  }
}

const groupList = clientCommand({
  path: ['group', 'list'],
  summary: 'list your groups',
  usage: `sigilo group list [--offline] ${CLIENT_USAGE} [--json]

Shows each group's name, short id, your role, the number of members and whether you left
or were removed. Use the name or the id in the other group commands.
  --offline  do not connect: show what this device knows (otherwise new groups and
             membership changes are received first)`,
  options: { offline: { type: 'boolean' } },
  async run(ctx) {
    const client = await ctx.client();
    await receive(ctx, client);
    const groups = client.listGroups();
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(groups.map(groupJson))}\n`);
      return 0;
    }
    if (groups.length === 0) {
      ctx.io.out('No groups yet. Create one with: sigilo group create NAME CONTACT…\n');
      return 0;
    }
    const width = Math.max(4, ...groups.map((g) => printableName(g.name).length));
    ctx.io.out(`${'NAME'.padEnd(width)}  ID            MEMBERS  ROLE\n`);
    for (const g of groups) {
      const role = g.status === 'active' ? (g.myRole ?? '-') : g.status;
      ctx.io.out(`${printableName(g.name).padEnd(width)}  ${shortGroupId(g)}  ${String(g.members.length).padStart(7)}  ${role}\n`);
    }
    return 0;
  },
});

const groupShow = clientCommand({
  path: ['group', 'show'],
  summary: 'show a group: members, roles, revision',
  usage: `sigilo group show GROUP [--offline] ${CLIENT_USAGE} [--json]

The revision counts the signed membership changes; every member's devices agree on it.
  --offline  do not connect first to receive membership changes`,
  options: { offline: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [group, ...extra] = ctx.positionals;
    if (!group) throw new UsageError('give the GROUP (its name or id; see `sigilo group list`)');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const client = await ctx.client();
    await receive(ctx, client);
    const g = client.resolveGroup(group);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(groupJson(g))}\n`);
      return 0;
    }
    const me = client.accountId ? formatAccountId(client.accountId) : '';
    ctx.io.out(`Group ${printableName(g.name)}\nId: ${hex(g.groupId)}\nRevision: ${g.revision}\n${g.status === 'active' ? '' : `You ${g.status === 'left' ? 'left this group' : 'were removed from this group'}.\n`}Members (${g.members.length}):\n`);
    for (const m of g.members) {
      const id = formatAccountId(m.accountId);
      const known = contactName(client.store.getContact(m.accountId), m.accountId, client);
      // A member with neither a contact name nor a profile yet: the id column says who it is.
      const name = id === me ? 'you' : known === id ? '-' : known;
      ctx.io.out(`  ${name.padEnd(16)} ${id}  ${m.role}\n`);
    }
    return 0;
  },
});

export const groupCommands: readonly Command[] = [groupCreate, groupAdd, groupRemove, groupPromote, groupRename, groupLeave, groupList, groupShow];

/** For `send` and `chat`: a contact if one has this name, else a group. */
export function resolveConversation(client: SigiloClient, name: string): { kind: 'contact'; accountId: Uint8Array } | { kind: 'group'; group: GroupInfo } {
  try {
    return { kind: 'contact', accountId: client.resolveContact(name).accountId };
  } catch (e) {
    if (!(e instanceof ClientError) || e.code !== 'UNKNOWN_CONTACT') throw e;
    try {
      return { kind: 'group', group: client.resolveGroup(name) };
    } catch (g) {
      if (g instanceof ClientError && g.code === 'NOT_FOUND') {
        throw new ClientError('UNKNOWN_CONTACT', unknownConversation(name));
      }
      throw g;
    }
  }
}

/** What to do when NAME is neither a contact's name nor a group's. */
function unknownConversation(name: string): string {
  const username = /^@([a-z0-9._]{3,32})$/i.exec(name)?.[1]?.toLowerCase();
  // People used to other messengers type the @username they added someone by.
  if (username) return `no contact is called "${name}": contacts go by the name you gave them (\`sigilo contacts\` lists them); to add this person: \`sigilo contacts add ${username} @${username}\`, then use ${username}`;
  return `no contact or group is called "${name}" (\`sigilo contacts\` and \`sigilo group list\` list them); add someone with \`sigilo contacts add NAME @USERNAME\` or \`sigilo contacts add NAME CARD\``;
}

/** `sigilo send GROUP TEXT`: one message to every member (exit 1 while it waits in the outbox). */
export async function sendToGroup(ctx: ClientContext, client: SigiloClient, group: GroupInfo, text: string): Promise<number> {
  watchWarnings(client, ctx.io);
  const online = await connectBestEffort(client);
  const m = await client.sendGroupText(group.groupId, text);
  if (ctx.json) {
    ctx.io.out(`${JSON.stringify({ group: hex(group.groupId), name: group.name, messageId: hex(m.messageId), timestamp: m.timestamp, status: m.status })}\n`);
  } else if (m.status === 'pending') {
    ctx.io.out(`Queued for group ${printableName(group.name)}; it will be sent on the next connection.\n`);
  } else {
    ctx.io.out(`Sent to group ${printableName(group.name)} ${ticks(m.status)}\n`);
  }
  if (m.status === 'pending') {
    ctx.io.err(`sigilo send: not sent yet${online ? '' : ' (the server cannot be reached)'}; the message stays in the outbox and goes out with the next \`sigilo send\`, \`inbox\` or \`chat\`\n`);
    return 1;
  }
  return 0;
}
