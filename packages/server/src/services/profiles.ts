/**
 * Encrypted profiles (spec/server.md §3.1): one opaque blob per account, which
 * the client encrypted under its profile key (protocol.md §12). The server
 * checks only its size; any authenticated member may fetch any profile, which
 * is of use only to those who hold the key.
 */
import type { GetProfile, SetProfile } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { ACCOUNT_ID_LENGTH } from '../auth.js';
import type { Reply } from '../ports.js';
import type { ServerContext, Session } from '../context.js';
import { ServerError, invalidArgument } from '../errors.js';

export async function setProfile(ctx: ServerContext, s: Session, m: SetProfile): Promise<Reply> {
  const max = ctx.config.directory.maxProfileBytes;
  if (m.profile.length > max) throw new ServerError('MESSAGE_TOO_LARGE', `a profile is at most ${max} bytes on this server; use a smaller avatar`);
  await ctx.storage.setProfile(s.accountId, m.profile.length ? { profile: m.profile, updatedAt: ctx.now() } : undefined);
  return { body: { case: 'ok', value: {} } };
}

export async function getProfile(ctx: ServerContext, _s: Session, m: GetProfile): Promise<Reply> {
  if (m.accountId.length !== ACCOUNT_ID_LENGTH) throw invalidArgument(`account_id must be ${ACCOUNT_ID_LENGTH} bytes`);
  const p = await ctx.storage.getProfile(m.accountId);
  return { body: { case: 'profile', value: { profile: p?.profile ?? new Uint8Array(0), updatedAt: BigInt(p?.updatedAt ?? 0) } } };
}
