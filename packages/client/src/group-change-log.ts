/**
 * Group changes kept in the group's conversation (client.md §12): every applied membership
 * change or rename becomes a row of the conversation, so that `inbox`, `chat` and any later
 * screen show "ana added carol" or "bob left" where it happened, as messengers do. The row
 * holds account ids, never names: names are looked up when it is shown, so a contact renamed
 * (or a display name learnt) later shows under its current name.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '@sigilo/protocol';
import { fromHex, toHex } from './bytes.js';
import type { ClientStore, GroupChangeRecord, MessageRow } from './store/port.js';

const hex = toHex;
const unhex = (s: unknown): Uint8Array | undefined => (typeof s === 'string' && /^([0-9a-f]{2})*$/.test(s) ? fromHex(s) : undefined);
const utf8 = new TextEncoder();
const KINDS = new Set<GroupChangeRecord['kind']>(['created', 'added', 'removed', 'left', 'promoted', 'demoted', 'renamed', 'undone']);

/** The stored form: JSON with hex account ids. */
export function encodeGroupChange(c: GroupChangeRecord): string {
  return JSON.stringify({
    by: hex(c.by), kind: c.kind, accounts: c.accounts.map(hex),
    ...(c.name !== undefined ? { name: c.name } : {}), ...(c.undoneBy ? { undoneBy: hex(c.undoneBy) } : {}),
  });
}

/** Undefined for a plain message, or for a stored value this version cannot read (it then shows as an empty line, never throws). */
export function decodeGroupChange(stored: string | null | undefined): GroupChangeRecord | undefined {
  if (!stored) return undefined;
  try {
    const v = JSON.parse(stored) as Record<string, unknown>;
    const by = unhex(v.by);
    const kind = v.kind as GroupChangeRecord['kind'];
    if (!by || !KINDS.has(kind) || !Array.isArray(v.accounts)) return undefined;
    const accounts = v.accounts.map(unhex).filter((a): a is Uint8Array => a !== undefined);
    return {
      by, kind, accounts,
      ...(typeof v.name === 'string' ? { name: v.name } : {}),
      ...(unhex(v.undoneBy) ? { undoneBy: unhex(v.undoneBy) } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Stores the changes of one `group-update` as rows of the group's conversation. The row id is
 * derived from the group, revision, position and change, so the same update applied twice
 * (a replayed delivery) is stored once. Changes by this account are stored as read; others'
 * as received, so that `inbox` shows them once like a new message.
 */
export function recordGroupChanges(
  store: ClientStore,
  update: { groupId: Uint8Array; revision: number; changes: readonly GroupChangeRecord[] },
  me: Uint8Array | undefined,
  now: number,
): MessageRow[] {
  const rows: MessageRow[] = [];
  store.transaction(() => {
    update.changes.forEach((change, index) => {
      const mine = me !== undefined && bytesEqual(me, change.by);
      const h = sha256.create();
      h.update(utf8.encode('sigilo group change\0'));
      h.update(update.groupId);
      h.update(utf8.encode(`${update.revision}\0${index}\0`));
      h.update(utf8.encode(encodeGroupChange(change)));
      const messageId = h.digest().subarray(0, 16);
      const row: MessageRow = {
        messageId, conversation: update.groupId, author: change.by, outgoing: mine, timestamp: now, text: '',
        status: mine ? 'read' : 'received', deleted: false, receivedAt: now, groupChange: change,
      };
      if (store.insertMessage(row)) rows.push(row);
    });
  });
  return rows;
}
