/**
 * Usernames and the member directory (client.md §11.2, server.md §3.1): claiming
 * a username (sent as its hash), finding an account by username, and, where the
 * administrator keeps a member directory, listing oneself and searching it.
 */
import { normaliseUsername, requireUsername, usernameHash, type ProtocolContext } from '@sigilo/protocol';
import type { ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import type { ClientBody } from './connection.js';
import { ServerRequestError } from './connection.js';
import { ClientError } from './errors.js';
import type { ClientStore } from './store/port.js';

const META_USERNAME = 'username';
const META_LISTED = 'directory.listed';
/** Entries one directory listing fetches at most (two pages). */
const MAX_LISTING = 200;

export interface UsernameHost {
  readonly store: ClientStore;
  readonly ctx: ProtocolContext;
  request(body: ClientBody): Promise<ServerFrame>;
  /** This account's display name, published with the username when listed. */
  displayName(): string | undefined;
}

export interface DirectoryListing {
  readonly accountId: Uint8Array;
  readonly username: string;
  readonly name: string;
  readonly online: boolean;
}

const enc = new TextEncoder(), dec = new TextDecoder();

/** The username as typed (`ana.lopez`, `@Ana.Lopez`) in normal form, or INVALID_INPUT saying what a username is. */
export function checkUsername(text: string): string {
  try {
    return requireUsername(text);
  } catch (e) {
    throw new ClientError('INVALID_INPUT', (e as Error).message);
  }
}

export class Usernames {
  readonly #h: UsernameHost;
  constructor(host: UsernameHost) { this.#h = host; }

  /** This account's username, as claimed from this device (or received when it was linked). */
  get current(): string | undefined {
    const b = this.#h.store.getMeta(META_USERNAME);
    return b ? dec.decode(b) : undefined;
  }

  /** Whether this account listed itself in the member directory (from this device). */
  get listed(): boolean {
    return this.#h.store.getMeta(META_LISTED) !== undefined;
  }

  /** Claims a username (replacing the previous one); relists it when this account was listed. */
  async set(text: string): Promise<string> {
    const username = checkUsername(text);
    try {
      await this.#h.request({ case: 'setUsername', value: { usernameHash: usernameHash(this.#h.ctx.crypto, username) } });
    } catch (e) {
      if (e instanceof ServerRequestError && e.serverCode === 'USERNAME_TAKEN') throw new ClientError('INVALID_INPUT', `the username ${username} belongs to someone else; choose another`);
      throw e;
    }
    this.#h.store.setMeta(META_USERNAME, enc.encode(username));
    await this.republishIfListed();
    return username;
  }

  /**
   * Lists the current username and display name again when this account is listed (after a
   * change of either). Where the administrator switched the directory off, the listing is forgotten.
   */
  async republishIfListed(): Promise<void> {
    if (!this.listed) return;
    try {
      await this.publish();
    } catch (e) {
      if (!(e instanceof ServerRequestError && e.serverCode === 'DIRECTORY_OFF')) throw e;
      this.#h.store.setMeta(META_LISTED, undefined);
    }
  }

  /** Releases the username (and the directory entry). */
  async delete(): Promise<void> {
    await this.#h.request({ case: 'deleteUsername', value: {} });
    this.#h.store.transaction(() => {
      this.#h.store.setMeta(META_USERNAME, undefined);
      this.#h.store.setMeta(META_LISTED, undefined);
    });
  }

  /** The account holding a username, or NOT_FOUND. */
  async lookup(text: string): Promise<{ username: string; accountId: Uint8Array }> {
    const username = checkUsername(text);
    try {
      const f = await this.#h.request({ case: 'lookupUsername', value: { usernameHash: usernameHash(this.#h.ctx.crypto, username) } });
      if (f.body.case !== 'usernameAccount') throw new ClientError('SERVER_ERROR', 'unexpected answer to a username lookup');
      return { username, accountId: f.body.value.accountId };
    } catch (e) {
      if (e instanceof ServerRequestError && e.serverCode === 'NOT_FOUND') throw new ClientError('NOT_FOUND', `nobody on this server has the username ${username}; check the spelling`);
      throw e;
    }
  }

  /**
   * Lists this account in the member directory with its username and display name, in clear
   * to the server (client.md §11.2 says what that costs). Needs a username.
   */
  async publish(): Promise<{ username: string; name: string }> {
    const username = this.current;
    if (!username) throw new ClientError('INVALID_INPUT', 'claim a username first: sigilo username set NAME');
    const name = this.#h.displayName() ?? '';
    await this.#h.request({ case: 'directoryPublish', value: { username, name } });
    this.#h.store.setMeta(META_LISTED, new Uint8Array([1]));
    return { username, name };
  }

  async leave(): Promise<void> {
    await this.#h.request({ case: 'directoryLeave', value: {} });
    this.#h.store.setMeta(META_LISTED, undefined);
  }

  /** Directory entries matching `query` (username or name; empty: everyone), at most 200. */
  async search(query = ''): Promise<{ entries: DirectoryListing[]; more: boolean }> {
    const q = query.trim().replace(/^@/, '');
    const entries: DirectoryListing[] = [];
    let after = '';
    for (;;) {
      const f = await this.#h.request({ case: 'directorySearch', value: { query: q, after, limit: 100 } });
      if (f.body.case !== 'directoryEntries') throw new ClientError('SERVER_ERROR', 'unexpected answer to a directory search');
      for (const e of f.body.value.entries) if (normaliseUsername(e.username) === e.username) entries.push({ accountId: e.accountId, username: e.username, name: e.name, online: e.online });
      const last = f.body.value.entries.at(-1);
      if (!f.body.value.more || !last) return { entries, more: false };
      if (entries.length >= MAX_LISTING) return { entries, more: true };
      after = last.username;
    }
  }

  // ---- linking (client.md §6)
  installProvisioned(username: string): void {
    if (normaliseUsername(username) === username) this.#h.store.setMeta(META_USERNAME, enc.encode(username));
  }
}
