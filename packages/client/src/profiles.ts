/**
 * Profiles (client.md §11.1): this account's display name and avatar, kept on
 * the server encrypted under its 32-byte profile key (protocol.md §12), and the
 * profile keys other people shared with this account (contact cards, every
 * pairwise Content, a group's pairwise messages), with the names read with them.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PROFILE_KEY_LENGTH, bytesEqual, decryptProfile, encryptProfile, type ProtocolContext } from '@sigilo/protocol';
import { ProfileContentSchema, type ProfileContent, type ProvisionMessage, type ProvisionMessage_KnownProfile } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import type { ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { type ClientBody, ServerRequestError } from './connection.js';
import { ClientError } from './errors.js';
import type { ClientStore, ContactProfileRow } from './store/port.js';

/** Longest display name, in characters. */
export const MAX_PROFILE_NAME = 64;
/** Largest avatar this client uploads (the server's limit, directory.maxProfileBytes, is 64 KiB by default). */
export const MAX_AVATAR_BYTES = 48 * 1024;
/** A fetched profile is fetched again after this long (names change). */
export const PROFILE_REFRESH_MS = 60 * 60 * 1000;
/** Profiles asked for at once by refresh(): far inside the server's burst of frames per connection (2,000 by default). */
const REFRESH_BATCH = 100;
/** Tries of one getProfile the server refuses as too many frames, each after the wait it gives. */
const REFRESH_ATTEMPTS = 8;
/** An account id's length (the server refuses any other in getProfile). */
const ACCOUNT_ID_BYTES = 16;
/** The pictures an avatar may be. */
const AVATAR_TYPE = /^image\/(jpeg|png|webp)$/;
const META_KEY = 'profile.key';
const META_CONTENT = 'profile.content';

export interface ProfileHost {
  readonly store: ClientStore;
  readonly ctx: ProtocolContext;
  now(): number;
  accountId(): Uint8Array;
  /** A request on the authenticated connection (throws when offline). */
  request(body: ClientBody): Promise<ServerFrame>;
}

export interface Profile {
  readonly name: string | undefined;
  readonly avatar: Uint8Array | undefined;
  readonly avatarType: string | undefined;
}

/** Control and bidi-override characters, which a name must not carry. */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A display name as stored: trimmed, 1–64 characters, nothing that could rewrite a terminal. */
export function checkProfileName(name: string): string {
  const n = name.normalize('NFC').trim();
  if (n.length === 0 || [...n].length > MAX_PROFILE_NAME || UNPRINTABLE.test(n)) {
    throw new ClientError('INVALID_INPUT', `a display name is 1–${MAX_PROFILE_NAME} characters, without control characters`);
  }
  return n;
}

/** A name read from someone's profile (or given by another device of this account), or undefined if it cannot be shown. */
function readableName(name: string): string | undefined {
  return name && !UNPRINTABLE.test(name) && [...name].length <= MAX_PROFILE_NAME ? name : undefined;
}

