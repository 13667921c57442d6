/**
 * A group as this device holds it (groups.md, client.md §8): the shared state
 * of the group engine (GroupEngine), the verified membership log read from the
 * store, the group's public description, and the constants and helpers the
 * other group modules share. The group modules: group-log (this), group-queue
 * (pairwise sends through the outbox), group-messages (receiving group
 * messages), sender-keys, membership (changes, the log's exchange), group-send
 * and group-pairwise (pairwise Contents about groups); groups.ts is their façade.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import { bytesEqual, type GroupChange, groupEntryHash, GroupLog, type GroupRole, type GroupState, type IdentityKeyPair, parseGroupEntry, type ProtocolContext, type SealedSenderCache, type TrustedServerKey } from '@sigilo/protocol';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { fromHex, toHex } from './bytes.js';
import type { Connection } from './connection.js';
import { ClientError } from './errors.js';
import type { ClientEvent, GroupChangeEvent } from './events.js';
import type { ClientStore, ContactRow, GroupRow, GroupStatus, MessageRow } from './store/port.js';

export const GROUP_ID_LENGTH = 32;
/**
 * Messages waiting for a sender key (groups.md §6.5): at most this many per sender account (the group of a message
 * whose key is missing is not known yet, so the bound is per sender rather than per group), for at most a week.
 */
export const MAX_PENDING_GROUP_MESSAGES = 1000;
export const PENDING_TTL_MS = 7 * 24 * 3600_000;
/** Log entries waiting for their parent, per group. */
export const MAX_PENDING_ENTRIES = 256;
/** Own sender keys kept per group (the current one and older ones, to answer requests from their epoch). */
export const OWN_KEYS_KEPT = 8;
/**
 * Received sender keys kept per member device and group (groups.md §6.6): the current one and a few older ones, for
 * messages of an ended epoch still on their way; beyond it the oldest goes, so a member cannot fill the store.
 */
export const SENDER_KEYS_KEPT_PER_DEVICE = 5;
/** A SenderKeyRequest for one key at most this often (groups.md §6.5); an answer to one account at most this often. */
export const REQUEST_INTERVAL_MS = 3600_000;
export const ANSWER_INTERVAL_MS = 10_000;
/** A chain request (empty GroupUpdate) per group at most this often. */
export const CHAIN_REQUEST_INTERVAL_MS = 60_000;
/**
 * What anyone can make this device keep for groups it does not hold (groups.md §6.10): waiting log entries and
 * received sender keys of at most this many such group ids (the oldest evicted), for at most a week; sender keys
 * for such groups at most this many in all.
 */
export const MAX_UNHELD_GROUPS = 64;
export const MAX_UNHELD_SENDER_KEYS = 1024;
export const UNHELD_TTL_MS = 7 * 24 * 3600_000;
/** Chain requests: groups remembered (the oldest forgotten), and at most this many sent per interval in all. */
export const CHAIN_ASKED_KEPT = 256;
export const CHAIN_REQUESTS_PER_INTERVAL = 16;
/** A sender key is renewed at least this often (groups.md §3.8), and an ended epoch's distribution kept this long (§6.3). */
export const SENDER_KEY_MAX_AGE_MS = 7 * 24 * 3600_000;
export const ENDED_EPOCH_KEPT_MS = 30 * 24 * 3600_000;
/** Own changes already in the chain are forgotten after this long (a fork that late is not expected). */
export const OWN_CHANGE_TTL_MS = 7 * 24 * 3600_000;

export type ContentInit = MessageInitShape<typeof ContentSchema>;

export interface GroupMemberInfo {
  readonly accountId: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly role: GroupRole;
  /** The contact's alias on this device, if it has one. */
  readonly alias: string | undefined;
}

export interface GroupInfo {
  readonly groupId: Uint8Array;
  readonly name: string;
  readonly revision: number;
  readonly status: GroupStatus;
  readonly members: GroupMemberInfo[];
  /** This account's role, or undefined when it is no longer a member. */
  readonly myRole: GroupRole | undefined;
  readonly mutedUntil: number;
}

