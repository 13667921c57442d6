/**
 * The membership log of a group (groups.md §4): signed, hash-chained entries,
 * each a change made by an admin (or a member leaving) on a parent entry.
 * Every device holding the same set of entries computes the same head and
 * member list, whatever order the entries arrived in.
 *
 *   entry     = GroupLogEntry { body, signature }            (canonical protobuf)
 *   signature = Ed25519(author IKsig, "Sigilo-GroupLogEntry-v1" || body)
 *   hash      = SHA-256(entry)
 *
 * Forks (changes made concurrently on the same parent) are all kept; the head
 * is chosen by the fork-choice rule of groups.md §4.5: at every fork the
 * branch with the most senior admin among its authors wins, then the longer
 * branch, then the smaller entry hash.
 */
import {
  GroupChangeSchema, GroupLogEntry_BodySchema, GroupLogEntrySchema, type GroupChange as GroupChangeProto,
} from '../gen/sigilo/protocol/v1/group_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { bytesEqual, toHex, utf8 } from '../bytes.js';
import {
  DecodeError, ForgedGroupEntryError, GroupPermissionError, InvalidArgumentError, InvalidGroupEntryError, OutOfOrderGroupEntryError,
  UnsupportedVersionError,
} from '../errors.js';
import { assertIdentityKey, IDENTITY_KEY_LENGTH, identitySigningKey, type IdentityKeyPair, type ProtocolContext } from '../keys.js';
import { decodeProto, encodeProto } from '../proto.js';

export const GROUP_LOG_VERSION = 1;
export const GROUP_ID_LENGTH = 32;
export const ACCOUNT_ID_LENGTH = 16;
/** At most this many members at any revision. */
export const MAX_GROUP_MEMBERS = 2000;
/** A group name is at most this many UTF-8 bytes (it may be empty). */
export const MAX_GROUP_NAME_BYTES = 256;

const SIGNATURE_LABEL = utf8('Sigilo-GroupLogEntry-v1');
const GROUP_ID_LABEL = utf8('Sigilo-GroupId-v1');
/** Bytes of the random nonce in a genesis entry. */
export const GROUP_NONCE_LENGTH = 32;
const ZERO_HASH = new Uint8Array(32);
/** Seniority rank of an admin: revision it became admin × stride + position in that entry (genesis list). */
const RANK_STRIDE = 4096;

export type GroupRole = 'admin' | 'member';

export interface GroupMember {
  /** 16-byte account id. */
  readonly accountId: Uint8Array;
  /** 64-byte identity public key of the account. */
  readonly identityKey: Uint8Array;
  readonly role: GroupRole;
}

export interface GroupState {
  /** 32 bytes. */
  readonly groupId: Uint8Array;
  readonly name: string;
  readonly revision: number;
  /** SHA-256 of the head entry. */
  readonly head: Uint8Array;
  /** In the order they joined (the genesis list, then each add). */
  readonly members: readonly GroupMember[];
}

export interface NewGroupMember {
  readonly accountId: Uint8Array;
  readonly identityKey: Uint8Array;
}

export type GroupChange =
  | { type: 'add'; members: NewGroupMember[] }
  | { type: 'remove'; accountIds: Uint8Array[] }
  | { type: 'promote'; accountId: Uint8Array }
  | { type: 'demote'; accountId: Uint8Array }
  | { type: 'leave' }
  | { type: 'rename'; name: string };

/** The genesis entry's content, as parseGroupEntry reports it. */
export interface GroupGenesis {
  type: 'genesis';
  name: string;
  members: GroupMember[];
  /** 32 random bytes (groups.md §4.2). */
  nonce: Uint8Array;
}

export interface GroupAuthor {
  readonly accountId: Uint8Array;
  readonly identity: IdentityKeyPair;
}

/** What an entry says, without any verification (parseGroupEntry). */
export interface GroupEntryInfo {
  readonly version: number;
  readonly groupId: Uint8Array;
  readonly revision: number;
  /** Hash of the parent entry; 32 zero bytes for the genesis. */
  readonly parent: Uint8Array;
  readonly authorAccountId: Uint8Array;
  readonly authorIdentityKey: Uint8Array;
  /** Author's clock, Unix ms: informational only. */
  readonly timestamp: number;
  readonly change: GroupChange | GroupGenesis;
}

// ---------------------------------------------------------------- parsing

interface ParsedEntry extends GroupEntryInfo {
  readonly bytes: Uint8Array;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
  /** Genesis only: the body encoded with the group id left empty (what the group id is derived from). */
  readonly unboundBody: Uint8Array | undefined;
}

