/**
 * Verification by a shared secret (SMP, client.md §4.4) and signed read
 * receipts (client.md §4.5), through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { ContentSchema } from '@sigilo/protocol/gen/sigilo/client/v1/content_pb';
import { SmpMessageSchema } from '@sigilo/protocol/gen/sigilo/client/v1/smp_pb';
import { encodeSignedReadReceipt, verifyReceiptExport } from '@sigilo/protocol';
import { nodeCrypto, systemRandom } from '@sigilo/protocol/node';
import { World, introduce, nextEvent } from './support.js';
import type { SigiloClient } from '../src/index.js';

describe('SMP and signed receipts in the client', () => {
  let world: World;
  let alice: SigiloClient, bob: SigiloClient, carol: SigiloClient;
  beforeAll(async () => {
    world = await World.start();
    alice = await world.person('alice');
    bob = await world.person('bob');
    carol = await world.person('carol');
    introduce(alice, 'alice', bob, 'bob');
    introduce(alice, 'alice', carol, 'carol');
    // A session first: SMP is bound to it.
    let got = nextEvent(bob, 'message');
    await alice.sendText(bob.accountId!, 'hi bob');
    await got;
    got = nextEvent(alice, 'message');
    await bob.sendText(alice.accountId!, 'hi alice');
    await got;
    got = nextEvent(carol, 'message');
    await alice.sendText(carol.accountId!, 'hi carol');
    await got;
    got = nextEvent(alice, 'message');
    await carol.sendText(alice.accountId!, 'hi alice');
    await got;
  }, 60_000);
  afterAll(async () => { await world?.stop(); });

  it('a matching answer verifies the contact on both sides', async () => {
    expect(alice.safetyNumber(bob.accountId!).verified).toBe(false);
    const asked = nextEvent(bob, 'smp-question');
    await alice.startSmp(bob.accountId!, 'Where did we first meet?', 'Lisbon');
    const q = await asked;
    expect(q.question).toBe('Where did we first meet?');
    expect(q.from).toEqual(alice.accountId);
    expect(bob.pendingSmpQuestion(alice.accountId!)).toBe('Where did we first meet?');
    const aliceResult = nextEvent(alice, 'smp-result');
    const bobResult = nextEvent(bob, 'smp-result');
    await bob.answerSmp(alice.accountId!, '  lisbon ');
    expect((await aliceResult).match).toBe(true);
    expect((await bobResult).match).toBe(true);
    expect(alice.safetyNumber(bob.accountId!).verified).toBe(true);
    expect(bob.safetyNumber(alice.accountId!).verified).toBe(true);
    expect(alice.smpStatus(bob.accountId!)).toMatchObject({ phase: 'finished', result: 'match' });
    expect(bob.pendingSmpQuestion(alice.accountId!)).toBeUndefined();
  }, 60_000);

  it('a wrong answer verifies neither side, and both see only "no match"', async () => {
    const asked = nextEvent(alice, 'smp-question');
    await carol.startSmp(alice.accountId!, 'Name of my cat?', 'Tigger');
    await asked;
    const aliceResult = nextEvent(alice, 'smp-result');
    const carolResult = nextEvent(carol, 'smp-result');
    await alice.answerSmp(carol.accountId!, 'Felix');
    expect((await aliceResult).match).toBe(false);
    expect((await carolResult).match).toBe(false);
    expect(alice.safetyNumber(carol.accountId!).verified).toBe(false);
    expect(carol.safetyNumber(alice.accountId!).verified).toBe(false);
  }, 60_000);

  it('refuses an SMP step from an exchange it neither started nor answered', async () => {
    // Carol hand-crafts an SMP2 for an exchange id Alice never used: Alice refuses it and changes nothing.
    const before = alice.smpStatus(carol.accountId!);
    const step = create(SmpMessageSchema, {
      version: 1, exchangeId: new Uint8Array(16).fill(7),
      step: { case: 'smp2', value: { g2b: new Uint8Array(32), c2: new Uint8Array(32), d2: new Uint8Array(32), g3b: new Uint8Array(32), c3: new Uint8Array(32), d3: new Uint8Array(32), pb: new Uint8Array(32), qb: new Uint8Array(32), cp: new Uint8Array(32), d5: new Uint8Array(32), d6: new Uint8Array(32) } },
    });
    const refused = nextEvent(alice, 'undecryptable', (e) => /SMP step refused/.test(e.reason));
    let result = false;
    const off = alice.on((e) => { if (e.type === 'smp-result') result = true; });
    await sendRaw(carol, alice, { body: { case: 'smp', value: { message: step, deviceId: alice.deviceId! } } });
    expect((await refused).reason).toMatch(/another exchange|out of order|replay/i);
    off();
    expect(result).toBe(false);
    expect(alice.smpStatus(carol.accountId!)).toEqual(before);
    expect(alice.safetyNumber(carol.accountId!).verified).toBe(false);
  }, 60_000);

  it('an SMP1 whose proofs do not check is reported as failed, not as a question', async () => {
    const step = create(SmpMessageSchema, {
      version: 1, exchangeId: new Uint8Array(16).fill(9),
      step: { case: 'smp1', value: { question: 'forged', g2a: new Uint8Array(32).fill(1), c2: new Uint8Array(32), d2: new Uint8Array(32), g3a: new Uint8Array(32).fill(1), c3: new Uint8Array(32), d3: new Uint8Array(32) } },
    });
    let asked = false;
    const off = alice.on((e) => { if (e.type === 'smp-question') asked = true; });
    const failed = nextEvent(alice, 'smp-result', (e) => e.failed === true);
    await sendRaw(carol, alice, { body: { case: 'smp', value: { message: step, deviceId: alice.deviceId! } } });
    expect(await failed).toMatchObject({ match: false, failed: true });
    off();
    expect(asked).toBe(false);
    expect(alice.pendingSmpQuestion(carol.accountId!)).toBeUndefined();
    expect(alice.safetyNumber(carol.accountId!).verified).toBe(false);
  }, 60_000);

  it('refuses answering when nothing was asked, and rate-limits starts', async () => {
    await expect(alice.answerSmp(carol.accountId!, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // carol started once above; two more are allowed within the hour, the fourth is refused.
    await carol.startSmp(alice.accountId!, 'q2', 'a');
    await carol.startSmp(alice.accountId!, 'q3', 'a');
    await expect(carol.startSmp(alice.accountId!, 'q4', 'a')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  }, 60_000);

  it('signed read receipts: sent when on, checked and kept by the sender, exported and verified offline', async () => {
    bob.setSignedReceipts(alice.accountId!, true);
    const got = nextEvent(bob, 'message');
    const sent = await alice.sendText(bob.accountId!, 'please confirm you read this');
    await got;
    const kept = nextEvent(alice, 'signed-receipt');
    await bob.markRead(alice.accountId!, [sent.messageId]);
    const e = await kept;
    expect(e.messageId).toEqual(sent.messageId);
    expect(e.reader).toEqual(bob.accountId);
    expect(alice.signedReceipts(bob.accountId!, sent.messageId)).toHaveLength(1);
    const file = alice.exportReceipts(bob.accountId!, sent.messageId);
    const checked = verifyReceiptExport(nodeCrypto, file);
    expect(checked.message.text).toBe('please confirm you read this');
    expect(checked.receipts).toHaveLength(1);
    // The same file with the text changed is refused.
    const tampered = file.replace('please confirm you read this', 'please confirm you owe me 100');
    expect(() => verifyReceiptExport(nodeCrypto, tampered)).toThrow(/digest|altered/);
  }, 60_000);

  it('refuses a signed receipt replayed onto another message or re-sent by someone else', async () => {
    bob.setSignedReceipts(alice.accountId!, true);
    let got = nextEvent(bob, 'message');
    const first = await alice.sendText(bob.accountId!, 'first');
    await got;
    got = nextEvent(bob, 'message');
    const second = await alice.sendText(bob.accountId!, 'second');
    await got;
    const kept = nextEvent(alice, 'signed-receipt');
    await bob.markRead(alice.accountId!, [first.messageId]);
    await kept;
    const receipt = encodeSignedReadReceipt(alice.signedReceipts(bob.accountId!, first.messageId)[0]!);
    // Bob's valid receipt for `first`, sent again naming `second`: Alice's copy of `second` has another digest.
    let refused = nextEvent(alice, 'undecryptable', (e) => /signed read receipt refused/.test(e.reason));
    await sendRaw(bob, alice, { body: { case: 'signedReceipt', value: { receipt, messageId: second.messageId } } });
    expect((await refused).reason).toMatch(/another message/);
    expect(alice.signedReceipts(bob.accountId!, second.messageId)).toHaveLength(0);
    // Carol forwarding Bob's receipt as hers: it is not signed by the identity it came from.
    got = nextEvent(carol, 'message');
    const toCarol = await alice.sendText(carol.accountId!, 'first');
    await got;
    refused = nextEvent(alice, 'undecryptable', (e) => /signed read receipt refused/.test(e.reason));
    await sendRaw(carol, alice, { body: { case: 'signedReceipt', value: { receipt, messageId: toCarol.messageId } } });
    expect((await refused).reason).toMatch(/another (conversation|reader|message)/);
    expect(alice.signedReceipts(carol.accountId!, toCarol.messageId)).toHaveLength(0);
    // A flipped signature bit is forged.
    const forged = receipt.slice();
    forged[forged.length - 1]! ^= 1;
    refused = nextEvent(alice, 'undecryptable', (e) => /signed read receipt refused/.test(e.reason));
    await sendRaw(bob, alice, { body: { case: 'signedReceipt', value: { receipt: forged, messageId: second.messageId } } });
    expect((await refused).reason).toMatch(/signature/);
  }, 60_000);

  it('with signed receipts off, none is sent', async () => {
    bob.setSignedReceipts(alice.accountId!, false);
    const got = nextEvent(bob, 'message');
    const sent = await alice.sendText(bob.accountId!, 'no signature wanted');
    await got;
    const read = nextEvent(alice, 'status', (e) => e.status === 'read');
    await bob.markRead(alice.accountId!, [sent.messageId]);
    await read;
    // The plain read receipt went first through the same ordered outbox; give any follower one more round trip.
    const got2 = nextEvent(alice, 'message');
    await bob.sendText(alice.accountId!, 'after');
    await got2;
    expect(alice.signedReceipts(bob.accountId!, sent.messageId)).toHaveLength(0);
    expect(() => alice.exportReceipts(bob.accountId!, sent.messageId)).toThrow(/no signed read receipt/);
  }, 60_000);
});

/** Sends a hand-made Content from `from` to `to` through `from`'s real session (what a modified client could send). */
async function sendRaw(from: SigiloClient, to: SigiloClient, content: MessageInitShape<typeof ContentSchema>): Promise<void> {
  from.store.enqueueOutbox({ recipient: to.accountId!, content: toBinary(ContentSchema, create(ContentSchema, content)), syncContent: undefined, messageId: systemRandom(16), createdAt: Date.now() });
  await from.flush();
}
