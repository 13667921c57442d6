/**
 * Groups in the client: the membership log, sender keys, the multi-recipient
 * sealed send and private messages inside a group. The rules are in
 * spec/groups.md; how this client stores and applies them is client.md §8.
 *
 * Like the 1:1 path, I/O stays at the edges: everything received is applied
 * inside the inbox transaction (the client calls receiveMulti/applyPairwise
 * from there), and everything sent goes through the outbox, so a message
 * written offline goes out later and a retry reuses its message id.
 *
 * - Membership: changes are signed by an admin and hash-chained (GroupLog).
 *   Every change is sent pairwise to every member (old and new), one message
 *   each: the new entries to those who hold the log, the whole chain to new
 *   members (who verify it from its genesis), and after an add or a remove this
 *   device's new sender key in the same message. A forged change is dropped and
 *   reported; an entry whose parent is unknown waits (bounded) and the chain is
 *   asked for. A change of this account that lost a fork is signed again on the
 *   winning head.
 * - Sender keys: each device has one current key per group, made for one set
 *   of member accounts (its epoch) and distributed pairwise. When the member
 *   set changes, the next send makes a new key, so removed members cannot read
 *   new messages and new members cannot read old ones.
 * - A group message is encrypted once with the sender key, sealed once for
 *   every member account (this account included, for its other devices) and
 *   uploaded once (MultiSealedSend) over the unauthenticated connection.
 *   Members whose access key is unknown, or refused, get the same Content
 *   pairwise, as the 1:1 path does without an access key.
 * - A message whose sender key is missing is kept (still encrypted) and a
 *   SenderKeyRequest goes to its sender; the key's owner answers only devices
 *   of accounts that were members in that key's epoch.
 */
import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  GroupLog, ProtocolError, DuplicateMessageError, SEALED_CONTENT_SENDER_KEY, bytesEqual, createGroup, createSenderKey, groupEntryHash,
  processSenderKeyDistribution, sealMultiRecipient, senderKeyDecrypt, senderKeyDistribution, senderKeyEncrypt, senderKeyMessageDistributionId,
  signGroupChange, unsealMultiRecipient, parseGroupEntry, OutOfOrderGroupEntryError,
  type GroupChange, type GroupRole, type GroupState, type IdentityKeyPair, type ProtocolContext, type SealedSenderCache, type TrustedServerKey,
} from '@sigilo/protocol';
import {
  ContentSchema, ReceiptMessage_Type, TypingMessage_Action, type Content, type DataMessage, type GroupUpdate,
} from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { Deliver } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { TYPING_EXPIRY_MS, type ClientEvent, type GroupChangeEvent } from './events.js';
import { ServerRequestError, type ClientBody, type Connection } from './connection.js';
import { envelopeId } from './envelope-ids.js';
import { ClientError } from './errors.js';
import { acceptPointers } from './media/pointer.js';
import { pad, unpad } from './padding.js';
import type { ContactRow, GroupRow, GroupStatus, MessageRow, MessageStatus, OutboxRow, OwnSenderKeyRow, SenderKeyRow } from './store/port.js';
import type { ClientStore } from './store/port.js';

export const GROUP_ID_LENGTH = 32;
/**
 * Messages waiting for a sender key (groups.md §6.5): at most this many per sender account (the group of a message
 * whose key is missing is not known yet, so the bound is per sender rather than per group), for at most a week.
 */
export const MAX_PENDING_GROUP_MESSAGES = 1000;
const PENDING_TTL_MS = 7 * 24 * 3600_000;
/** Log entries waiting for their parent, per group. */
const MAX_PENDING_ENTRIES = 256;
/** Own sender keys kept per group (the current one and older ones, to answer requests from their epoch). */
const OWN_KEYS_KEPT = 8;
/**
 * Received sender keys kept per member device and group (groups.md §6.6): the current one and a few older ones, for
 * messages of an ended epoch still on their way; beyond it the oldest goes, so a member cannot fill the store.
 */
export const SENDER_KEYS_KEPT_PER_DEVICE = 5;
/** A SenderKeyRequest for one key at most this often (groups.md §6.5); an answer to one account at most this often. */
const REQUEST_INTERVAL_MS = 3600_000;
const ANSWER_INTERVAL_MS = 10_000;
/** A chain request (empty GroupUpdate) per group at most this often. */
const CHAIN_REQUEST_INTERVAL_MS = 60_000;
/**
 * What anyone can make this device keep for groups it does not hold (groups.md §6.10): waiting log entries and
 * received sender keys of at most this many such group ids (the oldest evicted), for at most a week; sender keys
 * for such groups at most this many in all.
 */
export const MAX_UNHELD_GROUPS = 64;
export const MAX_UNHELD_SENDER_KEYS = 1024;
const UNHELD_TTL_MS = 7 * 24 * 3600_000;
/** Chain requests: groups remembered (the oldest forgotten), and at most this many sent per interval in all. */
const CHAIN_ASKED_KEPT = 256;
const CHAIN_REQUESTS_PER_INTERVAL = 16;
/** A sender key is renewed at least this often (groups.md §3.8), and an ended epoch's distribution kept this long (§6.3). */
const SENDER_KEY_MAX_AGE_MS = 7 * 24 * 3600_000;
const ENDED_EPOCH_KEPT_MS = 30 * 24 * 3600_000;
/** Own changes already in the chain are forgotten after this long (a fork that late is not expected). */
const OWN_CHANGE_TTL_MS = 7 * 24 * 3600_000;

type ContentInit = MessageInitShape<typeof ContentSchema>;

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
  emit(e: ClientEvent): void;
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

interface Queued {
  readonly seq: number;
  readonly to: Uint8Array;
  readonly bytes: Uint8Array;
  readonly messageId: Uint8Array;
}

interface Sender {
  readonly accountId: Uint8Array;
  readonly deviceId: number;
  readonly identityKey: Uint8Array;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const has = (list: readonly Uint8Array[], id: Uint8Array) => list.some((x) => bytesEqual(x, id));
const STATUS_WIRE: readonly GroupStatus[] = ['active', 'left', 'removed'];
const RANK: Record<MessageStatus, number> = { pending: 0, failed: 0, sent: 1, received: 1, delivered: 2, read: 3 };

/** A group name: 1–64 characters, no control characters (it is shown on terminals). */
export function checkGroupName(name: string): string {
  const n = name.trim().normalize('NFC');
  // eslint-disable-next-line no-control-regex
  if (n.length === 0 || [...n].length > 64 || /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(n)) {
    throw new ClientError('INVALID_INPUT', 'a group name is 1–64 characters without control characters');
  }
  return n;
}

export class Groups {
  readonly #h: GroupHost;
  /** Last answer to a SenderKeyRequest or chain request per (requesting account, key or group): a flood gets one answer. */
  readonly #answered = new Map<string, number>();
  /** Last chain request sent per group (bounded: CHAIN_ASKED_KEPT, the oldest dropped). */
  readonly #chainAsked = new Map<string, number>();
  /** When the chain requests of the current interval were sent (at most CHAIN_REQUESTS_PER_INTERVAL). */
  #chainRequestTimes: number[] = [];
  readonly #typingTimers = new Map<string, NodeJS.Timeout>();
  /** Verified logs by group, with the fingerprint of the stored entries they were opened from. */
  readonly #logs = new Map<string, { fingerprint: string; log: GroupLog }>();

  constructor(host: GroupHost) {
    this.#h = host;
  }

