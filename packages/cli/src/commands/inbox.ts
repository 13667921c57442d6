/** `sigilo inbox`: fetches what arrived while away, prints unread messages and marks them read. */
import { formatAccountId, GROUP_ID_LENGTH, type MessageRow } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { messageJson, messageLine, dateTime, clock, printableName } from '../client/format.js';
import { groupChangeText } from '../client/group-change-text.js';
import { resolveConversation } from './group.js';
import { CLIENT_USAGE, clientCommand, connectAndCatchUp, contactName, personName, watchWarnings } from '../client/session.js';

export const inbox = clientCommand({
  path: ['inbox'],
  summary: 'receive new messages, print the unread ones and mark them read',
  usage: `sigilo inbox [NAME] [--no-read] [--offline] ${CLIENT_USAGE} [--json]

  NAME       only this contact's or group's messages
  --no-read  do not mark them read (no read receipt is sent; they show again next time)
  --offline  do not connect: print what is already stored
  --json     one JSON array of {conversation, contact, group, messageId, author, timestamp, text, …}

Group changes show where they happened ("[Trip] 10:02 -- ana added carol"); in --json
they carry "groupChange": {kind, by, accounts, name, text} (text as shown).`,
  options: { 'no-read': { type: 'boolean' }, offline: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length > 1) throw new UsageError(`unexpected argument '${ctx.positionals[1]}'`);
    const client = await ctx.client();
    const target = ctx.positionals[0] === undefined ? undefined : resolveConversation(client, ctx.positionals[0]);
    const only = target === undefined ? undefined : target.kind === 'group' ? target.group.groupId : target.accountId;
    watchWarnings(client, ctx.io);
    const verifications: { from: Uint8Array; match: boolean; aborted?: boolean; failed?: boolean }[] = [];
    client.on((e) => { if (e.type === 'smp-result') verifications.push(e); });
    if (ctx.values.offline !== true) {
      ctx.progress('Receiving…');
      await connectAndCatchUp(client);
      // Names of the people who wrote (new profile keys) and of those not read for a while.
      await client.profiles.refresh().catch(() => 0);
      // Replies the received messages called for (verification steps, client.md §4.3) leave before the command ends.
      await client.flush().catch(() => {});
    }
    // Confidential messages (memory only, client.md §15) that arrived now are shown too: this is their only showing.
    const unread = client.listMessages(only, 100_000).filter((m) => !m.outgoing && !m.deleted && m.status === 'received');
    const contacts = new Map(client.store.listContacts().map((c) => [formatAccountId(c.accountId), c]));
    const groups = new Map(client.listGroups().map((g) => [formatAccountId(g.groupId), g]));
    const groupOf = (m: MessageRow) => (m.conversation.length === GROUP_ID_LENGTH ? groups.get(formatAccountId(m.conversation)) : undefined);
    // In a group the author is the member who wrote; in a 1:1 conversation it is the contact.
    const contactOf = (m: MessageRow) => contacts.get(formatAccountId(groupOf(m) ? m.author : m.conversation));
    const nameOf = (id: Uint8Array) => personName(client, id);
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(unread.map((m) => ({
        ...messageJson(m, contactOf(m)), group: groupOf(m)?.name ?? null, private: m.privateWith !== undefined,
        ...(m.groupChange ? {
          groupChange: {
            kind: m.groupChange.kind, by: formatAccountId(m.groupChange.by), accounts: m.groupChange.accounts.map(formatAccountId),
            name: m.groupChange.name ?? null, text: groupChangeText(m.groupChange, nameOf),
          },
        } : {}),
      })))}\n`);
    } else if (unread.length === 0) {
      ctx.io.out('No new messages.\n');
    } else {
      let day = '';
      for (const m of unread) {
        const d = dateTime(m.timestamp).slice(0, 10);
        if (d !== day) ctx.io.out(`-- ${(day = d)} --\n`);
        const c = contactOf(m);
        const group = groupOf(m);
        if (m.groupChange) {
          const where = group ? `[${printableName(group.name)}] ` : '';
          ctx.io.out(`${where}${clock(m.timestamp)} -- ${groupChangeText(m.groupChange, nameOf)}\n`);
        } else if (group) {
          const where = m.privateWith ? `[${printableName(group.name)}, private]` : `[${printableName(group.name)}]`;
          ctx.io.out(`${where} ${messageLine(m, contactName(c, m.author, client), false)}\n`);
        } else {
          ctx.io.out(`${messageLine(m, contactName(c, m.conversation, client), false)}${c?.alias ? '' : '  (not in your contacts: sigilo contacts add NAME ' + formatAccountId(m.conversation) + ')'}\n`);
        }
      }
    }
    if (!ctx.json) {
      // Verification by a shared question (client.md §4.3): results that arrived, questions waiting for an answer.
      for (const v of verifications) {
        const who = contactName(client.store.getContact(v.from), v.from, client);
        ctx.io.out(v.match ? `Verification with ${who}: match. ${who} is now verified.\n`
          : v.failed ? `Verification with ${who} FAILED (their values do not check: a cheat or a bug). ${who} is NOT verified.\n`
            : `Verification with ${who}: no match${v.aborted ? ' (stopped)' : ''}. ${who} is NOT verified.\n`);
      }
      for (const c of client.store.listContacts()) {
        if (only !== undefined && !Buffer.from(c.accountId).equals(Buffer.from(only))) continue;
        const q = client.pendingSmpQuestion(c.accountId);
        if (q === undefined) continue;
        const who = contactName(c, c.accountId, client);
        ctx.io.out(`${who} asks to verify: ${q} — answer with sigilo verify ${who} --answer "…"\n`);
      }
    }
    if (ctx.values['no-read'] !== true && ctx.values.offline !== true) {
      const conversations = new Map<string, { id: Uint8Array; ids: Uint8Array[] }>();
      for (const m of unread) {
        if (m.groupChange) {
          // Not a message of anyone's: no read receipt, only this device's state.
          client.store.setMessageStatus(m.conversation, m.messageId, 'read');
          continue;
        }
        const k = formatAccountId(m.conversation);
        const entry = conversations.get(k) ?? { id: m.conversation, ids: [] };
        entry.ids.push(m.messageId);
        conversations.set(k, entry);
      }
      for (const { id, ids } of conversations.values()) await client.markRead(id, ids);
    }
    return 0;
  },
});