function checkAccountId(id: Uint8Array, what: string): void {
  if (id.length !== ACCOUNT_ID_LENGTH) throw new DecodeError(`group log entry: ${what} must be ${ACCOUNT_ID_LENGTH} bytes`);
}

/** C0 and C1 controls, DEL, and the bidirectional embeddings, overrides and isolates (groups.md §4.3). */
// eslint-disable-next-line no-control-regex
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

function checkName(name: string, make: (m: string) => Error): void {
  if (utf8(name).length > MAX_GROUP_NAME_BYTES) throw make(`group name must be at most ${MAX_GROUP_NAME_BYTES} UTF-8 bytes`);
  if (NAME_FORBIDDEN.test(name)) throw make('group name must not contain control characters or bidirectional overrides');
}

function memberFromProto(m: { accountId: Uint8Array; identityKey: Uint8Array; admin: boolean }): GroupMember {
  checkAccountId(m.accountId, 'member account id');
  if (m.identityKey.length !== IDENTITY_KEY_LENGTH) throw new DecodeError('group log entry: member identity key must be 64 bytes');
  assertIdentityKey(m.identityKey);
  return { accountId: m.accountId, identityKey: m.identityKey, role: m.admin ? 'admin' : 'member' };
}

function changeFromProto(c: GroupChangeProto | undefined): GroupChange | GroupGenesis {
  const v = c?.change;
  switch (v?.case) {
    case 'genesis':
      if (v.value.nonce.length !== GROUP_NONCE_LENGTH) throw new DecodeError(`group log entry: a genesis nonce must be ${GROUP_NONCE_LENGTH} bytes`);
      return { type: 'genesis', name: v.value.name, members: v.value.members.map(memberFromProto), nonce: v.value.nonce };
    case 'add':
      return {
        type: 'add',
        members: v.value.members.map((m) => {
          if (m.admin) throw new InvalidGroupEntryError('added members join as members: promote them in a later entry');
          const { accountId, identityKey } = memberFromProto(m);
          return { accountId, identityKey };
        }),
      };
    case 'remove':
      v.value.accountIds.forEach((id) => checkAccountId(id, 'removed account id'));
      return { type: 'remove', accountIds: v.value.accountIds };
    case 'promote':
      checkAccountId(v.value.accountId, 'promoted account id');
      return { type: 'promote', accountId: v.value.accountId };
    case 'demote':
      checkAccountId(v.value.accountId, 'demoted account id');
      return { type: 'demote', accountId: v.value.accountId };
    case 'leave':
      return { type: 'leave' };
    case 'rename':
      return { type: 'rename', name: v.value.name };
    default:
      throw new DecodeError('group log entry: no change');
  }
}