export type { GroupChangeEvent } from './events.js';

/** What SigiloClient lends the group engine (its connections, outbox and identity). */
export interface GroupHost {
  readonly store: ClientStore;
  readonly ctx: ProtocolContext;
  readonly sealedCache: SealedSenderCache;
  now(): number;
  account(): { accountId: Uint8Array; deviceId: number };
  identity(): IdentityKeyPair;
  accessKey(): Uint8Array | undefined;
  /** This account's profile key (client.md §11.1), sent with every pairwise Content. */
  profileKey(): Uint8Array;
  /** Records a member's profile key from a pairwise Content. */
  learnProfileKey(from: Uint8Array, key: Uint8Array): void;
  emit(e: ClientEvent): void;
  /** Disappearing messages (client.md §14): a countdown started; the client arms its expiry timer again. */
  expiryChanged(): void;
  /** The server expiry hint of an encoded Content (disappearing.ts expiryHint; 0n when hints are off). */
  expiryHint(content: Uint8Array): bigint;
  /** This device keeps messages in memory only (client.md §15). */
  memoryOnly(): boolean;
  /** Keeps a confidential message in memory instead of the store; false when it is there already. */
  keepInMemory(row: MessageRow): boolean;
  flush(): Promise<void>;
  flushSoon(delayMs: number): void;
  /** The authenticated connection; throws CONNECTION_FAILED when offline. */
  connection(): Connection;
  isOnline(): boolean;
  anonymousConnection(): Promise<Connection>;
  senderCertificate(connection: Connection): Promise<Uint8Array>;
  /** Sends an encoded Content pairwise now (sealed when the access key is known), as the outbox does. */
  deliverContent(to: Uint8Array, content: Uint8Array, messageId: Uint8Array, options?: { onlineOnly?: boolean }): Promise<void>;
  /**
   * Sends several encoded Contents pairwise at once: the sessions advanced in one store transaction, the sends
   * in parallel. Resolves with whether each went out (one that did not stays for the outbox to retry).
   */
  deliverContents(items: readonly { to: Uint8Array; content: Uint8Array; messageId: Uint8Array }[]): Promise<boolean[]>;
  /** Runs `fn` while no outbox flush runs, so that rows it sends itself are not sent by a flush too. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  fetchSessions(connection: Connection, accountId: Uint8Array, deviceIds: number[]): Promise<void>;
  /** Every device of this account (this one included), cached by the client. */
  ownDevices(connection: Connection): Promise<number[]>;
  setOwnDevices(deviceIds: number[]): void;
  trustedKeys(): TrustedServerKey[];
  contact(accountId: Uint8Array): ContactRow;
}

/** The part of the client's per-batch inbox state the group engine adds to. */
export interface GroupInboxEffects {
  readonly events: ClientEvent[];
  readonly followUps: (() => void)[];
  readonly receipts: Map<string, { to: Uint8Array; ids: Uint8Array[]; groupId?: Uint8Array }>;
}

export interface Queued {
  readonly seq: number;
  readonly to: Uint8Array;
  readonly bytes: Uint8Array;
  readonly messageId: Uint8Array;
}

export interface Sender {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
}

export const hex = toHex;
export const has = (list: readonly Uint8Array[], id: Uint8Array) => list.some((x) => bytesEqual(x, id));
export const STATUS_WIRE: readonly GroupStatus[] = ['active', 'left', 'removed'];

/** A group name: 1–64 characters, no control characters (it is shown on terminals). */
export function checkGroupName(name: string): string {
  const n = name.trim().normalize('NFC');
  // eslint-disable-next-line no-control-regex
  if (n.length === 0 || [...n].length > 64 || /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(n)) {
    throw new ClientError('INVALID_INPUT', 'a group name is 1–64 characters without control characters');
  }
  return n;
}

