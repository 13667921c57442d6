/**
 * Usernames and the member directory (spec/server.md §3.1). A username reaches
 * the server only as SHA-256("sigilo-username:" || normalised name), except
 * when its holder publishes it to the directory, which the administrator
 * enables with `directory.mode = members`. Lookups and searches are
 * rate-limited per account; nothing here is logged with a name or an id.
 */
import { USERNAME_HASH_LENGTH, normaliseUsername, usernameHash } from '@sigilo/protocol';
import type {
  DirectoryLeave, DirectoryPublish, DirectorySearch, LookupUsername, SetUsername,
} from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { ServerConfig } from '../config.js';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { RateLimitedError, ServerError, invalidArgument } from '../errors.js';
import { toHex } from '../ids.js';
import { KeyedBuckets } from '../rate-limit.js';

/** Longest display name a directory entry may carry, in characters. */
export const MAX_DIRECTORY_NAME = 64;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;
const MAX_QUERY = 64;

/** One bucket per requesting account: `directory.lookupsPerHour`, a burst of a tenth of it (at least 5). */
export function lookupBuckets(config: ServerConfig): KeyedBuckets {
  const perHour = config.directory.lookupsPerHour;
  return new KeyedBuckets(perHour / 3600, Math.max(5, Math.ceil(perHour / 10)));
}

/**
 * The account holding a username as typed (`ana.lopez` or `@ana.lopez`), for
 * administration commands; undefined when the text is not a username or nobody holds it.
 */
export async function accountByUsername(ctx: Pick<ServerContext, 'storage' | 'crypto'>, text: string): Promise<Uint8Array | undefined> {
  const u = normaliseUsername(text);
  return u === undefined ? undefined : ctx.storage.accountByUsernameHash(usernameHash(ctx.crypto, u));
}

function needHash(h: Uint8Array): void {
  if (h.length !== USERNAME_HASH_LENGTH) throw invalidArgument(`username_hash must be ${USERNAME_HASH_LENGTH} bytes (SHA-256 of "sigilo-username:" and the normalised username)`);
}

function takeLookup(ctx: ServerContext, s: Session): void {
  const wait = ctx.lookupBuckets.take(s.accountHex, ctx.now());
  if (wait > 0) {
    ctx.metrics.errors.inc({ code: 'RATE_LIMITED' });
    throw new RateLimitedError(wait, 'username lookups and directory searches', 'lookups');
  }
}

function requireDirectory(ctx: ServerContext): void {
  if (ctx.config.directory.mode !== 'members') {
    throw new ServerError('DIRECTORY_OFF', 'this server keeps no member directory (the administrator can enable it with directory.mode = members); find people by their exact username instead');
  }
}

const ok = (): Reply => ({ body: { case: 'ok', value: {} } });

export async function setUsername(ctx: ServerContext, s: Session, m: SetUsername): Promise<Reply> {
  needHash(m.usernameHash);
  // A refused claim tells that a username exists: claims cost a lookup token too.
  takeLookup(ctx, s);
  const r = await ctx.storage.setUsername(s.accountId, m.usernameHash);
  if (r.status === 'taken') throw new ServerError('USERNAME_TAKEN', 'this username belongs to someone else; choose another');
  if (r.status === 'no-account') throw new ServerError('NOT_FOUND', 'this account no longer exists');
  return ok();
}

export async function deleteUsername(ctx: ServerContext, s: Session): Promise<Reply> {
  await ctx.storage.deleteUsername(s.accountId);
  return ok();
}

export async function lookupUsername(ctx: ServerContext, s: Session, m: LookupUsername, sourceKey = '?'): Promise<Reply> {
  needHash(m.usernameHash);
  ctx.registrationGuard.guess(sourceKey, ctx.now());
  takeLookup(ctx, s);
  const accountId = await ctx.storage.accountByUsernameHash(m.usernameHash);
  if (!accountId) {
    // A miss draws on the address's shared budget of refused requests (registration-guard.ts).
    ctx.registrationGuard.refused(sourceKey, ctx.now());
    throw new ServerError('NOT_FOUND', 'nobody on this server has that username; check the spelling');
  }
  return { body: { case: 'usernameAccount', value: { accountId } } };
}

/**
 * Refuses what a terminal or a list should never show: control characters, bidi overrides and
 * marks, invisible characters (zero-width space, word joiner, BOM; not the joiners U+200C/U+200D
 * that emoji and several scripts need) and line or paragraph separators (which would
 * start a fake line in a listing).
 */
function cleanName(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff]/.test(name)) return undefined;
  return name.trim();
}

export async function directoryPublish(ctx: ServerContext, s: Session, m: DirectoryPublish): Promise<Reply> {
  requireDirectory(ctx);
  const username = normaliseUsername(m.username);
  if (username === undefined || username !== m.username) throw invalidArgument('username must be a normalised username (3–32 of a–z, 0–9, "." and "_")');
  const name = cleanName(m.name);
  if (name === undefined || [...name].length > MAX_DIRECTORY_NAME) throw invalidArgument(`name must be at most ${MAX_DIRECTORY_NAME} characters, without control characters`);
  const r = await ctx.storage.publishDirectoryEntry({ accountId: s.accountId, username, name }, usernameHash(ctx.crypto, username));
  if (r.status === 'not-claimed') throw invalidArgument('claim this username first (SetUsername); only the username your account holds can be listed');
  return ok();
}

export async function directoryLeave(ctx: ServerContext, s: Session, _m: DirectoryLeave): Promise<Reply> {
  await ctx.storage.removeDirectoryEntry(s.accountId);
  return ok();
}

export async function directorySearch(ctx: ServerContext, s: Session, m: DirectorySearch): Promise<Reply> {
  requireDirectory(ctx);
  if (m.query.length > MAX_QUERY || m.after.length > MAX_QUERY) throw invalidArgument(`query and after are at most ${MAX_QUERY} characters`);
  if (m.limit > MAX_PAGE) throw invalidArgument(`limit is at most ${MAX_PAGE}`);
  takeLookup(ctx, s);
  const limit = m.limit || DEFAULT_PAGE;
  const rows = await ctx.storage.searchDirectory(m.query.trim(), m.after, limit + 1);
  const page = rows.slice(0, limit);
  // Several nodes: connected on this node, or on another (spec/server.md §13); the bus away: this node's view only.
  const here = page.map((e) => ctx.hub.online(toHex(e.accountId)));
  const elsewhere = ctx.cluster ? await ctx.cluster.online(page.map((e) => toHex(e.accountId))).catch(() => here) : here;
  return {
    body: {
      case: 'directoryEntries',
      value: {
        entries: page.map((e, i) => ({ accountId: e.accountId, username: e.username, name: e.name, online: here[i]! || elsewhere[i]! })),
        more: rows.length > limit,
      },
    },
  };
}
