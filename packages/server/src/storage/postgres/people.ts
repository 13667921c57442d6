/** The PostgreSQL adapter's usernames, profiles and member directory (spec/server.md §3.1, storage/postgres.ts). */
import type { DirectoryRecord, ProfileRecord, PublishDirectoryResult, SetUsernameResult } from '../port.js';
import { buf, bytes, num, type Pg } from './rows.js';

export async function setUsername(pg: Pg, accountId: Uint8Array, usernameHash: Uint8Array): Promise<SetUsernameResult> {
  const a = buf(accountId), h = buf(usernameHash);
  try {
    return await pg.tx(async (q): Promise<SetUsernameResult> => {
      // The account row is locked so concurrent claims of one account are serialised.
      const [acc] = await q(`SELECT 1 FROM ${pg.t('accounts')} WHERE account_id = $1 FOR UPDATE`, [a]);
      if (!acc) return { status: 'no-account' };
      const [holder] = await q(`SELECT account_id FROM ${pg.t('usernames')} WHERE username_hash = $1`, [h]);
      if (holder) return buf(bytes(holder.account_id)).equals(a) ? { status: 'ok' } : { status: 'taken' };
      await q(`DELETE FROM ${pg.t('usernames')} WHERE account_id = $1`, [a]);
      await q(`DELETE FROM ${pg.t('directory')} WHERE account_id = $1`, [a]);
      await q(`INSERT INTO ${pg.t('usernames')} (username_hash, account_id) VALUES ($1, $2)`, [h, a]);
      return { status: 'ok' };
    });
  } catch (e) {
    // Two accounts claiming the same free username at once: the loser hits the primary key.
    if ((e as { code?: string }).code === '23505') return { status: 'taken' };
    throw e;
  }
}

export async function deleteUsername(pg: Pg, accountId: Uint8Array): Promise<boolean> {
  return pg.tx(async (q) => {
    await q(`DELETE FROM ${pg.t('directory')} WHERE account_id = $1`, [buf(accountId)]);
    return (await q(`DELETE FROM ${pg.t('usernames')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)])).length === 1;
  });
}

export async function accountByUsernameHash(pg: Pg, usernameHash: Uint8Array): Promise<Uint8Array | undefined> {
  const [r] = await pg.q(`SELECT account_id FROM ${pg.t('usernames')} WHERE username_hash = $1`, [buf(usernameHash)]);
  return r && bytes(r.account_id);
}

export async function usernameHashOf(pg: Pg, accountId: Uint8Array): Promise<Uint8Array | undefined> {
  const [r] = await pg.q(`SELECT username_hash FROM ${pg.t('usernames')} WHERE account_id = $1`, [buf(accountId)]);
  return r && bytes(r.username_hash);
}

export async function setProfile(pg: Pg, accountId: Uint8Array, profile: ProfileRecord | undefined): Promise<void> {
  if (!profile) {
    await pg.q(`DELETE FROM ${pg.t('profiles')} WHERE account_id = $1`, [buf(accountId)]);
    return;
  }
  await pg.q(`INSERT INTO ${pg.t('profiles')} (account_id, profile, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at`, [buf(accountId), buf(profile.profile), profile.updatedAt]);
}

export async function getProfile(pg: Pg, accountId: Uint8Array): Promise<ProfileRecord | undefined> {
  const [r] = await pg.q(`SELECT profile, updated_at FROM ${pg.t('profiles')} WHERE account_id = $1`, [buf(accountId)]);
  return r && { profile: bytes(r.profile), updatedAt: num(r.updated_at) };
}

export async function publishDirectoryEntry(pg: Pg, e: DirectoryRecord, usernameHash: Uint8Array): Promise<PublishDirectoryResult> {
  const a = buf(e.accountId);
  return pg.tx(async (q): Promise<PublishDirectoryResult> => {
    const [held] = await q(`SELECT username_hash FROM ${pg.t('usernames')} WHERE account_id = $1 FOR SHARE`, [a]);
    if (!held || !buf(bytes(held.username_hash)).equals(buf(usernameHash))) return { status: 'not-claimed' };
    await q(`DELETE FROM ${pg.t('directory')} WHERE username = $1 AND account_id <> $2`, [e.username, a]);
    await q(`INSERT INTO ${pg.t('directory')} (account_id, username, name) VALUES ($1, $2, $3)
      ON CONFLICT (account_id) DO UPDATE SET username = excluded.username, name = excluded.name`, [a, e.username, e.name]);
    return { status: 'ok' };
  });
}

export async function removeDirectoryEntry(pg: Pg, accountId: Uint8Array): Promise<boolean> {
  return (await pg.q(`DELETE FROM ${pg.t('directory')} WHERE account_id = $1 RETURNING 1`, [buf(accountId)])).length === 1;
}

export async function searchDirectory(pg: Pg, query: string, after: string, limit: number): Promise<DirectoryRecord[]> {
  // A–Z only are folded (as SQLite's lower() does), so both adapters match alike; COLLATE "C" orders by code point, as SQLite does.
  const fold = (col: string) => `translate(${col}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`;
  const q = query.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const rows = await pg.q(`SELECT account_id, username, name FROM ${pg.t('directory')}
    WHERE (strpos(${fold('username')}, $1) > 0 OR strpos(${fold('name')}, $1) > 0) AND username COLLATE "C" > $2 COLLATE "C"
    ORDER BY username COLLATE "C" LIMIT $3`, [q, after, limit]);
  return rows.map((r) => ({ accountId: bytes(r.account_id), username: r.username as string, name: r.name as string }));
}

export async function clearDirectory(pg: Pg): Promise<number> {
  return (await pg.q(`DELETE FROM ${pg.t('directory')} RETURNING 1`)).length;
}
