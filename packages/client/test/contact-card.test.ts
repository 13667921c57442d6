/** Contact cards (client.md §11.3): the checksum catches typos anywhere; older cards still parse. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClientError, base32, formatContactCard, parseContactCard } from '../src/index.js';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const rnd = (n: number) => new Uint8Array(randomBytes(n));

describe('contact cards', () => {
  const accountId = rnd(16), accessKey = rnd(16), profileKey = rnd(32);
  const card = formatContactCard(accountId, accessKey, profileKey);

  it('round-trips account id, access key and profile key; spaces, dashes and capitals are ignored', () => {
    expect(card).toHaveLength(110);
    expect(parseContactCard(card)).toEqual({ accountId, accessKey, profileKey });
    const grouped = card.toUpperCase().match(/.{1,5}/g)!.join(' - ');
    expect(parseContactCard(grouped)).toEqual({ accountId, accessKey, profileKey });
  });

  it('refuses every single wrong character, at every position', () => {
    let refused = 0, tried = 0;
    for (let i = 0; i < card.length; i++) {
      for (const c of B32) {
        if (c === card[i]) continue;
        tried++;
        try {
          parseContactCard(card.slice(0, i) + c + card.slice(i + 1));
        } catch (e) {
          expect(e).toBeInstanceOf(ClientError);
          expect((e as Error).message).toMatch(/typo/);
          refused++;
        }
      }
    }
    expect(refused).toBe(tried);
  });

  it('refuses every swap of two neighbouring characters, a dropped and a doubled character', () => {
    for (let i = 0; i + 1 < card.length; i++) {
      if (card[i] === card[i + 1]) continue;
      const swapped = card.slice(0, i) + card[i + 1] + card[i] + card.slice(i + 2);
      expect(() => parseContactCard(swapped)).toThrow(ClientError);
    }
    expect(() => parseContactCard(card.slice(1))).toThrow(/110 base32 characters/);
    expect(() => parseContactCard(card + card.at(-1))).toThrow(ClientError);
  });

  it('still accepts the cards of earlier versions (no checksum) and bare account ids', () => {
    const old = base32(new Uint8Array([...accountId, ...accessKey]));
    expect(old).toHaveLength(52);
    expect(parseContactCard(old)).toEqual({ accountId, accessKey, profileKey: undefined });
    expect(parseContactCard(base32(accountId))).toEqual({ accountId, accessKey: undefined, profileKey: undefined });
    expect(() => parseContactCard('abc')).toThrow(/110 base32 characters/);
    expect(() => parseContactCard(`${card.slice(0, 50)}!${card.slice(51)}`)).toThrow(/not a base32 character/);
  });
});