/** The group engine's state: what the client lends it, and what it remembers between messages. */
export class GroupEngine {
  /** Last answer to a SenderKeyRequest or chain request per (requesting account, key or group): a flood gets one answer. */
  readonly answered = new Map<string, number>();
  /** Last chain request sent per group (bounded: CHAIN_ASKED_KEPT, the oldest dropped). */
  readonly chainAsked = new Map<string, number>();
  /** When the chain requests of the current interval were sent (at most CHAIN_REQUESTS_PER_INTERVAL). */
  chainRequestTimes: number[] = [];
  readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Verified logs by group, with the fingerprint of the stored entries they were opened from. */
  readonly logs = new Map<string, { fingerprint: string; log: GroupLog }>();

  constructor(readonly h: GroupHost) {}
}

/**
 * The group's log for reading (never to be changed: changes use #freshLog). Opening a log verifies every entry's
 * signature, so the opened log is kept while the stored entries are the same (SHA-256 of them, read each time).
 */
export function openLog(ge: GroupEngine, groupId: Uint8Array): GroupLog | undefined {
  const entries = ge.h.store.getGroupEntries(groupId);
  if (!entries.length) return undefined;
  const fingerprint = hex(ge.h.ctx.crypto.sha256(concat(entries)));
  const k = hex(groupId);
  const cached = ge.logs.get(k);
  if (cached?.fingerprint === fingerprint) return cached.log;
  const log = GroupLog.open(ge.h.ctx, entries);
  if (ge.logs.size >= 256) ge.logs.clear();
  ge.logs.set(k, { fingerprint, log });
  return log;
}

/** A log of its own for making or applying changes. */
export function freshLog(ge: GroupEngine, groupId: Uint8Array): GroupLog | undefined {
  const entries = ge.h.store.getGroupEntries(groupId);
  return entries.length ? GroupLog.open(ge.h.ctx, entries) : undefined;
}

export function requireLog(ge: GroupEngine, groupId: Uint8Array, fresh = false): GroupLog {
  if (groupId.length !== GROUP_ID_LENGTH) throw new ClientError('INVALID_INPUT', 'a group id is 32 bytes (64 hex digits; see `sigilo group list`)');
  const log = fresh ? freshLog(ge, groupId) : openLog(ge, groupId);
  if (!log) throw new ClientError('NOT_FOUND', 'no such group on this device: see `sigilo group list`');
  return log;
}

export function infoOf(ge: GroupEngine, row: GroupRow, state: GroupState): GroupInfo {
  const me = ge.h.account().accountId;
  return {
    groupId: row.groupId, name: state.name, revision: state.revision, status: row.status, mutedUntil: row.mutedUntil,
    myRole: state.members.find((m) => bytesEqual(m.accountId, me))?.role,
    members: state.members.map((m) => ({ accountId: m.accountId, identityKey: m.identityKey, role: m.role, alias: ge.h.store.getContact(m.accountId)?.alias })),
  };
}

/** A group's state: name, revision, members with roles, this account's role. */
export function groupInfo(ge: GroupEngine, groupId: Uint8Array): GroupInfo {
  const log = requireLog(ge, groupId);
  return infoOf(ge, ge.h.store.getGroup(groupId)!, log.state);
}

export function listGroups(ge: GroupEngine): GroupInfo[] {
  return ge.h.store.listGroups().flatMap((row) => {
    const log = openLog(ge, row.groupId);
    return log ? [infoOf(ge, row, log.state)] : [];
  });
}

