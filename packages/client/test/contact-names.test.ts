/**
 * The names kept beside a contact's alias (contact-names.ts), on a real SQLCipher store: a nickname with spaces (which
 * an alias, the CLI's handle, cannot hold), the username a contact was found by, and an alias the app chose itself,
 * which is not taken for a name the person gave.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlCipherStore } from '../../client-node/src/index.js';
import { contactNames, freeAlias, givenName, noteContactOrigin, setContactNickname } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'sigilo-contact-names-'));
const store = SqlCipherStore.open(dir, 'passphrase of the contact-names test');
const id = (n: number) => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? n : i));
const row = (n: number, alias: string | undefined) => ({ accountId: id(n), alias, identityKey: undefined, pendingIdentityKey: undefined, verified: false, accessKey: undefined, mutedUntil: 0 });

afterAll(() => { store.close(); rmSync(dir, { recursive: true, force: true }); });

describe('contact names beside the alias', () => {
  it('keeps a nickname with spaces, refuses control characters, and removes it when blank', () => {
    store.putContact(row(1, 'bruno'));
    expect(setContactNickname(store, id(1), '  Bruno (finanzas) ')).toEqual({ nickname: 'Bruno (finanzas)' });
    expect(contactNames(store, id(1)).nickname).toBe('Bruno (finanzas)');
    expect(() => setContactNickname(store, id(1), 'Bruno\u202Eevil')).toThrow(/control characters/);
    expect(() => setContactNickname(store, id(1), 'x'.repeat(65))).toThrow(/1–64/);
    expect(contactNames(store, id(1)).nickname).toBe('Bruno (finanzas)');
    setContactNickname(store, id(1), '   ');
    expect(contactNames(store, id(1))).toEqual({});
    expect(store.getMeta(`contact.names.${Buffer.from(id(1)).toString('hex')}`)).toBeUndefined();
    expect(store.getContact(id(1))!.alias).toBe('bruno'); // the CLI's handle is untouched
  });

  it('an alias the app chose is not a name the person gave; a typed one is; a nickname wins', () => {
    noteContactOrigin(store, id(1), { username: 'bruno', autoAlias: 'bruno' });
    expect(givenName('bruno', contactNames(store, id(1)))).toBeUndefined();
    expect(contactNames(store, id(1)).username).toBe('bruno');
    expect(givenName('ana', {})).toBe('ana');
    expect(givenName(undefined, {})).toBeUndefined();
    setContactNickname(store, id(1), 'Bruno S.');
    expect(givenName('bruno', contactNames(store, id(1)))).toBe('Bruno S.');
    expect(contactNames(store, id(1))).toEqual({ nickname: 'Bruno S.', username: 'bruno', autoAlias: 'bruno' });
  });

  it('makes a free alias from a name: spaces and marks become "_", a taken one gets a number, an empty one the id', () => {
    expect(freeAlias(store, id(2), 'Bruno Silva ✓')).toBe('Bruno_Silva');
    store.putContact(row(2, 'Bruno_Silva'));
    expect(freeAlias(store, id(2), 'Bruno Silva')).toBe('Bruno_Silva'); // its own alias is free for it
    expect(freeAlias(store, id(3), 'Bruno Silva')).toBe('Bruno_Silva-2');
    expect(freeAlias(store, id(3), 'bruno')).toBe('bruno-2');
    expect(freeAlias(store, id(3), '🙂')).toBe(`contact-${Buffer.from(id(3)).toString('hex').slice(0, 6)}`);
    expect(freeAlias(store, id(3), undefined)).toMatch(/^contact-[0-9a-f]{6}$/);
    expect(/^[\p{L}\p{N}_.-]{1,64}$/u.test(freeAlias(store, id(3), 'Ação Ñandú '.repeat(10)))).toBe(true);
  });
});