export class Profiles {
  readonly #h: ProfileHost;
  constructor(host: ProfileHost) { this.#h = host; }

  /** This account's profile key, created on first use (a new device receives it when linked). */
  ownKey(): Uint8Array {
    const k = this.#h.store.getMeta(META_KEY);
    if (k?.length === PROFILE_KEY_LENGTH) return k;
    return this.#h.store.transaction(() => {
      const again = this.#h.store.getMeta(META_KEY);
      if (again?.length === PROFILE_KEY_LENGTH) return again;
      const fresh = this.#h.ctx.random(PROFILE_KEY_LENGTH);
      this.#h.store.setMeta(META_KEY, fresh);
      return fresh;
    });
  }

  /** This account's profile as last set on this device. */
  own(): Profile {
    const b = this.#h.store.getMeta(META_CONTENT);
    if (!b) return { name: undefined, avatar: undefined, avatarType: undefined };
    const p = fromBinary(ProfileContentSchema, b);
    return { name: p.name || undefined, avatar: p.avatar.length ? p.avatar : undefined, avatarType: p.avatarType || undefined };
  }

  /**
   * Sets this account's display name (and avatar: `null` removes it, undefined keeps it),
   * encrypts the profile under the profile key and stores it on the server.
   */
  async set(changes: { name?: string; avatar?: { bytes: Uint8Array; type: string } | null }): Promise<Profile> {
    const current = this.#h.store.getMeta(META_CONTENT) ? this.own() : await this.fetchOwn();
    const name = changes.name !== undefined ? checkProfileName(changes.name) : current.name;
    let avatar = current.avatar, avatarType = current.avatarType;
    if (changes.avatar === null) { avatar = undefined; avatarType = undefined; }
    else if (changes.avatar) {
      if (!AVATAR_TYPE.test(changes.avatar.type)) throw new ClientError('INVALID_INPUT', 'an avatar is a JPEG, PNG or WebP picture');
      if (changes.avatar.bytes.length > MAX_AVATAR_BYTES) throw new ClientError('INVALID_INPUT', `an avatar is at most ${MAX_AVATAR_BYTES / 1024} KiB; make the picture smaller`);
      avatar = changes.avatar.bytes;
      avatarType = changes.avatar.type;
    }
    const content = toBinary(ProfileContentSchema, create(ProfileContentSchema, { name: name ?? '', avatar: avatar ?? new Uint8Array(0), avatarType: avatarType ?? '' }));
    const blob = encryptProfile(this.#h.ctx, this.ownKey(), this.#h.accountId(), content);
    await this.#h.request({ case: 'setProfile', value: { profile: blob } });
    this.#h.store.setMeta(META_CONTENT, content);
    return { name, avatar, avatarType };
  }

  /**
   * This account's profile as stored on the server, read with the profile key and kept on this
   * device (a linked device has the key but not the plaintext). Empty when none is stored or it
   * does not decrypt.
   */
  async fetchOwn(): Promise<Profile> {
    const f = await this.#h.request({ case: 'getProfile', value: { accountId: this.#h.accountId() } });
    const blob = f.body.case === 'profile' ? f.body.value.profile : new Uint8Array(0);
    if (blob.length === 0) return this.own();
    try {
      const content = decryptProfile(this.#h.ctx, this.ownKey(), this.#h.accountId(), blob);
      fromBinary(ProfileContentSchema, content);
      this.#h.store.setMeta(META_CONTENT, content);
    } catch { /* another key: this device's own copy stays */ }
    return this.own();
  }

  /**
   * Records a profile key someone shared (call inside the store transaction that applies
   * the message or card). A new or changed key makes the profile due for fetching.
   */
  learnKey(accountId: Uint8Array, profileKey: Uint8Array): void {
    if (accountId.length !== ACCOUNT_ID_BYTES || profileKey.length !== PROFILE_KEY_LENGTH || bytesEqual(accountId, this.#h.accountId())) return;
    const row = this.#h.store.getContactProfile(accountId);
    if (row && bytesEqual(row.profileKey, profileKey)) return;
    this.#h.store.putContactProfile({ accountId, profileKey, name: row?.name, avatar: row?.avatar, avatarType: row?.avatarType, fetchedAt: 0 });
  }

  /** The display name last read from someone's profile. */
  nameOf(accountId: Uint8Array): string | undefined {
    return this.#h.store.getContactProfile(accountId)?.name;
  }

  get(accountId: Uint8Array): ContactProfileRow | undefined {
    return this.#h.store.getContactProfile(accountId);
  }

  /**
   * Fetches and decrypts the profiles that are due: never fetched with their current key, or
   * fetched more than `maxAgeMs` ago (all known ones, or those of `accountIds`). Returns how many
   * were read. A profile that does not decrypt (the person changed their key) keeps no name.
   */
  async refresh(options: { accountIds?: readonly Uint8Array[]; maxAgeMs?: number } = {}): Promise<number> {
    const now = this.#h.now();
    const maxAge = options.maxAgeMs ?? PROFILE_REFRESH_MS;
    const wanted = options.accountIds;
    const due = this.#h.store.listContactProfiles().filter((r) => r.accountId.length === ACCOUNT_ID_BYTES &&
      (r.fetchedAt === 0 || now - r.fetchedAt >= maxAge) && (!wanted || wanted.some((id) => bytesEqual(id, r.accountId))));
    let read = 0;
    // In batches, each kept as soon as it is read: a linked device may hold thousands of due keys, and as many
    // requests at once would pass the server's burst of frames per connection (limits.connectionBurst), be
    // refused and read none (refused long enough, the server closes the connection).
    for (let i = 0; i < due.length; i += REFRESH_BATCH) {
      const fetched = await Promise.all(due.slice(i, i + REFRESH_BATCH).map(async (r) => {
        const f = await this.#getProfile(r.accountId);
        return { r, blob: f.body.case === 'profile' ? f.body.value.profile : new Uint8Array(0) };
      }));
      read += this.#keepFetched(fetched, now);
    }
    return read;
  }

  /** getProfile, asked again after a wait while the server says too many frames (RATE_LIMITED). */
  async #getProfile(accountId: Uint8Array): Promise<ServerFrame> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#h.request({ case: 'getProfile', value: { accountId } });
      } catch (e) {
        const wait = e instanceof ServerRequestError && e.serverCode === 'RATE_LIMITED' && e.frame.body.case === 'error' ? e.frame.body.value.retryAfterMs : 0;
        if (!wait || attempt >= REFRESH_ATTEMPTS) throw e;
        // The wait given is for one frame (a few ms): a whole batch waits longer, more at each refusal.
        await new Promise((r) => setTimeout(r, Math.min(Math.max(wait, 250 * attempt), 10_000)));
      }
    }
  }

  #keepFetched(fetched: readonly { r: ContactProfileRow; blob: Uint8Array }[], now: number): number {
    let read = 0;
    this.#h.store.transaction(() => {
      for (const { r, blob } of fetched) {
        const current = this.#h.store.getContactProfile(r.accountId);
        if (!current || !bytesEqual(current.profileKey, r.profileKey)) continue; // the key changed meanwhile: fetch again next time
        let p: Profile = { name: undefined, avatar: undefined, avatarType: undefined };
        if (blob.length) {
          try {
            const c = fromBinary(ProfileContentSchema, decryptProfile(this.#h.ctx, r.profileKey, r.accountId, blob));
            p = { name: readableName(c.name), avatar: c.avatar.length ? c.avatar : undefined, avatarType: c.avatarType || undefined };
            read++;
          } catch { /* not readable with this key: no name */ }
        }
        this.#h.store.putContactProfile({ ...current, ...p, fetchedAt: now });
      }
    });
    return read;
  }

  // ---- linking (client.md §6)

  /**
   * What a new device of this account gets: the profile key, this account's profile as this device
   * holds it, and every profile key held with the name last read (not the avatars, which would
   * swell the message: the new device fetches them, the keys being due there).
   */
  forProvisioning(): { profileKey: Uint8Array; ownProfile: ProfileContent | undefined; known: Omit<ProvisionMessage_KnownProfile, '$typeName'>[]; contactKey: (accountId: Uint8Array) => Uint8Array } {
    const own = this.#h.store.getMeta(META_CONTENT);
    return {
      profileKey: this.ownKey(),
      ownProfile: own ? fromBinary(ProfileContentSchema, own) : undefined,
      known: this.#h.store.listContactProfiles().map((r) => ({ accountId: r.accountId, profileKey: r.profileKey, name: r.name ?? '' })),
      contactKey: (accountId) => this.#h.store.getContactProfile(accountId)?.profileKey ?? new Uint8Array(0),
    };
  }

  /**
   * On the new device, inside its provisioning transaction: this account's profile and the names
   * known with each key are shown at once; every key is due, so the next refresh reads the
   * profiles (and avatars) from the server. From an older device only the keys come.
   */
  installProvisioned(pm: ProvisionMessage): void {
    if (pm.profileKey.length === PROFILE_KEY_LENGTH) this.#h.store.setMeta(META_KEY, pm.profileKey);
    const own = pm.ownProfile;
    if (own) {
      // Kept only as set() would have taken it: this copy is what the next set() re-uploads with a new name.
      const name = readableName(own.name) ?? '';
      const picture = AVATAR_TYPE.test(own.avatarType) && own.avatar.length > 0 && own.avatar.length <= MAX_AVATAR_BYTES;
      this.#h.store.setMeta(META_CONTENT, toBinary(ProfileContentSchema, create(ProfileContentSchema, { name, ...(picture ? { avatar: own.avatar, avatarType: own.avatarType } : {}) })));
    }
    for (const p of pm.profiles) {
      // Not an account id: the server refuses its getProfile, and with it every refresh().
      if (p.accountId.length !== ACCOUNT_ID_BYTES || p.profileKey.length !== PROFILE_KEY_LENGTH || bytesEqual(p.accountId, this.#h.accountId())) continue;
      this.#h.store.putContactProfile({ accountId: p.accountId, profileKey: p.profileKey, name: readableName(p.name), avatar: undefined, avatarType: undefined, fetchedAt: 0 });
    }
    for (const c of pm.contacts) if (c.profileKey.length === PROFILE_KEY_LENGTH) this.learnKey(c.accountId, c.profileKey);
  }
}