/** A group by its name, or by its id in hex (or a unique prefix of at least 8 hex digits). */
export function resolveGroup(ge: GroupEngine, nameOrId: string): GroupInfo {
  const rows = ge.h.store.listGroups();
  const byName = rows.filter((g) => g.name === nameOrId.trim().normalize('NFC'));
  if (byName.length === 1) return groupInfo(ge, byName[0]!.groupId);
  const q = nameOrId.trim().toLowerCase();
  if (/^[0-9a-f]{8,64}$/.test(q)) {
    const byId = rows.filter((g) => hex(g.groupId).startsWith(q));
    if (byId.length === 1) return groupInfo(ge, byId[0]!.groupId);
  }
  if (byName.length > 1) throw new ClientError('INVALID_INPUT', `${byName.length} groups are called "${nameOrId}": use the group id (see \`sigilo group list\`)`);
  throw new ClientError('NOT_FOUND', `no group "${nameOrId}": see \`sigilo group list\``);
}

export function saveLog(ge: GroupEngine, groupId: Uint8Array, log: GroupLog, status: GroupStatus, now: number): void {
  const existing = ge.h.store.getGroup(groupId);
  ge.h.store.setGroupEntries(groupId, log.entries());
  ge.h.store.putGroup({
    groupId, name: log.state.name, revision: log.state.revision, status, mutedUntil: existing?.mutedUntil ?? 0, updatedAt: now,
  });
}

/** Members this device has no contact for get one from the log (unverified, no access key: pairwise sends are identified). */
export function learnMembers(ge: GroupEngine, state: GroupState): void {
  const me = ge.h.account().accountId;
  for (const m of state.members) {
    if (bytesEqual(m.accountId, me)) continue;
    const c = ge.h.store.getContact(m.accountId);
    if (!c) {
      ge.h.store.putContact({
        accountId: m.accountId, alias: undefined, identityKey: m.identityKey, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0,
      });
    } else if (!c.identityKey) {
      ge.h.store.putContact({ ...c, identityKey: m.identityKey });
    }
  }
}

/** Out of the group (left or removed): no sender key of it is kept (groups.md §6.8). */
export function forgetKeys(ge: GroupEngine, groupId: Uint8Array): void {
  ge.h.store.deleteOwnSenderKeys(groupId);
  ge.h.store.deleteSenderKeys(groupId);
}

/** Removed members lose their sender keys here; this device's own key is renewed on its next send. */
export function afterMembershipChange(ge: GroupEngine, groupId: Uint8Array, before: GroupState, after: GroupState): void {
  const me = ge.h.account().accountId;
  const gone = before.members.filter((m) => !after.members.some((a) => bytesEqual(a.accountId, m.accountId)));
  for (const m of gone) if (!bytesEqual(m.accountId, me)) ge.h.store.deleteSenderKeys(groupId, m.accountId);
  if (gone.length) ge.h.store.retireOwnSenderKey(groupId);
}

export function requireMember(ge: GroupEngine, groupId: Uint8Array): { log: GroupLog; row: GroupRow } {
  const log = requireLog(ge, groupId);
  const row = ge.h.store.getGroup(groupId)!;
  const me = ge.h.account().accountId;
  if (!log.state.members.some((m) => bytesEqual(m.accountId, me))) {
    throw new ClientError('INVALID_INPUT', row.status === 'removed' ? 'you were removed from this group: you can read its history but not send' : 'you are not a member of this group any more');
  }
  return { log, row };
}

/**
 * Whether `from` is someone this account knows (groups.md §6.10): a contact it added (one with an alias), or a
 * member of a group it holds, over the identity recorded for it. (Anyone who writes gets a contact row, so a row
 * alone says nothing.)
 */
export function isContact(ge: GroupEngine, from: Sender): boolean {
  const c = ge.h.store.getContact(from.accountId);
  if (!c?.identityKey || !bytesEqual(c.identityKey, from.identityKey)) return false;
  if (c.alias !== undefined) return true;
  return ge.h.store.listGroups().some((g) => openLog(ge, g.groupId)?.state.members.some((m) => bytesEqual(m.accountId, from.accountId)));
}