function parseEntry(bytes: Uint8Array): ParsedEntry {
  const outer = decodeProto(GroupLogEntrySchema, bytes, 'group log entry');
  // One entry has one encoding: its hash names it, so a re-encoded copy must not pass as another entry.
  if (!bytesEqual(encodeProto(GroupLogEntrySchema, { body: outer.body, signature: outer.signature }), bytes)) {
    throw new DecodeError('group log entry: not in canonical encoding');
  }
  if (outer.signature.length !== 64) throw new DecodeError('group log entry: signature must be 64 bytes');
  const body = decodeProto(GroupLogEntry_BodySchema, outer.body, 'group log entry body');
  if (body.version !== GROUP_LOG_VERSION) throw new UnsupportedVersionError(`group log entry version ${body.version} is not supported`);
  if (!bytesEqual(encodeProto(GroupLogEntry_BodySchema, body), outer.body)) throw new DecodeError('group log entry body: not in canonical encoding');
  if (body.groupId.length !== GROUP_ID_LENGTH) throw new DecodeError('group log entry: group id must be 32 bytes');
  if (body.parent.length !== 32) throw new DecodeError('group log entry: parent hash must be 32 bytes');
  checkAccountId(body.authorAccountId, 'author account id');
  if (body.authorIdentityKey.length !== IDENTITY_KEY_LENGTH) throw new DecodeError('group log entry: author identity key must be 64 bytes');
  assertIdentityKey(body.authorIdentityKey);
  if (body.timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('group log entry: timestamp out of range');
  const change = changeFromProto(body.change);
  return {
    bytes: bytes.slice(),
    body: outer.body,
    signature: outer.signature,
    version: body.version,
    groupId: body.groupId,
    revision: body.revision,
    parent: body.parent,
    authorAccountId: body.authorAccountId,
    authorIdentityKey: body.authorIdentityKey,
    timestamp: Number(body.timestamp),
    change,
    unboundBody: change.type === 'genesis' ? encodeProto(GroupLogEntry_BodySchema, { ...body, groupId: new Uint8Array(0) }) : undefined,
  };
}

function deriveGroupId(ctx: ProtocolContext, unboundBody: Uint8Array): Uint8Array {
  const input = new Uint8Array(GROUP_ID_LABEL.length + unboundBody.length);
  input.set(GROUP_ID_LABEL, 0);
  input.set(unboundBody, GROUP_ID_LABEL.length);
  return ctx.crypto.sha256(input);
}

/** Throws ForgedGroupEntryError unless the genesis carries the group id derived from it (groups.md §4.2). */
function checkGroupId(ctx: ProtocolContext, e: ParsedEntry): void {
  if (!e.unboundBody || !bytesEqual(deriveGroupId(ctx, e.unboundBody), e.groupId)) {
    throw new ForgedGroupEntryError('the genesis does not carry the group id derived from it (another group\'s id was reused): it was dropped');
  }
}

/**
 * The group id a genesis entry derives (groups.md §4.2): SHA-256("Sigilo-GroupId-v1" || its body encoded with the
 * group id empty). A genesis is valid only if it carries this id. Throws DecodeError and the like on malformed
 * bytes, InvalidGroupEntryError if the entry is not a genesis.
 */
export function groupIdOfGenesis(ctx: ProtocolContext, entry: Uint8Array): Uint8Array {
  const e = parseEntry(entry);
  if (!e.unboundBody) throw new InvalidGroupEntryError('only a genesis entry derives a group id');
  return deriveGroupId(ctx, e.unboundBody);
}

/**
 * What an entry says, without verifying anything (to show an entry, or to
 * read the group id of a GroupUpdate before opening its log). Throws
 * DecodeError, UnsupportedVersionError or InvalidKeyError on malformed bytes.
 */
export function parseGroupEntry(entry: Uint8Array): GroupEntryInfo {
  const p = parseEntry(entry);
  return {
    version: p.version, groupId: p.groupId, revision: p.revision, parent: p.parent, authorAccountId: p.authorAccountId,
    authorIdentityKey: p.authorIdentityKey, timestamp: p.timestamp, change: p.change,
  };
}

/** SHA-256 of the entry's bytes: how entries name their parent. */
export function groupEntryHash(ctx: ProtocolContext, entry: Uint8Array): Uint8Array {
  if (!(entry instanceof Uint8Array)) throw new InvalidArgumentError('entry must be a Uint8Array');
  return ctx.crypto.sha256(entry);
}

// ---------------------------------------------------------------- state and changes

interface Member extends GroupMember {
  /** Hex of the account id. */
  readonly key: string;
  /** Admins: seniority, lower is more senior. Members: Infinity. */
  readonly rank: number;
}

interface State {
  readonly groupId: Uint8Array;
  readonly name: string;
  readonly revision: number;
  readonly head: Uint8Array;
  readonly members: readonly Member[];
  readonly byKey: ReadonlyMap<string, Member>;
}

function makeState(groupId: Uint8Array, name: string, revision: number, head: Uint8Array, members: Member[]): State {
  return { groupId, name, revision, head, members, byKey: new Map(members.map((m) => [m.key, m])) };
}

function withoutMembers(members: readonly Member[], gone: ReadonlySet<string>): Member[] {
  return members.filter((m) => !gone.has(m.key));
}

/**
 * The members and name after `change` by `author` (already known to be a
 * member with the recorded identity) at `revision`. Throws
 * GroupPermissionError or InvalidGroupEntryError; changes nothing.
 */
function applyChange(state: State, author: Member, change: GroupChange | GroupGenesis, revision: number): { name: string; members: Member[] } {
  const admin = author.role === 'admin';
  const need = (what: string) => {
    if (!admin) throw new GroupPermissionError(`only an admin can ${what}`);
  };
  switch (change.type) {
    case 'genesis':
      throw new InvalidGroupEntryError('a group has one genesis entry');
    case 'leave': {
      const members = withoutMembers(state.members, new Set([author.key]));
      if (members.length > 0 && !members.some((m) => m.role === 'admin')) {
        throw new InvalidGroupEntryError('the last admin cannot leave while members remain: promote another member first');
      }
      return { name: state.name, members };
    }
    case 'add': {
      need('add members');
      if (change.members.length === 0) throw new InvalidGroupEntryError('an add entry names at least one member');
      const seen = new Set<string>();
      const added: Member[] = [];
      for (const m of change.members) {
        const key = toHex(m.accountId);
        if (state.byKey.has(key)) throw new InvalidGroupEntryError('an added account is already a member (a member\'s identity key cannot be replaced: remove it, then add it again)');
        if (seen.has(key)) throw new InvalidGroupEntryError('an add entry names an account twice');
        seen.add(key);
        added.push({ accountId: m.accountId, identityKey: m.identityKey, role: 'member', key, rank: Infinity });
      }
      if (state.members.length + added.length > MAX_GROUP_MEMBERS) throw new InvalidGroupEntryError(`a group has at most ${MAX_GROUP_MEMBERS} members`);
      return { name: state.name, members: [...state.members, ...added] };
    }
    case 'remove': {
      need('remove members');
      if (change.accountIds.length === 0) throw new InvalidGroupEntryError('a remove entry names at least one member');
      const gone = new Set<string>();
      for (const id of change.accountIds) {
        const key = toHex(id);
        if (!state.byKey.has(key)) throw new InvalidGroupEntryError('a removed account is not a member');
        if (key === author.key) throw new InvalidGroupEntryError('an admin removes itself with a leave entry');
        if (gone.has(key)) throw new InvalidGroupEntryError('a remove entry names an account twice');
        gone.add(key);
      }
      // The author is an admin and stays, so an admin remains.
      return { name: state.name, members: withoutMembers(state.members, gone) };
    }
    case 'promote': {
      need('promote members');
      const key = toHex(change.accountId);
      const target = state.byKey.get(key);
      if (!target) throw new InvalidGroupEntryError('the promoted account is not a member');
      if (target.role === 'admin') throw new InvalidGroupEntryError('the promoted account is already an admin');
      return { name: state.name, members: state.members.map((m) => (m.key === key ? { ...m, role: 'admin', rank: revision * RANK_STRIDE } : m)) };
    }
    case 'demote': {
      need('demote admins');
      const key = toHex(change.accountId);
      const target = state.byKey.get(key);
      if (!target) throw new InvalidGroupEntryError('the demoted account is not a member');
      if (target.role !== 'admin') throw new InvalidGroupEntryError('the demoted account is not an admin');
      const members = state.members.map((m): Member => (m.key === key ? { ...m, role: 'member', rank: Infinity } : m));
      if (!members.some((m) => m.role === 'admin')) throw new InvalidGroupEntryError('the last admin cannot be demoted: promote another member first');
      return { name: state.name, members };
    }
    case 'rename':
      need('rename the group');
      checkName(change.name, (m) => new InvalidGroupEntryError(m));
      return { name: change.name, members: [...state.members] };
    default:
      throw new DecodeError('group log entry: unknown change');
  }
}

function genesisState(ctx: ProtocolContext, e: ParsedEntry, hash: Uint8Array): State {
  if (e.change.type !== 'genesis') throw new InvalidGroupEntryError('the first entry of a group must be its genesis');
  if (e.revision !== 0 || !bytesEqual(e.parent, ZERO_HASH)) throw new InvalidGroupEntryError('a genesis entry has revision 0 and a zero parent');
  verifySignature(ctx, e);
  checkGroupId(ctx, e);
  const g = e.change;
  checkName(g.name, (m) => new InvalidGroupEntryError(m));
  if (g.members.length === 0 || g.members.length > MAX_GROUP_MEMBERS) throw new InvalidGroupEntryError(`a group has 1 to ${MAX_GROUP_MEMBERS} members`);
  const members: Member[] = [];
  const seen = new Set<string>();
  g.members.forEach((m, i) => {
    const key = toHex(m.accountId);
    if (seen.has(key)) throw new InvalidGroupEntryError('the genesis names an account twice');
    seen.add(key);
    members.push({ ...m, key, rank: m.role === 'admin' ? i : Infinity });
  });
  const author = members.find((m) => bytesEqual(m.accountId, e.authorAccountId));
  if (!author || author.role !== 'admin') throw new GroupPermissionError('the author of a genesis must be one of its admins');
  if (!bytesEqual(author.identityKey, e.authorIdentityKey)) throw new ForgedGroupEntryError('the genesis lists its author with another identity key');
  return makeState(e.groupId, g.name, 0, hash, members);
}

function verifySignature(ctx: ProtocolContext, e: ParsedEntry): void {
  if (!ctx.crypto.ed25519Verify(identitySigningKey(e.authorIdentityKey), groupEntrySignedBytes(e.body), e.signature)) throw new ForgedGroupEntryError();
}

/** The state after `e` on `parent` (verified: author, identity, permission, change); throws typed errors. */
function childState(parent: State, e: ParsedEntry, hash: Uint8Array): State {
  if (e.change.type === 'genesis') throw new InvalidGroupEntryError('a group has one genesis entry');
  if (e.revision !== parent.revision + 1) throw new InvalidGroupEntryError('the entry\'s revision is not its parent\'s plus one');
  const author = parent.byKey.get(toHex(e.authorAccountId));
  if (!author) throw new GroupPermissionError('the author is not a member of the group at the entry\'s parent');
  if (!bytesEqual(author.identityKey, e.authorIdentityKey)) {
    throw new ForgedGroupEntryError('the entry is signed by an identity the group does not hold for its author: it was dropped');
  }
  const next = applyChange(parent, author, e.change, e.revision);
  return makeState(parent.groupId, next.name, e.revision, hash, next.members);
}

function publicState(s: State): GroupState {
  return {
    groupId: s.groupId.slice(),
    name: s.name,
    revision: s.revision,
    head: s.head.slice(),
    members: s.members.map((m) => ({ accountId: m.accountId.slice(), identityKey: m.identityKey.slice(), role: m.role })),
  };
}

// ---------------------------------------------------------------- signing

function encodeEntry(
  ctx: ProtocolContext, author: GroupAuthor, fields: { groupId: Uint8Array; revision: number; parent: Uint8Array; timestamp: number },
  change: MessageInitShape<typeof GroupChangeSchema>,
): Uint8Array {
  if (!Number.isSafeInteger(fields.timestamp) || fields.timestamp < 0) throw new InvalidArgumentError('timestamp must be Unix milliseconds');
  const body = encodeProto(GroupLogEntry_BodySchema, {
    version: GROUP_LOG_VERSION,
    groupId: fields.groupId,
    revision: fields.revision,
    parent: fields.parent,
    authorAccountId: author.accountId,
    authorIdentityKey: author.identity.publicKey,
    timestamp: BigInt(fields.timestamp),
    change,
  } satisfies MessageInitShape<typeof GroupLogEntry_BodySchema>);
  const signature = author.identity.signing.sign(groupEntrySignedBytes(body));
  return encodeProto(GroupLogEntrySchema, { body, signature });
}

function argAccountId(id: Uint8Array, what: string): void {
  if (!(id instanceof Uint8Array) || id.length !== ACCOUNT_ID_LENGTH) throw new InvalidArgumentError(`${what} must be ${ACCOUNT_ID_LENGTH} bytes`);
}

function argMember(m: NewGroupMember): void {
  argAccountId(m.accountId, 'member account id');
  if (!(m.identityKey instanceof Uint8Array) || m.identityKey.length !== IDENTITY_KEY_LENGTH) throw new InvalidArgumentError('member identity key must be 64 bytes');
  assertIdentityKey(m.identityKey);
}

function argAuthor(author: GroupAuthor): void {
  argAccountId(author.accountId, 'author account id');
}

/**
 * Creates a group: its genesis entry (the author first, as its admin, then
 * `members` as members, in order) and the log holding it. Draws the 32-byte
 * group id. `members` may include the author (with the author's identity key).
 */
export function createGroup(ctx: ProtocolContext, author: GroupAuthor, name: string, members: readonly NewGroupMember[], now: number): { entry: Uint8Array; log: GroupLog } {
  argAuthor(author);
  if (typeof name !== 'string') throw new InvalidArgumentError('group name must be a string');
  checkName(name, (m) => new InvalidArgumentError(m));
  const list = [{ accountId: author.accountId, identityKey: author.identity.publicKey, admin: true }];
  const seen = new Set([toHex(author.accountId)]);
  for (const m of members) {
    argMember(m);
    const key = toHex(m.accountId);
    if (seen.has(key)) {
      if (bytesEqual(m.accountId, author.accountId) && bytesEqual(m.identityKey, author.identity.publicKey)) continue;
      throw new InvalidArgumentError(bytesEqual(m.accountId, author.accountId) ? 'the author is listed with another identity key' : 'an account is listed twice');
    }
    seen.add(key);
    list.push({ accountId: m.accountId, identityKey: m.identityKey, admin: false });
  }
  if (list.length > MAX_GROUP_MEMBERS) throw new InvalidArgumentError(`a group has at most ${MAX_GROUP_MEMBERS} members`);
  const nonce = ctx.random(GROUP_NONCE_LENGTH);
  const change: MessageInitShape<typeof GroupChangeSchema> = { change: { case: 'genesis', value: { name, members: list, nonce } } };
  const fields = { revision: 0, parent: ZERO_HASH, timestamp: now };
  // The id is derived from the genesis itself (groups.md §4.2): the body with the id empty, hashed, then signed with it.
  const unbound = encodeProto(GroupLogEntry_BodySchema, {
    version: GROUP_LOG_VERSION, revision: 0, parent: ZERO_HASH, authorAccountId: author.accountId, authorIdentityKey: author.identity.publicKey,
    timestamp: BigInt(now), change,
  } satisfies MessageInitShape<typeof GroupLogEntry_BodySchema>);
  const entry = encodeEntry(ctx, author, { groupId: deriveGroupId(ctx, unbound), ...fields }, change);
  return { entry, log: GroupLog.open(ctx, [entry]) };
}

function changeToProto(change: GroupChange): MessageInitShape<typeof GroupChangeSchema> {
  switch (change?.type) {
    case 'add':
      if (!Array.isArray(change.members)) throw new InvalidArgumentError('add: members must be a list');
      change.members.forEach(argMember);
      return { change: { case: 'add', value: { members: change.members.map((m) => ({ accountId: m.accountId, identityKey: m.identityKey, admin: false })) } } };
    case 'remove':
      if (!Array.isArray(change.accountIds)) throw new InvalidArgumentError('remove: accountIds must be a list');
      change.accountIds.forEach((id) => argAccountId(id, 'removed account id'));
      return { change: { case: 'remove', value: { accountIds: change.accountIds } } };
    case 'promote':
      argAccountId(change.accountId, 'promoted account id');
      return { change: { case: 'promote', value: { accountId: change.accountId } } };
    case 'demote':
      argAccountId(change.accountId, 'demoted account id');
      return { change: { case: 'demote', value: { accountId: change.accountId } } };
    case 'leave':
      return { change: { case: 'leave', value: {} } };
    case 'rename':
      if (typeof change.name !== 'string') throw new InvalidArgumentError('rename: name must be a string');
      checkName(change.name, (m) => new InvalidArgumentError(m));
      return { change: { case: 'rename', value: { name: change.name } } };
    default:
      throw new InvalidArgumentError('unknown group change type');
  }
}

function stateFromPublic(s: GroupState): State {
  if (!(s.groupId instanceof Uint8Array) || s.groupId.length !== GROUP_ID_LENGTH) throw new InvalidArgumentError('state.groupId must be 32 bytes');
  if (!(s.head instanceof Uint8Array) || s.head.length !== 32) throw new InvalidArgumentError('state.head must be 32 bytes');
  if (!Number.isSafeInteger(s.revision) || s.revision < 0 || s.revision >= 0xffffffff) throw new InvalidArgumentError('state.revision out of range');
  const members = s.members.map((m): Member => ({ ...m, key: toHex(m.accountId), rank: m.role === 'admin' ? 0 : Infinity }));
  return makeState(s.groupId, s.name, s.revision, s.head, members);
}

/**
 * Signs `change` by `author` on `state` (the log's current state: the entry's
 * parent is `state.head`). Throws GroupPermissionError when the author may
 * not make the change, InvalidGroupEntryError when the change does not fit
 * the state, InvalidArgumentError on malformed arguments.
 */
export function signGroupChange(ctx: ProtocolContext, state: GroupState, author: GroupAuthor, change: GroupChange, now: number): Uint8Array {
  argAuthor(author);
  const proto = changeToProto(change);
  const s = stateFromPublic(state);
  const member = s.byKey.get(toHex(author.accountId));
  if (!member) throw new GroupPermissionError('the author is not a member of the group');
  if (!bytesEqual(member.identityKey, author.identity.publicKey)) throw new InvalidArgumentError('the group holds another identity key for the author');
  applyChange(s, member, change, s.revision + 1);
  return encodeEntry(ctx, author, { groupId: s.groupId, revision: s.revision + 1, parent: s.head, timestamp: now }, proto);
}

// ---------------------------------------------------------------- the log

interface Node {
  readonly entry: ParsedEntry;
  readonly hash: Uint8Array;
  readonly hex: string;
  /** Hex of the author's account id. */
  readonly author: string;
  readonly parent: Node | undefined;
  readonly children: Node[];
  /** The child on this node's best chain. */
  bestNext: Node | undefined;
  /** Entries on the best chain from this node down to its tip, this node included. */
  bestLength: number;
}

/** States kept for every CHECKPOINT-th revision, the head, and a few recently used; others are replayed. */
const CHECKPOINT = 32;
const RECENT_STATES = 16;

export class GroupLog {
  readonly #ctx: ProtocolContext;
  readonly #nodes = new Map<string, Node>();
  readonly #order: Node[] = [];
  readonly #genesis: Node;
  readonly #checkpoints = new Map<Node, State>();
  readonly #recent = new Map<Node, State>();
  #head: Node;
  #headState: State;
  #winning: Set<string> | undefined;

  private constructor(ctx: ProtocolContext, genesis: ParsedEntry) {
    this.#ctx = ctx;
    const hash = ctx.crypto.sha256(genesis.bytes);
    const state = genesisState(ctx, genesis, hash);
    const node: Node = { entry: genesis, hash, hex: toHex(hash), author: toHex(genesis.authorAccountId), parent: undefined, children: [], bestNext: undefined, bestLength: 1 };
    this.#nodes.set(node.hex, node);
    this.#order.push(node);
    this.#genesis = node;
    this.#checkpoints.set(node, state);
    this.#head = node;
    this.#headState = state;
  }

  /**
   * Opens a log from stored entries (as entries() returned them, or a chain a
   * member sent): verifies every entry from the genesis. Entries may come in
   * any order; duplicates are ignored. Throws a typed error for the first
   * entry that is invalid or whose parent is missing.
   */
  static open(ctx: ProtocolContext, entries: readonly Uint8Array[]): GroupLog {
    if (!Array.isArray(entries) || entries.length === 0) throw new InvalidArgumentError('a group log needs at least its genesis entry');
    const parsed = entries.map((e) => parseEntry(e));
    const genesisAt = parsed.findIndex((e) => e.change.type === 'genesis');
    if (genesisAt < 0) throw new InvalidGroupEntryError('no genesis entry among the entries: a log starts at its genesis');
    const log = new GroupLog(ctx, parsed[genesisAt]!);
    let pending = parsed.filter((_, i) => i !== genesisAt);
    while (pending.length > 0) {
      const waiting: ParsedEntry[] = [];
      let lastMissing: OutOfOrderGroupEntryError | undefined;
      for (const e of pending) {
        try {
          log.#insert(e, false);
        } catch (err) {
          if (!(err instanceof OutOfOrderGroupEntryError)) throw err;
          lastMissing = err;
          waiting.push(e);
        }
      }
      if (waiting.length === pending.length) throw lastMissing!;
      pending = waiting;
    }
    log.#chooseAll();
    return log;
  }

  /**
   * Verifies and adds one entry. 'duplicate' if it is already held. Throws
   * OutOfOrderGroupEntryError when its parent is not held (fetch the missing
   * entries, add them parents first, then this one), ForgedGroupEntryError,
   * GroupPermissionError, InvalidGroupEntryError, DecodeError. A failed add
   * changes nothing.
   */
  add(entry: Uint8Array): 'applied' | 'duplicate' {
    if (!(entry instanceof Uint8Array)) throw new InvalidArgumentError('entry must be a Uint8Array');
    if (this.#nodes.has(toHex(this.#ctx.crypto.sha256(entry)))) return 'duplicate';
    const node = this.#insert(parseEntry(entry), true);
    return node ? 'applied' : 'duplicate';
  }

  /** The state at the head chosen by the fork-choice rule. */
  get state(): GroupState {
    return publicState(this.#headState);
  }

  /** Every valid entry held, parents before children (persist this; reopen with open()). */
  entries(): Uint8Array[] {
    return this.#order.map((n) => n.entry.bytes.slice());
  }

  /** The winning chain from the genesis to the head: what a new member is sent. */
  chain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let n: Node | undefined = this.#head; n; n = n.parent) out.push(n.entry.bytes.slice());
    return out.reverse();
  }

  /** Whether the entry with this hash is on the winning chain. */
  includes(hash: Uint8Array): boolean {
    if (!this.#winning) {
      this.#winning = new Set();
      for (let n: Node | undefined = this.#head; n; n = n.parent) this.#winning.add(n.hex);
    }
    return hash instanceof Uint8Array && this.#winning.has(toHex(hash));
  }

  /** The state right after the entry with this hash (held, on any branch), or undefined. */
  stateAt(hash: Uint8Array): GroupState | undefined {
    const node = hash instanceof Uint8Array ? this.#nodes.get(toHex(hash)) : undefined;
    return node ? publicState(this.#stateOf(node)) : undefined;
  }

  /** Whether an entry with this hash is held (on any branch). */
  has(hash: Uint8Array): boolean {
    return hash instanceof Uint8Array && this.#nodes.has(toHex(hash));
  }

  /** Verifies `e` against its parent and links it in; with `choose`, updates the head. */
  #insert(e: ParsedEntry, choose: boolean): Node | undefined {
    const hash = this.#ctx.crypto.sha256(e.bytes);
    const hex = toHex(hash);
    if (this.#nodes.has(hex)) return undefined;
    verifySignature(this.#ctx, e);
    const genesis = this.#genesis.entry;
    if (!bytesEqual(e.groupId, genesis.groupId)) throw new InvalidGroupEntryError('the entry belongs to another group');
    if (e.change.type === 'genesis') {
      // Another genesis carrying this group's id cannot derive it: the id binds the one genesis (groups.md §4.2).
      if (e.revision === 0 && bytesEqual(e.parent, ZERO_HASH)) checkGroupId(this.#ctx, e);
      throw new InvalidGroupEntryError('a group has one genesis entry');
    }
    const parent = this.#nodes.get(toHex(e.parent));
    if (!parent) throw new OutOfOrderGroupEntryError(e.parent.slice());
    const state = childState(this.#stateOf(parent), e, hash);
    const node: Node = { entry: e, hash, hex, author: toHex(e.authorAccountId), parent, children: [], bestNext: undefined, bestLength: 1 };
    parent.children.push(node);
    this.#nodes.set(hex, node);
    this.#order.push(node);
    this.#remember(node, state);
    if (choose) {
      for (let n: Node | undefined = parent; n; n = n.parent) this.#choose(n);
      this.#updateHead();
    }
    return node;
  }

  /** Recomputes every node's choice, children before parents (after open()). */
  #chooseAll(): void {
    for (let i = this.#order.length - 1; i >= 0; i--) this.#choose(this.#order[i]!);
    this.#updateHead();
  }

  /**
   * Fork choice at `node` (groups.md §4.5): among its children, the branch
   * whose best chain has the most senior author (lowest rank in the state at
   * `node`; authors who are not admins there rank last) wins; then the longer
   * branch; then the child with the smaller hash.
   */
  #choose(node: Node): void {
    const children = node.children;
    if (children.length === 0) {
      node.bestNext = undefined;
      node.bestLength = 1;
      return;
    }
    let best = children[0]!;
    if (children.length > 1) {
      const state = this.#stateOf(node);
      const seniority = (c: Node) => {
        let rank = Infinity;
        for (let n: Node | undefined = c; n; n = n.bestNext) {
          const m = state.byKey.get(n.author);
          if (m && m.rank < rank) rank = m.rank;
        }
        return rank;
      };
      let bestRank = seniority(best);
      for (const c of children.slice(1)) {
        const rank = seniority(c);
        if (rank < bestRank || (rank === bestRank && (c.bestLength > best.bestLength || (c.bestLength === best.bestLength && c.hex < best.hex)))) {
          best = c;
          bestRank = rank;
        }
      }
    }
    node.bestNext = best;
    node.bestLength = best.bestLength + 1;
  }

  #updateHead(): void {
    let n = this.#genesis;
    while (n.bestNext) n = n.bestNext;
    if (n !== this.#head) {
      const state = this.#stateOf(n); // before #head moves: #stateOf answers the head from #headState
      this.#head = n;
      this.#headState = state;
      this.#winning = undefined;
    }
  }

  #remember(node: Node, state: State): void {
    if (node.entry.revision % CHECKPOINT === 0) {
      this.#checkpoints.set(node, state);
      return;
    }
    this.#recent.delete(node);
    this.#recent.set(node, state);
    if (this.#recent.size > RECENT_STATES) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** The state after `node`: from the cache, or replayed from the nearest remembered ancestor. */
  #stateOf(node: Node): State {
    if (node === this.#head) return this.#headState;
    const path: Node[] = [];
    let n: Node | undefined = node;
    let state: State | undefined;
    while (n) {
      state = this.#checkpoints.get(n) ?? this.#recent.get(n);
      if (state) break;
      path.push(n);
      n = n.parent;
    }
    if (!state) throw new InvalidGroupEntryError('group log: no state for an entry (corrupt log)');
    for (let i = path.length - 1; i >= 0; i--) {
      state = childState(state, path[i]!.entry, path[i]!.hash);
      this.#remember(path[i]!, state);
    }
    return state;
  }
}

/** Bytes signed for an entry body: "Sigilo-GroupLogEntry-v1" || body (for other implementations and vectors). */
export function groupEntrySignedBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_LABEL.length + body.length);
  out.set(SIGNATURE_LABEL, 0);
  out.set(body, SIGNATURE_LABEL.length);
  return out;
}