  close(): void {
    for (const t of this.#typingTimers.values()) clearTimeout(t);
    this.#typingTimers.clear();
  }

  // ------------------------------------------------------------------ reading

  /**
   * The group's log for reading (never to be changed: changes use #freshLog). Opening a log verifies every entry's
   * signature, so the opened log is kept while the stored entries are the same (SHA-256 of them, read each time).
   */
  #openLog(groupId: Uint8Array): GroupLog | undefined {
    const entries = this.#h.store.getGroupEntries(groupId);
    if (!entries.length) return undefined;
    const fingerprint = hex(this.#h.ctx.crypto.sha256(concat(entries)));
    const k = hex(groupId);
    const cached = this.#logs.get(k);
    if (cached?.fingerprint === fingerprint) return cached.log;
    const log = GroupLog.open(this.#h.ctx, entries);
    if (this.#logs.size >= 256) this.#logs.clear();
    this.#logs.set(k, { fingerprint, log });
    return log;
  }

  /** A log of its own for making or applying changes. */
  #freshLog(groupId: Uint8Array): GroupLog | undefined {
    const entries = this.#h.store.getGroupEntries(groupId);
    return entries.length ? GroupLog.open(this.#h.ctx, entries) : undefined;
  }

  #requireLog(groupId: Uint8Array, fresh = false): GroupLog {
    if (groupId.length !== GROUP_ID_LENGTH) throw new ClientError('INVALID_INPUT', 'a group id is 32 bytes (64 hex digits; see `sigilo group list`)');
    const log = fresh ? this.#freshLog(groupId) : this.#openLog(groupId);
    if (!log) throw new ClientError('NOT_FOUND', 'no such group on this device: see `sigilo group list`');
    return log;
  }

  #info(row: GroupRow, state: GroupState): GroupInfo {
    const me = this.#h.account().accountId;
    return {
      groupId: row.groupId, name: state.name, revision: state.revision, status: row.status, mutedUntil: row.mutedUntil,
      myRole: state.members.find((m) => bytesEqual(m.accountId, me))?.role,
      members: state.members.map((m) => ({ accountId: m.accountId, identityKey: m.identityKey, role: m.role, alias: this.#h.store.getContact(m.accountId)?.alias })),
    };
  }

  /** A group's state: name, revision, members with roles, this account's role. */
  info(groupId: Uint8Array): GroupInfo {
    const log = this.#requireLog(groupId);
    return this.#info(this.#h.store.getGroup(groupId)!, log.state);
  }

  list(): GroupInfo[] {
    return this.#h.store.listGroups().flatMap((row) => {
      const log = this.#openLog(row.groupId);
      return log ? [this.#info(row, log.state)] : [];
    });
  }

  /** A group by its name, or by its id in hex (or a unique prefix of at least 8 hex digits). */
  resolve(nameOrId: string): GroupInfo {
    const rows = this.#h.store.listGroups();
    const byName = rows.filter((g) => g.name === nameOrId.trim().normalize('NFC'));
    if (byName.length === 1) return this.info(byName[0]!.groupId);
    const q = nameOrId.trim().toLowerCase();
    if (/^[0-9a-f]{8,64}$/.test(q)) {
      const byId = rows.filter((g) => hex(g.groupId).startsWith(q));
      if (byId.length === 1) return this.info(byId[0]!.groupId);
    }
    if (byName.length > 1) throw new ClientError('INVALID_INPUT', `${byName.length} groups are called "${nameOrId}": use the group id (see \`sigilo group list\`)`);
    throw new ClientError('NOT_FOUND', `no group "${nameOrId}": see \`sigilo group list\``);
  }

  // ------------------------------------------------------------------ membership

  /** The identity keys of future members: from the contact (or an earlier group log), fetched from the server when unknown. */
  async #memberKeys(ids: Uint8Array[]): Promise<{ accountId: Uint8Array; identityKey: Uint8Array }[]> {
    const out: { accountId: Uint8Array; identityKey: Uint8Array }[] = [];
    for (const id of ids) {
      let c = this.#h.store.getContact(id);
      if (!c) throw new ClientError('UNKNOWN_CONTACT', 'a member is not in your contacts: add it with `sigilo contacts add NAME CARD` first');
      if (c.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', `the safety number of ${c.alias ?? 'a member'} changed: compare it (\`sigilo verify NAME\`) and accept it before adding them to a group`);
      if (!c.identityKey) {
        let connection: Connection;
        try {
          connection = this.#h.connection();
        } catch {
          throw new ClientError('CONNECTION_FAILED', `the identity key of ${c.alias ?? 'a member'} is not known yet and the server cannot be reached: connect and try again`);
        }
        await this.#h.fetchSessions(connection, id, []);
        c = this.#h.store.getContact(id)!;
        if (c.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', `the safety number of ${c.alias ?? 'a member'} changed: compare it and accept it first`);
        if (!c.identityKey) throw new ClientError('NOT_FOUND', `${c.alias ?? 'a member'} has no published keys yet; try again later`);
      }
      out.push({ accountId: id, identityKey: c.identityKey });
    }
    return out;
  }

  /** Creates a group with this account as its admin, and sends the log to every member. */
  async create(name: string, memberIds: Uint8Array[]): Promise<GroupInfo> {
    const me = this.#h.account();
    const clean = checkGroupName(name);
    const ids = unique(memberIds).filter((id) => !bytesEqual(id, me.accountId));
    const members = await this.#memberKeys(ids);
    const now = this.#h.now();
    const { log } = createGroup(this.#h.ctx, { accountId: me.accountId, identity: this.#h.identity() }, clean, members, now);
    const groupId = log.state.groupId;
    const queued = this.#h.store.transaction(() => {
      this.#saveLog(groupId, log, 'active', now);
      this.#learnMembers(log.state);
      return this.#announce(groupId, log, undefined, log.chain());
    });
    this.#h.emit({ type: 'group-update', groupId, revision: log.state.revision, changes: [{ by: me.accountId, kind: 'created', accounts: ids, name: clean }] });
    await this.#sendQueued(queued);
    return this.info(groupId);
  }

  /** Signs one change as this account, applies it and sends the log to every member before and after it. */
  async change(groupId: Uint8Array, change: GroupChange): Promise<GroupInfo> {
    const me = this.#h.account();
    let log = this.#requireLog(groupId, true);
    const mine = log.state.members.find((m) => bytesEqual(m.accountId, me.accountId));
    if (!mine) throw new ClientError('INVALID_INPUT', 'you are not a member of this group any more');
    if (change.type !== 'leave' && mine.role !== 'admin') {
      throw new ClientError('INVALID_INPUT', 'only an admin of the group can change it: ask one of its admins (`sigilo group show GROUP` lists them)');
    }
    let ch = change;
    if (ch.type === 'add') {
      const fresh = unique(ch.members.map((m) => m.accountId)).filter((id) => !log.state.members.some((m) => bytesEqual(m.accountId, id)));
      if (fresh.length === 0) throw new ClientError('INVALID_INPUT', 'they are members already');
      ch = { type: 'add', members: await this.#memberKeys(fresh) };
      log = this.#requireLog(groupId, true); // another change may have arrived while the keys were fetched
    } else if (ch.type === 'remove') {
      const ids = unique(ch.accountIds);
      if (ids.some((id) => bytesEqual(id, me.accountId))) throw new ClientError('INVALID_INPUT', 'to remove yourself, leave the group (`sigilo group leave GROUP`)');
      if (ids.some((id) => !log.state.members.some((m) => bytesEqual(m.accountId, id)))) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
      ch = { type: 'remove', accountIds: ids };
    } else if (ch.type === 'promote' || ch.type === 'demote') {
      const target = log.state.members.find((m) => bytesEqual(m.accountId, (ch as { accountId: Uint8Array }).accountId));
      if (!target) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
      if (ch.type === 'promote' && target.role === 'admin') throw new ClientError('INVALID_INPUT', 'that member is an admin already');
      if (ch.type === 'demote' && target.role !== 'admin') throw new ClientError('INVALID_INPUT', 'that member is not an admin');
    } else if (ch.type === 'rename') {
      ch = { type: 'rename', name: checkGroupName(ch.name) };
    }
    const now = this.#h.now();
    const before = log.state;
    const entry = signGroupChange(this.#h.ctx, before, { accountId: me.accountId, identity: this.#h.identity() }, ch, now);
    log.add(entry);
    const queued = this.#h.store.transaction(() => {
      const status: GroupStatus = ch.type === 'leave' ? 'left' : 'active';
      this.#saveLog(groupId, log, status, now);
      this.#h.store.addOwnGroupChange(groupId, groupEntryHash(this.#h.ctx, entry), serialiseChange(ch), now);
      this.#afterMembershipChange(groupId, before, log.state);
      this.#learnMembers(log.state);
      const q = this.#announce(groupId, log, before, [entry]);
      if (ch.type === 'leave') this.#forgetKeys(groupId);
      return q;
    });
    this.#h.emit({ type: 'group-update', groupId, revision: log.state.revision, changes: [describeChange(me.accountId, ch)] });
    await this.#sendQueued(queued);
    return this.#info(this.#h.store.getGroup(groupId)!, log.state);
  }

  #saveLog(groupId: Uint8Array, log: GroupLog, status: GroupStatus, now: number): void {
    const existing = this.#h.store.getGroup(groupId);
    this.#h.store.setGroupEntries(groupId, log.entries());
    this.#h.store.putGroup({
      groupId, name: log.state.name, revision: log.state.revision, status, mutedUntil: existing?.mutedUntil ?? 0, updatedAt: now,
    });
  }