/** Keeps entries that wait for their parent: bounded per group and across groups, for at most a week (§6.10). */
export function keepPendingEntries(ge: GroupEngine, groupId: Uint8Array, entries: Uint8Array[]): void {
  const now = ge.h.now();
  ge.h.store.addPendingGroupEntries(groupId, entries, now, MAX_PENDING_ENTRIES);
  ge.h.store.prunePendingGroupEntries(MAX_UNHELD_GROUPS, now - UNHELD_TTL_MS);
}

/** Events for what changed on the winning chain: new entries on it, and entries shown before that a fork undid. */
export function changeEvents(ge: GroupEngine, groupId: Uint8Array, log: GroupLog, applied: Uint8Array[], wasWinning: Uint8Array[]): ClientEvent[] {
  const winning = log.chain();
  const hashOf = (e: Uint8Array) => hex(groupEntryHash(ge.h.ctx, e));
  const onChain = new Set(winning.map(hashOf));
  const changes = applied.filter((e) => onChain.has(hashOf(e))).flatMap((e) => describeEntry(e));
  for (const lost of wasWinning.filter((e) => !onChain.has(hashOf(e)))) {
    const info = parseGroupEntry(lost);
    if (info.change.type === 'genesis') continue;
    const winner = winning.map((e) => parseGroupEntry(e)).find((e) => e.revision === info.revision);
    changes.push({ ...describeChange(info.authorAccountId, info.change), kind: 'undone', ...(winner ? { undoneBy: winner.authorAccountId } : {}) });
  }
  return changes.length ? [{ type: 'group-update', groupId, revision: log.state.revision, changes }] : [];
}

