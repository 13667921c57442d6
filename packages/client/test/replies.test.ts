/** Replies (client.md §3): a text quoting a message reaches the other side with its quote; a malformed quote is refused when sent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, introduce, nextEvent } from './support.js';
import { QUOTE_TEXT_MAX, type SigiloClient } from '../src/index.js';

describe('replies through the real server', () => {
  let world: World;
  let alice: SigiloClient, bob: SigiloClient;
  beforeAll(async () => {
    world = await World.start();
    alice = await world.person('alice');
    bob = await world.person('bob');
    introduce(alice, 'alice', bob, 'bob');
  });
  afterAll(async () => { await world?.stop(); });

  it('carries the quoted message id, author and text, cut to QUOTE_TEXT_MAX characters', async () => {
    const got = nextEvent(bob, 'message');
    const long = 'á'.repeat(QUOTE_TEXT_MAX + 20);
    const first = await alice.sendText(bob.accountId!, long);
    const m = (await got).message;
    expect(m.quote).toBeUndefined();
    const reply = nextEvent(alice, 'message');
    const sent = await bob.sendText(alice.accountId!, 'de acuerdo', { quote: { messageId: m.messageId, author: m.author, text: m.text } });
    expect(sent.quote?.text).toHaveLength(QUOTE_TEXT_MAX);
    const r = (await reply).message;
    expect(r.text).toBe('de acuerdo');
    expect(r.quote?.messageId).toEqual(first.messageId);
    expect(r.quote?.author).toEqual(alice.accountId);
    expect(r.quote?.text).toBe('á'.repeat(QUOTE_TEXT_MAX));
  });

  it('refuses to send a quote whose ids are not 16 bytes', async () => {
    await expect(bob.sendText(alice.accountId!, 'x', { quote: { messageId: new Uint8Array(3), author: alice.accountId!, text: '' } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