  /** Members this device has no contact for get one from the log (unverified, no access key: pairwise sends are identified). */
  #learnMembers(state: GroupState): void {
    const me = this.#h.account().accountId;
    for (const m of state.members) {
      if (bytesEqual(m.accountId, me)) continue;
      const c = this.#h.store.getContact(m.accountId);
      if (!c) {
        this.#h.store.putContact({
          accountId: m.accountId, alias: undefined, identityKey: m.identityKey, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0,
        });
      } else if (!c.identityKey) {
        this.#h.store.putContact({ ...c, identityKey: m.identityKey });
      }
    }
  }

  /** Out of the group (left or removed): no sender key of it is kept (groups.md §6.8). */
  #forgetKeys(groupId: Uint8Array): void {
    this.#h.store.deleteOwnSenderKeys(groupId);
    this.#h.store.deleteSenderKeys(groupId);
  }

  /** Removed members lose their sender keys here; this device's own key is renewed on its next send. */
  #afterMembershipChange(groupId: Uint8Array, before: GroupState, after: GroupState): void {
    const me = this.#h.account().accountId;
    const gone = before.members.filter((m) => !after.members.some((a) => bytesEqual(a.accountId, m.accountId)));
    for (const m of gone) if (!bytesEqual(m.accountId, me)) this.#h.store.deleteSenderKeys(groupId, m.accountId);
    if (gone.length) this.#h.store.retireOwnSenderKey(groupId);
  }

  /**
   * Queues new log entries for everyone concerned (groups.md §6.2), one pairwise message per account: the members
   * before the change (removed ones included, so they learn it) and after it, and this account's other devices.
   * Accounts that were members already get only `entries` (they hold the chain; one that lacks a parent asks for
   * it); accounts new to the group get the whole winning chain. When the member list changed and this account is
   * still in it, this device's new sender key travels in the same message (a SenderKeyDistribution carrying the
   * entries, applied first) to the members and this account's other devices, so a rotation is one message per
   * member, not two; accounts no longer members get a GroupUpdate with the entries alone. `before` undefined: a
   * new group (everyone is new).
   */
  #announce(groupId: Uint8Array, log: GroupLog, before: GroupState | undefined, entries: Uint8Array[]): Queued[] {
    const me = this.#h.account().accountId;
    const after = log.state;
    const inBefore = (id: Uint8Array) => before?.members.some((m) => bytesEqual(m.accountId, id)) ?? false;
    const inAfter = (id: Uint8Array) => after.members.some((m) => bytesEqual(m.accountId, id));
    const accounts = unique([...(before?.members ?? []).map((m) => m.accountId), ...after.members.map((m) => m.accountId), me]);
    const listChanged = !before || !sameSet(before.members.map((m) => m.accountId), after.members.map((m) => m.accountId));
    const key = listChanged && inAfter(me) ? this.#newSenderKey(groupId, after) : undefined;
    // At most four different Contents (key or not, entries or chain), each encoded once.
    const encoded = new Map<string, Uint8Array>();
    const content = (withKey: boolean, whole: boolean): Uint8Array => {
      const k = `${withKey}:${whole}`;
      let bytes = encoded.get(k);
      if (!bytes) {
        const sent = whole ? log.chain() : entries;
        bytes = this.#encode(withKey
          ? { body: { case: 'senderKey', value: { groupId, distribution: key!.distribution, entries: sent } } }
          : { body: { case: 'groupUpdate', value: { groupId, entries: sent } } });
        encoded.set(k, bytes);
      }
      return bytes;
    };
    return accounts.map((id) => this.#enqueueEncoded(id, content(key !== undefined && inAfter(id), !inBefore(id))));
  }

  /**
   * Sends queued pairwise rows now, all at once when online (while no flush runs; rows a flush sent meanwhile are no
   * longer in the outbox and are skipped); what does not go out stays for the next flush.
   */
  async #sendQueued(queued: Queued[]): Promise<void> {
    if (queued.length && this.#h.isOnline()) {
      await this.#h.exclusive(() => {
        const still = new Set(this.#h.store.listOutbox().map((r) => r.seq));
        return this.#sendNow(queued.filter((q) => still.has(q.seq)));
      }).catch(() => {});
    }
    await this.#h.flush().catch(() => {});
  }

  /** A pairwise Content in the outbox (with this account's access key, as every pairwise Content). Returns its seq and bytes. */
  #enqueue(to: Uint8Array, content: ContentInit, sync?: ContentInit, messageId = this.#h.ctx.random(16)): Queued {
    return this.#enqueueEncoded(to, this.#encode(content), sync ? toBinary(ContentSchema, create(ContentSchema, sync)) : undefined, messageId);
  }

  /** A pairwise Content's bytes, with this account's access key. */
  #encode(content: ContentInit): Uint8Array {
    const c = create(ContentSchema, content);
    const accessKey = this.#h.accessKey();
    if (accessKey) c.senderAccessKey = accessKey;
    return toBinary(ContentSchema, c);
  }

  #enqueueEncoded(to: Uint8Array, bytes: Uint8Array, syncContent?: Uint8Array, messageId = this.#h.ctx.random(16)): Queued {
    const seq = this.#h.store.enqueueOutbox({ recipient: to, content: bytes, syncContent, messageId, createdAt: this.#h.now() });
    return { seq, to, bytes, messageId };
  }

  // ------------------------------------------------------------------ sending

  #requireMember(groupId: Uint8Array): { log: GroupLog; row: GroupRow } {
    const log = this.#requireLog(groupId);
    const row = this.#h.store.getGroup(groupId)!;
    const me = this.#h.account().accountId;
    if (!log.state.members.some((m) => bytesEqual(m.accountId, me))) {
      throw new ClientError('INVALID_INPUT', row.status === 'removed' ? 'you were removed from this group: you can read its history but not send' : 'you are not a member of this group any more');
    }
    return { log, row };
  }

  /** A text to the group: stored as pending and queued (recipient = the group id), then sent at once when online. */
  async sendText(groupId: Uint8Array, text: string, extra: { readonly attachments?: DataMessage['attachments'] } = {}): Promise<MessageRow> {
    const me = this.#h.account();
    const { log } = this.#requireMember(groupId);
    const messageId = this.#h.ctx.random(16);
    const now = this.#h.now();
    const data = { ...extra, messageId, timestamp: BigInt(now), text, groupId, private: false };
    const row: MessageRow = { messageId, conversation: groupId, author: me.accountId, outgoing: true, timestamp: now, text, status: 'pending', deleted: false, receivedAt: now };
    this.#h.store.transaction(() => {
      this.#h.store.insertMessage(row);
      for (const m of log.state.members) if (!bytesEqual(m.accountId, me.accountId)) this.#h.store.putGroupReceipt(groupId, messageId, m.accountId, 'sent');
      this.#enqueue(groupId, { body: { case: 'data', value: data } }, undefined, messageId);
    });
    await this.#h.flush().catch(() => {});
    return this.#h.store.getMessage(groupId, messageId) ?? row;
  }

  /**
   * A private message to one member, inside the group: encrypted pairwise to that
   * account (and copied to this account's other devices), shown in the group's
   * conversation to the two of them only.
   */
  async sendPrivate(groupId: Uint8Array, to: Uint8Array, text: string): Promise<MessageRow> {
    const me = this.#h.account();
    const { log } = this.#requireMember(groupId);
    if (bytesEqual(to, me.accountId)) throw new ClientError('INVALID_INPUT', 'a private message goes to another member');
    if (!log.state.members.some((m) => bytesEqual(m.accountId, to))) throw new ClientError('INVALID_INPUT', 'that account is not a member of the group');
    if (this.#h.store.getContact(to)?.pendingIdentityKey) {
      throw new ClientError('IDENTITY_CHANGED', 'this member\'s safety number changed: compare it (`sigilo verify NAME`) and accept it before sending');
    }
    const messageId = this.#h.ctx.random(16);
    const now = this.#h.now();
    const data = { messageId, timestamp: BigInt(now), text, groupId, private: true };
    const row: MessageRow = {
      messageId, conversation: groupId, author: me.accountId, outgoing: true, timestamp: now, text, status: 'pending', deleted: false, receivedAt: now, privateWith: to,
    };
    this.#h.store.transaction(() => {
      this.#h.store.insertMessage(row);
      this.#h.store.setMessagePrivateWith(groupId, messageId, to);
      this.#h.store.putGroupReceipt(groupId, messageId, to, 'sent');
      // Queued under the group (so ticks and order follow the group's conversation); the sync copy names the recipient.
      this.#enqueue(groupId, { body: { case: 'data', value: data } },
        { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: to, message: data } } } } }, messageId);
    });
    await this.#h.flush().catch(() => {});
    return this.#h.store.getMessage(groupId, messageId) ?? row;
  }

  /** Typing in a group: sent with the sender key to the members online now, never queued. */
  async typing(groupId: Uint8Array, started: boolean): Promise<void> {
    if (!this.#h.isOnline()) return;
    this.#requireMember(groupId);
    const c = create(ContentSchema, {
      body: { case: 'typing', value: { action: started ? TypingMessage_Action.STARTED : TypingMessage_Action.STOPPED, timestamp: BigInt(this.#h.now()), groupId } },
    });
    await this.#deliverGroup(groupId, toBinary(ContentSchema, c), this.#h.ctx.random(16), true).catch(() => {});
  }

  /** Marks group messages read; a read receipt (with the group id) goes pairwise to each author, and a sync to this account's devices. */
  async markRead(groupId: Uint8Array, messageIds?: Uint8Array[]): Promise<number> {
    const me = this.#h.account().accountId;
    const rows = (messageIds
      ? messageIds.map((id) => this.#h.store.getMessage(groupId, id)).filter((m): m is MessageRow => m !== undefined)
      : this.#h.store.listMessages(groupId, 10_000)).filter((m) => !m.outgoing && m.status !== 'read' && !m.deleted);
    if (rows.length === 0) return 0;
    const now = BigInt(this.#h.now());
    const byAuthor = new Map<string, { author: Uint8Array; ids: Uint8Array[] }>();
    for (const m of rows) {
      const k = hex(m.author);
      const e = byAuthor.get(k) ?? { author: m.author, ids: [] };
      e.ids.push(m.messageId);
      byAuthor.set(k, e);
    }
    this.#h.store.transaction(() => {
      for (const m of rows) this.#h.store.setMessageStatus(groupId, m.messageId, 'read');
      for (const { author, ids } of byAuthor.values()) {
        if (bytesEqual(author, me)) continue;
        this.#enqueue(author, { body: { case: 'receipt', value: { type: ReceiptMessage_Type.READ, messageIds: ids, timestamp: now, groupId } } });
      }
      this.#enqueue(me, { body: { case: 'sync', value: { body: { case: 'read', value: { conversationAccountId: groupId, messageIds: rows.map((m) => m.messageId) } } } } });
    });
    await this.#h.flush().catch(() => {});
    return rows.length;
  }

  /**
   * Deletes one of this account's messages in the group for everyone (groups.md §6.4): the DeleteMessage names the
   * group and goes the way the message went (with the sender key to every member, pairwise where the group send is
   * pairwise; pairwise to the other account of a private message), with a copy to this account's other devices.
   */
  async deleteForEveryone(groupId: Uint8Array, messageId: Uint8Array): Promise<void> {
    const me = this.#h.account();
    this.#requireMember(groupId);
    const m = this.#h.store.getMessage(groupId, messageId);
    if (!m) throw new ClientError('NOT_FOUND', 'no such message in this group');
    if (!bytesEqual(m.author, me.accountId)) throw new ClientError('INVALID_INPUT', 'only your own messages can be deleted for everyone; use delete for me');
    const del = { messageId, timestamp: BigInt(this.#h.now()), groupId };
    this.#h.store.transaction(() => {
      this.#h.store.markMessageDeleted(groupId, messageId);
      this.#enqueue(groupId, { body: { case: 'delete', value: del } },
        { body: { case: 'sync', value: { body: { case: 'sent', value: { destinationAccountId: groupId, delete: del } } } } });
    });
    await this.#h.flush().catch(() => {});
  }

  /** Sends an outbox entry whose recipient is a group id (called by the client's flush, in order). */
  async deliver(item: OutboxRow): Promise<void> {
    let content: Content;
    try {
      content = fromBinary(ContentSchema, item.content);
    } catch {
      throw new ClientError('INVALID_INPUT', 'a queued group message is damaged and cannot be sent');
    }
    if (content.body.case === 'data' && content.body.value.private) {
      // Private inside the group: pairwise to the one member the sync copy names.
      const sync = item.syncContent ? fromBinary(ContentSchema, item.syncContent) : undefined;
      const to = sync?.body.case === 'sync' && sync.body.value.body.case === 'sent' ? sync.body.value.body.value.destinationAccountId : undefined;
      if (!to || to.length !== 16) throw new ClientError('INVALID_INPUT', 'a queued private message names no recipient and cannot be sent');
      const contact = this.#h.store.getContact(to);
      if (contact?.pendingIdentityKey) throw new ClientError('IDENTITY_CHANGED', 'this member\'s safety number changed: compare it and accept it before sending');
      await this.#h.deliverContent(to, item.content, item.messageId);
      return;
    }
    if (content.body.case === 'delete') {
      // Deleting a private message: pairwise to the one other account that has it.
      const other = this.#h.store.getMessage(item.recipient, content.body.value.messageId)?.privateWith;
      if (other) {
        await this.#h.deliverContent(other, item.content, item.messageId);
        return;
      }
    }
    await this.#deliverGroup(item.recipient, item.content, item.messageId, false);
  }

  /**
   * The current sender key of this device for the group, made anew when the member
   * set differs from the key's epoch. A new key's distribution is queued pairwise
   * to every member and to this account's other devices (returned, to be sent now).
   */
  #currentSenderKey(groupId: Uint8Array, state: GroupState): { key: OwnSenderKeyRow; queued: Queued[] } {
    const me = this.#h.account().accountId;
    const members = state.members.map((m) => m.accountId);
    const own = this.#h.store.getOwnSenderKey(groupId);
    const now = this.#h.now();
    if (own?.record && sameSet(own.members, members) && now - own.createdAt < SENDER_KEY_MAX_AGE_MS) return { key: own, queued: [] };
    const key = this.#newSenderKey(groupId, state);
    const content: ContentInit = { body: { case: 'senderKey', value: { groupId, distribution: key.distribution } } };
    const queued = unique([...members, me]).map((id) => this.#enqueue(id, content));
    return { key, queued };
  }

  /** Makes and stores this device's new current sender key for the group, for the members of `state` (its epoch). */
  #newSenderKey(groupId: Uint8Array, state: GroupState): OwnSenderKeyRow {
    const now = this.#h.now();
    this.#h.store.forgetEndedOwnSenderKeys(groupId, now - ENDED_EPOCH_KEPT_MS);
    const made = createSenderKey(this.#h.ctx);
    const key: OwnSenderKeyRow = {
      groupId, distributionId: made.distributionId, record: made.record, distribution: made.distribution,
      members: state.members.map((m) => m.accountId), createdAt: now, current: true,
    };
    this.#h.store.putOwnSenderKey(key, OWN_KEYS_KEPT);
    return key;
  }

  /**
   * Sends queued pairwise rows now, all at once (deliverContents: one store transaction for the sessions, the sends in
   * parallel), and removes the sent ones from the outbox in one transaction; one that fails stays in the outbox and
   * is retried with it.
   */
  async #sendNow(queued: Queued[]): Promise<void> {
    const ready = queued.filter((q) => !this.#h.store.getContact(q.to)?.pendingIdentityKey); // others held until accepted
    if (!ready.length) return;
    let sent: boolean[];
    try {
      sent = await this.#h.deliverContents(ready.map((q) => ({ to: q.to, content: q.bytes, messageId: q.messageId })));
    } catch {
      sent = [];
    }
    const done = ready.filter((_, i) => sent[i] === true);
    if (done.length) this.#h.store.transaction(() => { for (const q of done) this.#h.store.removeOutbox(q.seq); });
    if (done.length < ready.length) this.#h.flushSoon(1000);
  }

  /**
   * Encrypts `content` once with this device's sender key, seals it once for every
   * member account and uploads it once. Accounts without (or with a refused) access
   * key get the Content pairwise instead.
   */
  async #deliverGroup(groupId: Uint8Array, content: Uint8Array, messageId: Uint8Array, onlineOnly: boolean): Promise<void> {
    const me = this.#h.account();
    const { log } = this.#requireMember(groupId);
    const state = log.state;
    const connection = this.#h.connection();
    const { key, queued } = this.#h.store.transaction(() => this.#currentSenderKey(groupId, state));
    if (queued.length) await this.#sendNow(queued);

    interface Target { accountId: Uint8Array; identityKey: Uint8Array; accessKey: Uint8Array; header?: Uint8Array }
    const targets: Target[] = [];
    const pairwise: Uint8Array[] = [];
    for (const m of state.members) {
      if (bytesEqual(m.accountId, me.accountId)) continue;
      const c = this.#h.store.getContact(m.accountId);
      if (c?.pendingIdentityKey) {
        if (!onlineOnly) this.#h.emit({ type: 'send-failed', conversation: groupId, messageId, reason: `not sent to ${c.alias ?? 'a member'}: their safety number changed (sigilo verify NAME)` });
        continue;
      }
      if (c?.accessKey) targets.push({ accountId: m.accountId, identityKey: m.identityKey, accessKey: c.accessKey });
      else pairwise.push(m.accountId);
    }
    const ownOthers = (await this.#h.ownDevices(connection)).filter((d) => d !== me.deviceId);
    const myAccessKey = this.#h.accessKey();
    if (ownOthers.length && myAccessKey) targets.push({ accountId: me.accountId, identityKey: this.#h.identity().publicKey, accessKey: myAccessKey });
    else if (ownOthers.length) pairwise.push(me.accountId);

    // Device lists come from the sessions; an account with none gets its bundles fetched (sessions are needed for the pairwise
    // distribution anyway). The server cannot tell which device sent an unauthenticated send, so this account's list names
    // this device too: its copy comes back and is dropped on receipt.
    const others = (id: Uint8Array) => this.#h.store.sessionDevices(id).filter((d) => !(bytesEqual(id, me.accountId) && d === me.deviceId));
    const devicesOf = (id: Uint8Array) => (bytesEqual(id, me.accountId) ? [...others(id), me.deviceId].sort((a, b) => a - b) : others(id));
    for (const t of [...targets]) {
      if (others(t.accountId).length) continue;
      try {
        await this.#h.fetchSessions(connection, t.accountId, []);
      } catch (e) {
        // No device with keys, or a changed identity: nothing can reach them now.
        if (!onlineOnly) this.#h.emit({ type: 'send-failed', conversation: groupId, messageId, reason: `not sent to one member: ${(e as Error).message}` });
      }
      if (!others(t.accountId).length) targets.splice(targets.indexOf(t), 1);
    }

    // Encrypt once; the advanced chain is stored before anything leaves this device.
    const padded = pad(content);
    const message = this.#h.store.transaction(() => {
      const current = this.#h.store.getOwnSenderKey(groupId);
      if (!current?.record || !bytesEqual(current.distributionId, key.distributionId)) throw new ClientError('SERVER_ERROR', 'the group\'s sender key changed during the send; try again');
      const out = senderKeyEncrypt(this.#h.ctx, current.record, padded);
      this.#h.store.updateOwnSenderKeyRecord(groupId, key.distributionId, out.record);
      return out.message;
    });

    const newDevices: Uint8Array[] = [];
    if (targets.length) {
      const certificate = await this.#h.senderCertificate(connection);
      const sealed = sealMultiRecipient(this.#h.ctx, {
        senderCertificate: certificate, contentType: SEALED_CONTENT_SENDER_KEY, content: message, recipientIdentityKeys: targets.map((t) => t.identityKey),
      });
      targets.forEach((t, i) => { t.header = sealed.headers[i]!; });
      let active = targets;
      let sent = false;
      for (let attempt = 0; attempt < 4 && active.length; attempt++) {
        try {
          const anonymous = await this.#h.anonymousConnection();
          await anonymous.request({
            case: 'multiSealedSend',
            value: {
              messageId, sharedPayload: sealed.shared, onlineOnly,
              recipients: active.map((t) => ({ accountId: t.accountId, deviceIds: devicesOf(t.accountId), header: t.header!, accessKey: t.accessKey })),
            },
          } satisfies ClientBody);
          sent = true;
          break;
        } catch (e) {
          if (!(e instanceof ServerRequestError) || e.frame.body.case !== 'error') throw e;
          const err = e.frame.body.value;
          if (e.serverCode === 'STALE_DEVICES' && err.staleAccounts.length) {
            for (const s of err.staleAccounts) {
              this.#h.store.transaction(() => { for (const d of s.extraDeviceIds) this.#h.store.deleteSession(s.accountId, d); });
              if (bytesEqual(s.accountId, me.accountId)) this.#h.setOwnDevices([...s.currentDeviceIds, me.deviceId]);
              if (s.missingDeviceIds.length) {
                await this.#h.fetchSessions(connection, s.accountId, s.missingDeviceIds).catch(() => {});
                newDevices.push(s.accountId);
              }
            }
            active = active.filter((t) => others(t.accountId).length > 0);
            continue;
          }
          if (e.serverCode === 'UNAUTHORIZED' && err.unauthorizedAccountIds.length) {
            // The access key we hold is wrong or was changed: those accounts get the Content pairwise.
            const refused = err.unauthorizedAccountIds;
            pairwise.push(...active.filter((t) => has(refused, t.accountId)).map((t) => t.accountId));
            active = active.filter((t) => !has(refused, t.accountId));
            continue;
          }
          throw e;
        }
      }
      if (!sent && active.length) throw new ClientError('SERVER_ERROR', 'the members\' device lists kept changing; the message will be sent again');
    }

    // New devices of members (linked since the key was distributed) get the key now instead of asking for it.
    if (newDevices.length && !onlineOnly) {
      const epoch = key.members;
      const give = unique(newDevices).filter((id) => bytesEqual(id, me.accountId) || has(epoch, id));
      const q = this.#h.store.transaction(() => give.map((id) => this.#enqueue(id, { body: { case: 'senderKey', value: { groupId, distribution: key.distribution } } })));
      await this.#sendNow(q);
    }

    // Pairwise fallback: the same Content (a DataMessage with the group id), as the 1:1 path without an access key.
    // Each goes under an envelope id of its own (envelope-ids.ts): an identified copy sharing the id of the sealed
    // send would tell the server who sent that.
    for (const id of unique(pairwise)) {
      const pairwiseId = envelopeId(this.#h.ctx.crypto, this.#h.identity(), messageId, id);
      try {
        await this.#h.deliverContent(id, content, pairwiseId, { onlineOnly });
      } catch {
        if (onlineOnly) continue;
        this.#h.store.enqueueOutbox({ recipient: id, content, syncContent: undefined, messageId: pairwiseId, createdAt: this.#h.now() });
        this.#h.flushSoon(1000);
      }
    }
  }

  // ------------------------------------------------------------------ receiving (inside the inbox transaction)

  /**
   * A Deliver with a recipient header: a multi-recipient sealed group message.
   * Throws ProtocolError/ClientError for what can never be read (the client
   * acknowledges and reports it).
   */
  receiveMulti(d: Deliver, out: GroupInboxEffects): void {
    const me = this.#h.account();
    const opened = unsealMultiRecipient(this.#h.ctx, this.#h.identity(), d.recipientHeader, d.content, this.#h.trustedKeys(), Number(d.serverTimestamp), this.#h.sealedCache);
    if (opened.contentType !== SEALED_CONTENT_SENDER_KEY) throw new ClientError('INVALID_INPUT', 'a multi-recipient message that is not a sender-key message');
    const sender: Sender = { accountId: opened.sender.accountId, deviceId: opened.sender.deviceId, identityKey: opened.sender.identityKey };
    if (bytesEqual(sender.accountId, me.accountId) && sender.deviceId === me.deviceId) return; // our own echo
    const distributionId = senderKeyMessageDistributionId(opened.content);
    const key = this.#h.store.getSenderKey(sender.accountId, sender.deviceId, distributionId);
    if (!key) {
      this.#keepPending(sender, distributionId, opened.content, Number(d.serverTimestamp), out);
      return;
    }
    this.#decryptWith(key, sender, opened.content, out);
  }

  /**
   * No sender key yet: keep the message (still encrypted) and ask its sender's devices for the key. Its group is not
   * known until the key comes (the sealed message does not name it), so the request names none.
   */
  #keepPending(sender: Sender, distributionId: Uint8Array, message: Uint8Array, serverTimestamp: number, out: GroupInboxEffects): void {
    const groupId = new Uint8Array(0);
    const now = this.#h.now();
    const waiting = this.#h.store.pendingGroupMessages(sender.accountId, sender.deviceId, distributionId);
    const lastAsked = Math.max(0, ...waiting.map((w) => w.requestedAt));
    const dropped = this.#h.store.addPendingGroupMessage({
      accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sender.identityKey, distributionId, groupId,
      message, serverTimestamp, receivedAt: now, requestedAt: 0,
    }, MAX_PENDING_GROUP_MESSAGES, now - PENDING_TTL_MS);
    if (dropped) out.events.push({ type: 'undecryptable', reason: `${dropped} group message(s) waited too long for their sender key and were dropped` });
    if (now - lastAsked < REQUEST_INTERVAL_MS) return;
    this.#h.store.markPendingGroupMessagesRequested(sender.accountId, sender.deviceId, distributionId, now);
    this.#enqueue(sender.accountId, { body: { case: 'senderKeyRequest', value: { groupId, distributionId } } });
    out.followUps.push(() => this.#h.flushSoon(0));
  }

  /**
   * Decrypts a sender-key message with a stored key and applies it. The key was
   * distributed by this account/device (it is stored under them), and the
   * certificate names the same account/device; the sender must be a current
   * member whose identity key is the one in the log.
   */
  #decryptWith(key: SenderKeyRow, sender: Sender, message: Uint8Array, out: GroupInboxEffects): void {
    const me = this.#h.account();
    const log = this.#openLog(key.groupId);
    const member = log?.state.members.find((m) => bytesEqual(m.accountId, sender.accountId));
    const fromSelf = bytesEqual(sender.accountId, me.accountId);
    if (!log) {
      // The key came before the group's log: the message waits (still encrypted) and is read when the log arrives.
      this.#h.store.addPendingGroupMessage({
        accountId: sender.accountId, deviceId: sender.deviceId, identityKey: sender.identityKey, distributionId: key.distributionId, groupId: key.groupId,
        message, serverTimestamp: 0, receivedAt: this.#h.now(), requestedAt: this.#h.now(),
      }, MAX_PENDING_GROUP_MESSAGES, this.#h.now() - PENDING_TTL_MS);
      return;
    }
    if (!member) {
      out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message from someone who is not a member was dropped' });
      return;
    }
    const expected = fromSelf ? this.#h.identity().publicKey : member.identityKey;
    if (!bytesEqual(sender.identityKey, expected)) {
      out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message whose sender identity differs from the group\'s member list was dropped' });
      return;
    }
    let plaintext: Uint8Array;
    try {
      const r = senderKeyDecrypt(this.#h.ctx, key.record, message);
      this.#h.store.putSenderKey({ ...key, record: r.record });
      plaintext = r.plaintext;
    } catch (e) {
      if (e instanceof DuplicateMessageError) return;
      throw e;
    }
    let content: Content;
    try {
      content = fromBinary(ContentSchema, unpad(plaintext));
    } catch {
      out.events.push({ type: 'undecryptable', reason: 'a group message decrypted but its content is malformed' });
      return;
    }
    const b = content.body;
    if (b.case === 'data') {
      if (!bytesEqual(b.value.groupId, key.groupId) || b.value.private) {
        out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a group message naming another group was dropped' });
        return;
      }
      this.#learnAccessKey(sender.accountId, content);
      this.#storeGroupData(b.value, key.groupId, sender.accountId, log.state, out);
    } else if (b.case === 'delete') {
      if (!bytesEqual(b.value.groupId, key.groupId)) {
        out.events.push({ type: 'group-rejected', groupId: key.groupId, reason: 'a deletion naming another group was dropped' });
        return;
      }
      this.#receiveDelete(key.groupId, b.value.messageId, sender.accountId, true, out);
    } else if (b.case === 'typing') {
      if (!bytesEqual(b.value.groupId, key.groupId) || fromSelf) return;
      this.#typing(key.groupId, sender.accountId, b.value.action === TypingMessage_Action.STARTED, Number(b.value.timestamp), out);
    } else {
      out.events.push({ type: 'undecryptable', reason: 'a group message carried content that is only valid pairwise' });
    }
  }

  /**
   * Delete for everyone (groups.md §6.4): only the author's own message, as 1:1 (client.md §4.3). A private message
   * inside the group is deleted only by a pairwise deletion (the group's sender key reaches members it was not for).
   */
  #receiveDelete(groupId: Uint8Array, messageId: Uint8Array, from: Uint8Array, withSenderKey: boolean, out: GroupInboxEffects): void {
    const m = this.#h.store.getMessage(groupId, messageId);
    if (!m || m.deleted || !bytesEqual(m.author, from) || (withSenderKey && m.privateWith)) return;
    this.#h.store.markMessageDeleted(groupId, messageId);
    out.events.push({ type: 'deleted', conversation: groupId, messageId });
  }

  #learnAccessKey(from: Uint8Array, content: Content): void {
    if (bytesEqual(from, this.#h.account().accountId) || content.senderAccessKey.length !== 16) return;
    const c = this.#h.contact(from);
    if (c.pendingIdentityKey) return;
    if (!c.accessKey || !bytesEqual(c.accessKey, content.senderAccessKey)) this.#h.store.putContact({ ...c, accessKey: content.senderAccessKey });
  }

  /** Stores a group message (the author's, or this account's from another device) and queues a delivery receipt. */
  #storeGroupData(m: DataMessage, groupId: Uint8Array, author: Uint8Array, state: GroupState, out: GroupInboxEffects): void {
    if (m.messageId.length !== 16) return;
    const me = this.#h.account().accountId;
    const fromSelf = bytesEqual(author, me);
    const attachments = acceptPointers(m.attachments);
    const row: MessageRow = {
      messageId: m.messageId, conversation: groupId, author, outgoing: fromSelf, timestamp: Number(m.timestamp), text: m.text,
      status: fromSelf ? 'sent' : 'received', deleted: false, receivedAt: this.#h.now(), ...(attachments.length ? { attachments } : {}),
    };
    if (!this.#h.store.insertMessage(row)) return;
    if (attachments.length) this.#h.store.setMessageAttachments(groupId, m.messageId, attachments);
    if (fromSelf) {
      for (const x of state.members) if (!bytesEqual(x.accountId, me)) this.#h.store.putGroupReceipt(groupId, m.messageId, x.accountId, 'sent');
    } else {
      const k = `${hex(author)}:${hex(groupId)}`;
      const r = out.receipts.get(k) ?? { to: author, ids: [], groupId };
      r.ids.push(m.messageId);
      out.receipts.set(k, r);
    }
    out.events.push({ type: 'message', message: row });
  }

  #typing(groupId: Uint8Array, from: Uint8Array, startedAction: boolean, timestamp: number, out: GroupInboxEffects): void {
    const now = this.#h.now();
    const started = startedAction && timestamp > now - TYPING_EXPIRY_MS;
    out.events.push({ type: 'typing', conversation: groupId, from, started, expiresAt: started ? now + TYPING_EXPIRY_MS : now });
    out.followUps.push(() => {
      const k = `${hex(groupId)}:${hex(from)}`;
      const t = this.#typingTimers.get(k);
      if (t) clearTimeout(t);
      this.#typingTimers.delete(k);
      if (!started) return;
      const timer = setTimeout(() => {
        this.#typingTimers.delete(k);
        this.#h.emit({ type: 'typing', conversation: groupId, from, started: false, expiresAt: this.#h.now() });
      }, TYPING_EXPIRY_MS);
      timer.unref();
      this.#typingTimers.set(k, timer);
    });
  }

  /**
   * Group content that came pairwise (a ratchet message from `sender`). Returns
   * false for content that is not about a group (the client applies it).
   */
  applyPairwise(content: Content, sender: Sender, out: GroupInboxEffects, unaccepted: boolean): boolean {
    const me = this.#h.account().accountId;
    const fromSelf = bytesEqual(sender.accountId, me);
    const b = content.body;
    switch (b.case) {
      case 'senderKey':
        if (unaccepted) return true;
        // The change that made the key comes with it (groups.md §6.2): its entries first, then the key.
        if (b.value.entries.length) this.#receiveUpdate({ groupId: b.value.groupId, entries: b.value.entries }, sender, out);
        this.#receiveSenderKey(b.value.groupId, b.value.distribution, sender, out);
        return true;
      case 'senderKeyRequest':
        if (!unaccepted) this.#answerRequest(b.value.groupId, b.value.distributionId, sender, out);
        return true;
      case 'groupUpdate':
        if (!unaccepted) this.#receiveUpdate(b.value, sender, out);
        return true;
      case 'data': {
        if (b.value.groupId.length === 0) return false;
        if (fromSelf) return true; // this account's own messages come as sync copies or with the sender key
        const log = this.#openLog(b.value.groupId);
        const state = log?.state;
        const member = state?.members.find((m) => bytesEqual(m.accountId, sender.accountId));
        if (!state || !member || !state.members.some((m) => bytesEqual(m.accountId, me))) {
          out.events.push({ type: 'group-rejected', groupId: b.value.groupId, reason: 'a message for a group you and the sender do not share was dropped' });
          return true;
        }
        // Over a session with the identity the log records for the member, and one accepted here (groups.md §6.4).
        if (!bytesEqual(member.identityKey, sender.identityKey) || unaccepted) {
          out.events.push({
            type: 'group-rejected', groupId: b.value.groupId,
            reason: unaccepted
              ? 'a group message from a member whose new safety number is not accepted yet was dropped: compare it and accept it'
              : 'a group message over a session with another identity than the group records for the sender was dropped',
          });
          return true;
        }
        if (!unaccepted) this.#learnAccessKey(sender.accountId, content);
        if (b.value.private) this.#storePrivate(b.value, b.value.groupId, sender.accountId, sender.accountId, false, out);
        else this.#storeGroupData(b.value, b.value.groupId, sender.accountId, state, out);
        return true;
      }
      case 'delete':
        if (b.value.groupId.length === 0) return false;
        if (!unaccepted) this.#receiveDelete(b.value.groupId, b.value.messageId, sender.accountId, false, out);
        return true;
      case 'receipt':
        if (b.value.groupId.length === 0) return false;
        if (!unaccepted && !fromSelf) this.#receiveReceipt(b.value.groupId, b.value.messageIds, b.value.type === ReceiptMessage_Type.READ ? 'read' : 'delivered', sender.accountId, out);
        return true;
      case 'typing':
        if (b.value.groupId.length === 0) return false;
        if (!unaccepted && !fromSelf && this.#openLog(b.value.groupId)?.state.members.some((m) => bytesEqual(m.accountId, sender.accountId))) {
          this.#typing(b.value.groupId, sender.accountId, b.value.action === TypingMessage_Action.STARTED, Number(b.value.timestamp), out);
        }
        return true;
      case 'sync': {
        const s = b.value.body;
        if (s.case === 'mute' && s.value.conversationAccountId.length === GROUP_ID_LENGTH) {
          if (fromSelf && this.#h.store.getGroup(s.value.conversationAccountId)) this.mute(s.value.conversationAccountId, Number(s.value.until));
          return true;
        }
        if (s.case !== 'sent' || !s.value.message || s.value.message.groupId.length === 0) return false;
        if (!fromSelf) return true;
        const m = s.value.message;
        if (m.private) this.#storePrivate(m, m.groupId, me, s.value.destinationAccountId, true, out);
        return true;
      }
      default:
        return false;
    }
  }

  #storePrivate(m: DataMessage, groupId: Uint8Array, author: Uint8Array, other: Uint8Array, outgoing: boolean, out: GroupInboxEffects): void {
    if (m.messageId.length !== 16 || other.length !== 16 || !this.#h.store.getGroup(groupId)) return;
    const attachments = acceptPointers(m.attachments);
    const row: MessageRow = {
      messageId: m.messageId, conversation: groupId, author, outgoing, timestamp: Number(m.timestamp), text: m.text,
      status: outgoing ? 'sent' : 'received', deleted: false, receivedAt: this.#h.now(), privateWith: other, ...(attachments.length ? { attachments } : {}),
    };
    if (!this.#h.store.insertMessage(row)) return;
    if (attachments.length) this.#h.store.setMessageAttachments(groupId, m.messageId, attachments);
    this.#h.store.setMessagePrivateWith(groupId, m.messageId, other);
    if (outgoing) {
      this.#h.store.putGroupReceipt(groupId, m.messageId, other, 'sent');
    } else {
      const k = `${hex(author)}:${hex(groupId)}`;
      const r = out.receipts.get(k) ?? { to: author, ids: [], groupId };
      r.ids.push(m.messageId);
      out.receipts.set(k, r);
    }
    out.events.push({ type: 'message', message: row });
  }

  /** Receipts for this account's group messages: per member, the message's ticks follow the slowest current member. */
  #receiveReceipt(groupId: Uint8Array, ids: Uint8Array[], status: MessageStatus, from: Uint8Array, out: GroupInboxEffects): void {
    const state = this.#openLog(groupId)?.state;
    if (!state) return;
    for (const id of ids) {
      const m = this.#h.store.getMessage(groupId, id);
      if (!m || !m.outgoing) continue;
      const rows = this.#h.store.listGroupReceipts(groupId, id);
      const mine = rows.find((r) => bytesEqual(r.accountId, from));
      if (!mine || RANK[mine.status] >= RANK[status]) continue;
      this.#h.store.putGroupReceipt(groupId, id, from, status);
      const current = rows.map((r) => (bytesEqual(r.accountId, from) ? { ...r, status } : r))
        .filter((r) => state.members.some((x) => bytesEqual(x.accountId, r.accountId)) || (m.privateWith && bytesEqual(r.accountId, m.privateWith)));
      if (current.length === 0) continue;
      const slowest = current.reduce((a, r) => (RANK[r.status] < RANK[a.status] ? r : a)).status;
      if (RANK[slowest] > RANK[m.status]) {
        this.#h.store.setMessageStatus(groupId, id, slowest);
        out.events.push({ type: 'status', conversation: groupId, messageId: id, status: slowest });
      }
    }
  }

  #receiveSenderKey(groupId: Uint8Array, distribution: Uint8Array, sender: Sender, out: GroupInboxEffects): void {
    if (groupId.length !== GROUP_ID_LENGTH) {
      out.events.push({ type: 'undecryptable', reason: 'a sender key named no group' });
      return;
    }
    const log = this.#openLog(groupId);
    const me = this.#h.account().accountId;
    // For a group held here (groups.md §6.6): only from a member at the head, over a session with the identity key
    // the log records for it. For a group not held yet (its log may still be on the way from another member) the
    // key is kept and the same checks are made on every use (#decryptWith): the certificate's account, device and
    // identity key against the key's owner and the log.
    if (log && !bytesEqual(sender.accountId, me)) {
      const member = log.state.members.find((m) => bytesEqual(m.accountId, sender.accountId));
      if (!member || !bytesEqual(member.identityKey, sender.identityKey)) {
        out.events.push({ type: 'group-rejected', groupId, reason: member ? 'a sender key over a session with another identity than the group records was refused' : 'a sender key from someone who is not a member was refused' });
        return;
      }
    }
    const first = processSenderKeyDistribution(this.#h.ctx, distribution);
    const existing = this.#h.store.getSenderKey(sender.accountId, sender.deviceId, first.distributionId);
    // A key already held stays (the protocol keeps it): starting it again at an earlier iteration would
    // reopen used message keys; the same id with another signing key is refused.
    const processed = existing ? processSenderKeyDistribution(this.#h.ctx, distribution, existing.record) : first;
    if (!existing) {
      this.#h.store.putSenderKey({
        groupId, accountId: sender.accountId, deviceId: sender.deviceId, distributionId: processed.distributionId, record: processed.record,
        receivedAt: this.#h.now(),
      });
      // Bounded per member device and group (groups.md §6.6): the newest few, and none superseded for a month.
      this.#h.store.pruneSenderKeys(groupId, sender.accountId, sender.deviceId, SENDER_KEYS_KEPT_PER_DEVICE, this.#h.now() - ENDED_EPOCH_KEPT_MS);
      if (!log) {
        // Keys for groups not held here (their log may be on its way) are bounded per device across all such groups,
        // and across every sender (groups.md §6.10), so many devices or accounts cannot add up.
        this.#h.store.pruneUnheldSenderKeys(sender.accountId, sender.deviceId, SENDER_KEYS_KEPT_PER_DEVICE);
        this.#h.store.pruneAllUnheldSenderKeys(MAX_UNHELD_GROUPS, MAX_UNHELD_SENDER_KEYS, this.#h.now() - UNHELD_TTL_MS);
      }
    } else if (!bytesEqual(existing.groupId, groupId)) {
      out.events.push({ type: 'group-rejected', groupId, reason: 'a sender key already used for another group was refused' });
      return;
    }
    if (log) this.#readPending(sender.accountId, sender.deviceId, processed.distributionId, out);
  }

  /** Messages that waited for this sender key (or for its group's log) are read now, in the order they arrived. */
  #readPending(accountId: Uint8Array, deviceId: number, distributionId: Uint8Array, out: GroupInboxEffects): void {
    for (const p of this.#h.store.pendingGroupMessages(accountId, deviceId, distributionId)) {
      this.#h.store.removePendingGroupMessage(p.seq);
      const key = this.#h.store.getSenderKey(accountId, deviceId, distributionId);
      if (!key) return;
      try {
        this.#decryptWith(key, { accountId: p.accountId, deviceId: p.deviceId, identityKey: p.identityKey }, p.message, out);
      } catch (e) {
        if (e instanceof ProtocolError || e instanceof ClientError) out.events.push({ type: 'undecryptable', reason: `${e.code}: ${e.message}` });
        else throw e;
      }
    }
  }

  /** Answers a SenderKeyRequest with the key's iteration-0 distribution, only to accounts of that key's epoch. */
  #answerRequest(groupId: Uint8Array, distributionId: Uint8Array, sender: Sender, out: GroupInboxEffects): void {
    const own = this.#h.store.ownSenderKeyByDistribution(distributionId);
    if (!own) return; // another device of this account made it, or it is long gone
    if (groupId.length && !bytesEqual(groupId, own.groupId)) return;
    const me = this.#h.account().accountId;
    if (!bytesEqual(sender.accountId, me) && !has(own.members, sender.accountId)) {
      out.events.push({ type: 'group-rejected', groupId: own.groupId, reason: 'a sender key was asked for by an account that was not a member when it was made; not answered' });
      return;
    }
    // The request must come over a session with the identity key the group records for that account (§6.7).
    const recorded = this.#openLog(own.groupId)?.state.members.find((m) => bytesEqual(m.accountId, sender.accountId))?.identityKey
      ?? this.#h.store.getContact(sender.accountId)?.identityKey;
    if (!bytesEqual(sender.accountId, me) && (!recorded || !bytesEqual(recorded, sender.identityKey))) {
      out.events.push({ type: 'group-rejected', groupId: own.groupId, reason: 'a sender key was asked for over a session with another identity than the group records; not answered' });
      return;
    }
    const k = `${hex(sender.accountId)}:${hex(distributionId)}`;
    const now = this.#h.now();
    if (now - (this.#answered.get(k) ?? 0) < ANSWER_INTERVAL_MS) return;
    this.#answered.set(k, now);
    if (this.#answered.size > 4096) this.#answered.clear();
    this.#enqueue(sender.accountId, { body: { case: 'senderKey', value: { groupId: own.groupId, distribution: own.distribution } } });
    out.followUps.push(() => this.#h.flushSoon(0));
  }

  /**
   * Membership log entries from a member (groups.md §6.2). Each is verified by the
   * log (signature by an admin of its parent state, hash chain); a forged one is
   * dropped and reported, one whose parent is missing waits and the chain is asked
   * for. An update with no entries is such a request, answered with the chain.
   */
  #receiveUpdate(u: Pick<GroupUpdate, 'groupId' | 'entries'>, from: Sender, out: GroupInboxEffects): void {
    const { groupId } = u;
    if (groupId.length !== GROUP_ID_LENGTH) {
      out.events.push({ type: 'group-rejected', groupId: undefined, reason: 'a malformed group update was dropped' });
      return;
    }
    if (u.entries.length === 0) {
      this.#answerChainRequest(groupId, from, out);
      return;
    }
    const me = this.#h.account().accountId;
    const row = this.#h.store.getGroup(groupId);
    let log = this.#freshLog(groupId);
    const before = log?.state;
    const wasWinning = log ? log.chain() : [];
    const waited = this.#h.store.takePendingGroupEntries(groupId);
    let incoming = [...waited, ...u.entries];
    const rejected: string[] = [];
    let opened: Uint8Array | undefined;
    if (!log) {
      // New to this device: the log must start at a genesis that names this group.
      const genesis = incoming.findIndex((e) => isGenesisOf(e, groupId));
      if (genesis < 0) {
        // Entries of a group not held wait only if they come from a contact (groups.md §6.10): a stranger's are dropped.
        if (this.#isContact(from)) {
          this.#keepPendingEntries(groupId, incoming);
          this.#askForChain(groupId, from, out);
        } else {
          if (waited.length) this.#keepPendingEntries(groupId, waited);
          out.events.push({ type: 'group-rejected', groupId, reason: 'membership entries for a group not held here, from someone who is not a contact, were dropped' });
        }
        return;
      }
      try {
        log = GroupLog.open(this.#h.ctx, [incoming[genesis]!]);
      } catch (e) {
        out.events.push({ type: 'group-rejected', groupId, reason: `a group's first entry was refused (${(e as Error).message})` });
        return;
      }
      opened = incoming[genesis];
      incoming = incoming.filter((_, i) => i !== genesis);
    }
    // Another first entry for a group held here (groups.md §6.2): someone tried to take over this group id. Loud.
    const heldGenesis = hex(groupEntryHash(this.#h.ctx, log.chain()[0]!));
    const otherGenesis = incoming.filter((e) => isGenesisOf(e, groupId) && hex(groupEntryHash(this.#h.ctx, e)) !== heldGenesis);
    if (otherGenesis.length) {
      out.events.push({ type: 'group-rejected', groupId, reason: 'a different first entry for a group held here was refused (someone tried to take over its id)' });
      incoming = incoming.filter((e) => !otherGenesis.includes(e));
    }
    const applied: Uint8Array[] = opened ? [opened] : [];
    // Entries are tried until none makes progress: an entry may arrive before its parent.
    for (let progress = true; progress && incoming.length;) {
      progress = false;
      const waiting: Uint8Array[] = [];
      for (const e of incoming) {
        try {
          if (log.add(e) === 'applied') applied.push(e);
          progress = true;
        } catch (err) {
          if (err instanceof OutOfOrderGroupEntryError) waiting.push(e);
          else if (err instanceof ProtocolError) rejected.push(`${err.code}: ${err.message}`);
          else throw err;
        }
      }
      incoming = waiting;
    }
    for (const reason of new Set(rejected)) out.events.push({ type: 'group-rejected', groupId, reason: `a membership change was refused (${reason})` });
    if (incoming.length) {
      this.#keepPendingEntries(groupId, incoming);
      this.#askForChain(groupId, from, out);
    }
    if (applied.length === 0 && row) return;
    const after = log.state;
    const isMember = after.members.some((m) => bytesEqual(m.accountId, me));
    const wasMember = before?.members.some((m) => bytesEqual(m.accountId, me)) ?? false;
    if (!row) {
      // A group new to this device is kept only if this account is in it and the sender is one of its admins (§6.2).
      if (!isMember) return;
      if (after.members.find((m) => bytesEqual(m.accountId, from.accountId))?.role !== 'admin') {
        out.events.push({ type: 'group-rejected', groupId, reason: 'a group was offered by someone who is not one of its admins; it was ignored' });
        return;
      }
    }
    const now = this.#h.now();
    const status: GroupStatus = isMember ? 'active' : row?.status === 'left' || leftBySelf(log, me) ? 'left' : 'removed';
    this.#saveLog(groupId, log, status, now);
    this.#learnMembers(after);
    if (before) this.#afterMembershipChange(groupId, before, after);
    // Removed (or left from another device): keep the history, stop sending, forget the keys.
    if (!isMember) this.#forgetKeys(groupId);
    out.events.push(...this.#changeEvents(groupId, log, applied, wasWinning));
    if (!isMember) return;
    // Keys that came before this log: their messages were kept and are read now.
    if (!row) for (const k of this.#h.store.listSenderKeys(groupId)) this.#readPending(k.accountId, k.deviceId, k.distributionId, out);
    // Just added: this device's sender key goes out at once (§6.3), so the members can read its first message.
    if (!wasMember) {
      this.#h.store.retireOwnSenderKey(groupId);
      const { queued } = this.#currentSenderKey(groupId, after);
      out.followUps.push(() => { void this.#sendQueued(queued); });
    }
    // Own changes that lost a fork are signed again on the winning head.
    this.#resignLost(groupId, log, out);
  }

  /** Events for what changed on the winning chain: new entries on it, and entries shown before that a fork undid. */
  #changeEvents(groupId: Uint8Array, log: GroupLog, applied: Uint8Array[], wasWinning: Uint8Array[]): ClientEvent[] {
    const winning = log.chain();
    const hashOf = (e: Uint8Array) => hex(groupEntryHash(this.#h.ctx, e));
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

  /**
   * Whether `from` is someone this account knows (groups.md §6.10): a contact it added (one with an alias), or a
   * member of a group it holds, over the identity recorded for it. (Anyone who writes gets a contact row, so a row
   * alone says nothing.)
   */
  #isContact(from: Sender): boolean {
    const c = this.#h.store.getContact(from.accountId);
    if (!c?.identityKey || !bytesEqual(c.identityKey, from.identityKey)) return false;
    if (c.alias !== undefined) return true;
    return this.#h.store.listGroups().some((g) => this.#openLog(g.groupId)?.state.members.some((m) => bytesEqual(m.accountId, from.accountId)));
  }

  /** Keeps entries that wait for their parent: bounded per group and across groups, for at most a week (§6.10). */
  #keepPendingEntries(groupId: Uint8Array, entries: Uint8Array[]): void {
    const now = this.#h.now();
    this.#h.store.addPendingGroupEntries(groupId, entries, now, MAX_PENDING_ENTRIES);
    this.#h.store.prunePendingGroupEntries(MAX_UNHELD_GROUPS, now - UNHELD_TTL_MS);
  }

  /**
   * Asks the sender of an update whose entries do not link up for the whole chain (an empty GroupUpdate): per group
   * at most once a minute, and at most CHAIN_REQUESTS_PER_INTERVAL a minute in all (§6.10).
   */
  #askForChain(groupId: Uint8Array, from: Sender, out: GroupInboxEffects): void {
    const k = hex(groupId);
    const now = this.#h.now();
    if (now - (this.#chainAsked.get(k) ?? 0) < CHAIN_REQUEST_INTERVAL_MS) return;
    this.#chainRequestTimes = this.#chainRequestTimes.filter((t) => now - t < CHAIN_REQUEST_INTERVAL_MS);
    if (this.#chainRequestTimes.length >= CHAIN_REQUESTS_PER_INTERVAL) return;
    this.#chainRequestTimes.push(now);
    this.#chainAsked.delete(k);
    this.#chainAsked.set(k, now);
    if (this.#chainAsked.size > CHAIN_ASKED_KEPT) this.#chainAsked.delete(this.#chainAsked.keys().next().value!);
    this.#enqueue(from.accountId, { body: { case: 'groupUpdate', value: { groupId, entries: [] } } });
    out.followUps.push(() => this.#h.flushSoon(0));
  }

  /**
   * Sends the winning chain to a member at the head that asked for it, over a session with the identity the log
   * records for it; to an account no longer a member, only the chain up to and including the entry that removed it
   * (or recorded its leaving), if it asks with the identity it had then (groups.md §6.2).
   */
  #answerChainRequest(groupId: Uint8Array, from: Sender, out: GroupInboxEffects): void {
    const log = this.#openLog(groupId);
    if (!log) return;
    const chain = chainFor(this.#h.ctx, log, from);
    if (!chain) {
      out.events.push({ type: 'group-rejected', groupId, reason: 'the membership log was asked for by an account that is not a member (or over a session with another identity than the group records); not answered' });
      return;
    }
    const k = `chain:${hex(from.accountId)}:${hex(groupId)}`;
    const now = this.#h.now();
    if (now - (this.#answered.get(k) ?? 0) < ANSWER_INTERVAL_MS) return;
    this.#answered.set(k, now);
    this.#enqueue(from.accountId, { body: { case: 'groupUpdate', value: { groupId, entries: chain } } });
    out.followUps.push(() => this.#h.flushSoon(0));
  }

  #resignLost(groupId: Uint8Array, log: GroupLog, out: GroupInboxEffects): void {
    const me = this.#h.account().accountId;
    const now = this.#h.now();
    const signed: Uint8Array[] = [];
    const before = log.state;
    for (const own of this.#h.store.listOwnGroupChanges(groupId)) {
      if (log.includes(own.entryHash)) {
        if (now - own.createdAt > OWN_CHANGE_TTL_MS) this.#h.store.removeOwnGroupChange(groupId, own.entryHash);
        continue;
      }
      this.#h.store.removeOwnGroupChange(groupId, own.entryHash);
      const again = stillToDo(parseChange(own.change), log.state, me);
      if (!again) continue;
      const mine = log.state.members.find((m) => bytesEqual(m.accountId, me));
      if (!mine || (again.type !== 'leave' && mine.role !== 'admin')) continue;
      const entry = signGroupChange(this.#h.ctx, log.state, { accountId: me, identity: this.#h.identity() }, again, now);
      log.add(entry);
      this.#h.store.addOwnGroupChange(groupId, groupEntryHash(this.#h.ctx, entry), serialiseChange(again), now);
      out.events.push({ type: 'group-update', groupId, revision: log.state.revision, changes: [describeChange(me, again)] });
      signed.push(entry);
    }
    if (!signed.length) return;
    const after = log.state;
    const isMember = after.members.some((m) => bytesEqual(m.accountId, me));
    this.#saveLog(groupId, log, isMember ? 'active' : 'left', now);
    this.#afterMembershipChange(groupId, before, after);
    this.#learnMembers(after);
    const queued = this.#announce(groupId, log, before, signed);
    out.followUps.push(() => { void this.#sendQueued(queued); });
  }

  // ------------------------------------------------------------------ linking a device (client.md §6, §8)

  /** The groups for a ProvisionMessage: every log entry held, the status and the mute state. Sender keys are not copied. */
  forProvisioning(): { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[] {
    return this.#h.store.listGroups().map((g) => ({
      groupId: g.groupId, entries: this.#h.store.getGroupEntries(g.groupId), status: STATUS_WIRE.indexOf(g.status), mutedUntil: BigInt(g.mutedUntil),
    }));
  }

  /**
   * On a newly linked device, inside its install transaction: each group's log is
   * verified from its genesis (a log that does not verify is skipped and reported).
   * The device has no sender keys yet: it asks for each one when a message needs it,
   * and makes its own on its first send.
   */
  installProvisioned(groups: readonly { groupId: Uint8Array; entries: Uint8Array[]; status: number; mutedUntil: bigint }[], now: number): string[] {
    const problems: string[] = [];
    for (const g of groups) {
      let log: GroupLog;
      try {
        log = GroupLog.open(this.#h.ctx, g.entries);
      } catch (e) {
        problems.push(`a group's membership log did not verify and was skipped (${(e as Error).message})`);
        continue;
      }
      if (!bytesEqual(log.state.groupId, g.groupId)) continue;
      this.#h.store.setGroupEntries(g.groupId, log.entries());
      this.#h.store.putGroup({
        groupId: g.groupId, name: log.state.name, revision: log.state.revision, status: STATUS_WIRE[g.status] ?? 'active', mutedUntil: Number(g.mutedUntil), updatedAt: now,
      });
      this.#learnMembers(log.state);
    }
    return problems;
  }

  /** Mutes a group's notifications until `until` (Unix ms; 0 unmutes). Local to this device. */
  mute(groupId: Uint8Array, until: number): void {
    const row = this.#h.store.getGroup(groupId);
    if (!row) throw new ClientError('NOT_FOUND', 'no such group on this device: see `sigilo group list`');
    this.#h.store.putGroup({ ...row, mutedUntil: until });
  }
}

// ------------------------------------------------------------------ helpers

function unique(ids: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const k = hex(id);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function sameSet(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x) => has(b, x));
}

/** Own changes are kept as JSON (bytes in hex) to be signed again if they lose a fork. */
function serialiseChange(c: GroupChange): string {
  return JSON.stringify(c, (_k, v: unknown) => (v instanceof Uint8Array ? { hex: hex(v) } : v));
}
function parseChange(s: string): GroupChange {
  return JSON.parse(s, (_k, v: unknown) => (v && typeof v === 'object' && 'hex' in v && typeof (v as { hex: unknown }).hex === 'string'
    ? new Uint8Array(Buffer.from((v as { hex: string }).hex, 'hex')) : v)) as GroupChange;
}

/** What of a change that lost a fork still needs doing on the winning state (undefined: nothing). */
function stillToDo(c: GroupChange, state: GroupState, me: Uint8Array): GroupChange | undefined {
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

function describeChange(by: Uint8Array, c: GroupChange): GroupChangeEvent {
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

function describeEntry(entry: Uint8Array): GroupChangeEvent[] {
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
function chainFor(ctx: ProtocolContext, log: GroupLog, from: Sender): Uint8Array[] | undefined {
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

function isGenesisOf(entry: Uint8Array, groupId: Uint8Array): boolean {
  try {
    const e = parseGroupEntry(entry);
    return e.change.type === 'genesis' && bytesEqual(e.groupId, groupId);
  } catch {
    return false;
  }
}

/** Whether the winning chain holds a leave by this account (left, as opposed to removed, for a device that learns it from another). */
function leftBySelf(log: GroupLog, me: Uint8Array): boolean {
  return log.chain().some((e) => {
    const v = parseGroupEntry(e);
    return bytesEqual(v.authorAccountId, me) && v.change.type === 'leave';
  });
}