/** The groups for a ProvisionMessage: every log entry held, the status and the mute state. Sender keys are not copied. */
export function forProvisioning(ge: GroupEngine): { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[] {
  return ge.h.store.listGroups().map((g) => ({
    groupId: g.groupId, entries: ge.h.store.getGroupEntries(g.groupId), status: STATUS_WIRE.indexOf(g.status), mutedUntil: BigInt(g.mutedUntil),
  }));
}

/**
 * On a newly linked device, inside its install transaction: each group's log is
 * verified from its genesis (a log that does not verify is skipped and reported).
 * The device has no sender keys yet: it asks for each one when a message needs it,
 * and makes its own on its first send.
 */
export function installProvisioned(ge: GroupEngine, groups: readonly { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[], now: number): string[] {
  const problems: string[] = [];
  for (const g of groups) {
    let log: GroupLog;
    try {
      log = GroupLog.open(ge.h.ctx, g.entries);
    } catch (e) {
      problems.push(`a group's membership log did not verify and was skipped (${(e as Error).message})`);
      continue;
    }
    if (!bytesEqual(log.state.groupId, g.groupId)) continue;
    ge.h.store.setGroupEntries(g.groupId, log.entries());
    ge.h.store.putGroup({
      groupId: g.groupId, name: log.state.name, revision: log.state.revision, status: STATUS_WIRE[g.status] ?? 'active', mutedUntil: Number(g.mutedUntil), updatedAt: now,
    });
    learnMembers(ge, log.state);
  }
  return problems;
}

/** Mutes a group's notifications until `until` (Unix ms; 0 unmutes). Local to this device. */
export function muteGroup(ge: GroupEngine, groupId: Uint8Array, until: number): void {
  const row = ge.h.store.getGroup(groupId);
  if (!row) throw new ClientError('NOT_FOUND', 'no such group on this device: see `sigilo group list`');
  ge.h.store.putGroup({ ...row, mutedUntil: until });
}

// ------------------------------------------------------------------ helpers

export function unique(ids: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const k = hex(id);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

export function sameSet(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x) => has(b, x));
}

/** Own changes are kept as JSON (bytes in hex) to be signed again if they lose a fork. */
export function serialiseChange(c: GroupChange): string {
  return JSON.stringify(c, (_k, v: unknown) => (v instanceof Uint8Array ? { hex: hex(v) } : v));
}
export function parseChange(s: string): GroupChange {
  return JSON.parse(s, (_k, v: unknown) => (v && typeof v === 'object' && 'hex' in v && typeof (v as { hex: unknown }).hex === 'string'
    ? fromHex((v as { hex: string }).hex) : v)) as GroupChange;
}

/** What of a change that lost a fork still needs doing on the winning state (undefined: nothing). */
export function stillToDo(c: GroupChange, state: GroupState, me: Uint8Array): GroupChange | undefined {
  const member = (id: Uint8Array) => state.members.find((m) => bytesEqual(m.accountId, id));
  switch (c.type) {
    case 'add': {
      const members = c.members.filter((m) => !member(m.accountId));
      return members.length ? { type: 'add', members } : undefined;
    }
    case 'remove': {
      const accountIds = c.accountIds.filter((id) => member(id));
      return accountIds.length ? { type: 'remove', accountIds } : undefined;
    }
    case 'promote':
      return member(c.accountId) && member(c.accountId)!.role !== 'admin' ? c : undefined;
    case 'demote':
      return member(c.accountId)?.role === 'admin' ? c : undefined;
    case 'leave':
      return member(me) ? c : undefined;
    case 'rename':
      return state.name !== c.name ? c : undefined;
    default:
      return undefined;
  }
}

export function describeChange(by: Uint8Array, c: GroupChange): GroupChangeEvent {
  switch (c.type) {
    case 'add': return { by, kind: 'added', accounts: c.members.map((m) => m.accountId) };
    case 'remove': return { by, kind: 'removed', accounts: c.accountIds };
    case 'promote': return { by, kind: 'promoted', accounts: [c.accountId] };
    case 'demote': return { by, kind: 'demoted', accounts: [c.accountId] };
    case 'leave': return { by, kind: 'left', accounts: [by] };
    case 'rename': return { by, kind: 'renamed', accounts: [], name: c.name };
    default: return { by, kind: 'renamed', accounts: [] };
  }
}

export function describeEntry(entry: Uint8Array): GroupChangeEvent[] {
  const e = parseGroupEntry(entry);
  if (e.change.type === 'genesis') {
    return [{ by: e.authorAccountId, kind: 'created', accounts: e.change.members.map((m) => m.accountId).filter((id) => !bytesEqual(id, e.authorAccountId)), name: e.change.name }];
  }
  return [describeChange(e.authorAccountId, e.change)];
}

/**
 * What of the winning chain `from` may have (groups.md §6.2): all of it for a member at the head with the recorded
 * identity; for an account that was a member with that identity and is no longer, the chain up to and including the
 * last entry after which it was not a member; undefined for anyone else.
 */
export function chainFor(ctx: ProtocolContext, log: GroupLog, from: Sender): Uint8Array[] | undefined {
  const isIn = (s: GroupState | undefined) => s?.members.some((m) => bytesEqual(m.accountId, from.accountId) && bytesEqual(m.identityKey, from.identityKey)) ?? false;
  const chain = log.chain();
  if (isIn(log.state)) return chain;
  let end = -1;
  let before = false;
  chain.forEach((e, i) => {
    const now = isIn(log.stateAt(groupEntryHash(ctx, e)));
    if (before && !now) end = i;
    before = now;
  });
  return end >= 0 ? chain.slice(0, end + 1) : undefined;
}

export function isGenesisOf(entry: Uint8Array, groupId: Uint8Array): boolean {
  try {
    const e = parseGroupEntry(entry);
    return e.change.type === 'genesis' && bytesEqual(e.groupId, groupId);
  } catch {
    return false;
  }
}

/** Whether the winning chain holds a leave by this account (left, as opposed to removed, for a device that learns it from another). */
export function leftBySelf(log: GroupLog, me: Uint8Array): boolean {
  return log.chain().some((e) => {
    const v = parseGroupEntry(e);
    return bytesEqual(v.authorAccountId, me) && v.change.type === 'leave';
  });
}
