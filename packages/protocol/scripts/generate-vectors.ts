/**
 * Generates the frozen vectors in spec/vectors/ from fixed seeds. Run once
 * (`npm run vectors:generate`) when the protocol version changes; the files are
 * then committed and never regenerated for the same version: tests check both
 * providers against them.
 *
 * Randomness: every value a party draws is recorded, in order, as hex in the
 * vector (`draws`), so another implementation can replay the exact transcript.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { nodeCrypto } from '../src/crypto/node.js';
import type { Random } from '../src/crypto/random.js';
import {
  toHex, fromHex, generateIdentityKeyPair, generateSignedPreKey, generateOneTimePreKeys, generatePqPreKey, makePreKeyBundle, encodePreKeyBundle,
  encodeSessionRecord,
  issueSenderCertificate, sealSender, safetyNumber, encodeSignedPreKeyPayload, encodePqPreKeyPayload,
} from '../src/index.js';
import { runTranscript, TRANSCRIPT_EVENTS } from '../test/support/transcript.js';
import { kdfChainKey, kdfRootKey, expandMessageKey } from '../src/ratchet/kdf.js';

const out = fileURLToPath(new URL('../../../spec/vectors/', import.meta.url));
mkdirSync(out, { recursive: true });
const crypto = nodeCrypto;
const enc = (s: string) => new TextEncoder().encode(s);

function seeded(seed: string): Random & { draws: string[] } {
  let counter = 0;
  const draws: string[] = [];
  const fn = ((length: number) => {
    const bytes = new Uint8Array(length);
    for (let filled = 0; filled < length; filled += 32) {
      const block = sha256(new Uint8Array([...enc(seed), counter >>> 24, (counter >>> 16) & 255, (counter >>> 8) & 255, counter & 255]));
      counter++;
      bytes.set(block.subarray(0, Math.min(32, length - filled)), filled);
    }
    draws.push(toHex(bytes));
    return bytes;
  }) as Random & { draws: string[] };
  fn.draws = draws;
  return fn;
}

// `tsx scripts/generate-vectors.ts attachments.json` rewrites only the files named (all when none is).
const only = process.argv.slice(2);

function write(name: string, data: unknown) {
  if (only.length > 0 && !only.includes(name)) return;
  writeFileSync(out + name, JSON.stringify(data, null, 2) + '\n');
  console.log('wrote spec/vectors/' + name);
}

// --- KDFs -------------------------------------------------------------------
{
  const r = seeded('sigilo-vectors-kdf');
  const cases = [];
  for (let i = 0; i < 3; i++) {
    const rk = r(32), dh = r(32), ck = r(32), mk = r(32);
    const root = kdfRootKey(crypto, rk, dh);
    const chain = kdfChainKey(crypto, ck);
    const msg = expandMessageKey(crypto, mk);
    cases.push({
      rootKey: toHex(rk), dhOutput: toHex(dh), newRootKey: toHex(root.rootKey), newChainKey: toHex(root.chainKey),
      chainKey: toHex(ck), nextChainKey: toHex(chain.chainKey), messageKey: toHex(chain.messageKey),
      messageKeyInput: toHex(mk), aesKey: toHex(msg.key), aesNonce: toHex(msg.nonce),
    });
  }
  write('kdf.json', { description: 'KDF_RK, KDF_CK and message-key expansion (protocol.md §5.2)', cases });
}

// --- Keys and prekeys ---------------------------------------------------------
{
  const random = seeded('sigilo-vectors-keys');
  const ctx = { crypto, random };
  const identity = generateIdentityKeyPair(ctx);
  const spk = generateSignedPreKey(ctx, identity, 7, 1_767_225_600_000);
  const pq = generatePqPreKey(ctx, identity, 9, true, 1_767_225_600_000);
  write('keys.json', {
    description: 'Identity key pair and prekey signatures (protocol.md §2-§3). Ed25519 signatures are deterministic.',
    identity: { signingSeed: toHex(identity.signing.privateKey), agreementPrivate: toHex(identity.agreement.privateKey), publicKey: toHex(identity.publicKey) },
    signedPreKey: { id: 7, privateKey: toHex(spk.keyPair.privateKey), publicKey: toHex(spk.keyPair.publicKey), payload: toHex(encodeSignedPreKeyPayload(7, spk.keyPair.publicKey)), signature: toHex(spk.signature) },
    pqPreKey: { id: 9, lastResort: true, seed: random.draws[3], publicKey: toHex(pq.keyPair.publicKey), payload: toHex(encodePqPreKeyPayload(9, true, pq.keyPair.publicKey)), signature: toHex(pq.signature) },
  });
}

// --- A session transcript -----------------------------------------------------
{
  const aliceRandom = seeded('sigilo-vectors-alice');
  const bobRandom = seeded('sigilo-vectors-bob');
  const a = { crypto, random: aliceRandom };
  const b = { crypto, random: bobRandom };
  const now = 1_767_225_600_000;
  const alice = generateIdentityKeyPair(a);
  const bob = generateIdentityKeyPair(b);
  const spk = generateSignedPreKey(b, bob, 1, now);
  const [opk] = generateOneTimePreKeys(b, 100, 1);
  const pq = generatePqPreKey(b, bob, 200, false, now);
  const setupDraws = { alice: aliceRandom.draws.length, bob: bobRandom.draws.length };
  const bundle = makePreKeyBundle(bob, 1, spk, pq, opk);
  const result = runTranscript({
    alice: { ctx: a, identity: alice },
    bob: { ctx: b, identity: bob, keys: { signedPreKey: spk, oneTimePreKey: opk, pqPreKey: pq } },
    bundle,
  }, TRANSCRIPT_EVENTS);
  write('session.json', {
    description: 'A PQXDH + Double Ratchet transcript with a one-time EC prekey and a one-time PQ prekey (protocol.md §4-§5). '
      + 'events: the operations in the order they ran ("receive" names a message by its index in messages). '
      + 'draws: every random value each party drew, in order; the first setupDraws of them made the long-term keys below. '
      + 'Replaying the events with these draws reproduces every message byte for byte.',
    now,
    setupDraws,
    alice: { identitySigningSeed: toHex(alice.signing.privateKey), identityAgreementPrivate: toHex(alice.agreement.privateKey), identityPublic: toHex(alice.publicKey), draws: aliceRandom.draws },
    bob: {
      identitySigningSeed: toHex(bob.signing.privateKey), identityAgreementPrivate: toHex(bob.agreement.privateKey), identityPublic: toHex(bob.publicKey),
      signedPreKey: { id: 1, privateKey: toHex(spk.keyPair.privateKey), signature: toHex(spk.signature) },
      oneTimePreKey: { id: 100, privateKey: toHex(opk!.keyPair.privateKey) },
      pqPreKey: { id: 200, lastResort: false, seed: bobRandom.draws[setupDraws.bob - 1], publicKey: toHex(pq.keyPair.publicKey), signature: toHex(pq.signature) },
      draws: bobRandom.draws,
    },
    bundle: toHex(encodePreKeyBundle(bundle)),
    events: TRANSCRIPT_EVENTS,
    messages: result.messages.map((m) => ({ from: m.from, plaintext: m.text, message: toHex(m.message) })),
    finalRecords: { alice: toHex(encodeSessionRecord(result.alice)), bob: toHex(encodeSessionRecord(result.bob)) },
  });
}

// --- Sealed sender ---------------------------------------------------------------
{
  const random = seeded('sigilo-vectors-sealed');
  const ctx = { crypto, random };
  const serverSeed = random(32);
  const sender = generateIdentityKeyPair(ctx);
  const recipient = generateIdentityKeyPair(ctx);
  const accountId = random(16);
  const certificate = issueSenderCertificate(crypto, { keyId: 1, privateKey: serverSeed }, { accountId, deviceId: 2, identityKey: sender.publicKey, expires: 1_767_229_200_000 });
  const envelope = sealSender(ctx, sender, recipient.publicKey, certificate, 1, enc('inner ciphertext bytes'));
  write('sealed-sender.json', {
    description: 'A sender certificate and a sealed-sender envelope (protocol.md §6). Open it at `now` with the recipient keys and the trusted server key.',
    now: 1_767_225_600_000,
    serverKey: { keyId: 1, seed: toHex(serverSeed), publicKey: toHex(crypto.ed25519PublicKey(serverSeed)) },
    sender: { accountId: toHex(accountId), deviceId: 2, identityPublic: toHex(sender.publicKey), identitySigningSeed: toHex(sender.signing.privateKey), identityAgreementPrivate: toHex(sender.agreement.privateKey) },
    recipient: { identitySigningSeed: toHex(recipient.signing.privateKey), identityAgreementPrivate: toHex(recipient.agreement.privateKey), identityPublic: toHex(recipient.publicKey) },
    certificate: toHex(certificate),
    expires: 1_767_229_200_000,
    contentType: 1,
    content: toHex(enc('inner ciphertext bytes')),
    envelope: toHex(envelope),
    draws: random.draws,
  });
}

// --- Safety numbers ------------------------------------------------------------------
{
  const random = seeded('sigilo-vectors-safety');
  const ctx = { crypto, random };
  const a = generateIdentityKeyPair(ctx), b = generateIdentityKeyPair(ctx);
  const idA = random(16), idB = random(16);
  const sn = safetyNumber(crypto, { identityKey: a.publicKey, stableId: idA }, { identityKey: b.publicKey, stableId: idB });
  write('safety-number.json', {
    description: 'Safety number of two identities (protocol.md §8), as the first party computes it.',
    local: { identityKey: toHex(a.publicKey), stableId: toHex(idA) },
    remote: { identityKey: toHex(b.publicKey), stableId: toHex(idB) },
    digits: sn.digits,
    qrPayload: toHex(sn.qrPayload),
  });
}

// --- Groups (spec/groups.md) ----------------------------------------------------------
// Its own imports, so this section stays separate from the 1:1 vectors above.
{
  const g = await import('../src/index.js');
  const { kdfChainKey } = await import('../src/ratchet/kdf.js');
  const { decodeProto, encodeProto } = await import('../src/proto.js');
  const { GroupLogEntrySchema, GroupLogEntry_BodySchema } = await import('../src/gen/sigilo/protocol/v1/group_pb.js');
  const identityOf = (id: ReturnType<typeof g.generateIdentityKeyPair>) => ({
    identitySigningSeed: toHex(id.signing.privateKey), identityAgreementPrivate: toHex(id.agreement.privateKey), identityPublic: toHex(id.publicKey),
  });

  // Sender key: chain derivation, the distribution, two messages (Ed25519 is deterministic: no draws after creation).
  const skRandom = seeded('sigilo-vectors-sender-key');
  const sk = g.createSenderKey({ crypto, random: skRandom });
  const skDraws = [...skRandom.draws];
  const chain = [];
  let ck = fromHex(skDraws[1]!);
  for (let i = 0; i < 4; i++) {
    const step = kdfChainKey(crypto, ck);
    const m = g.expandSenderMessageKey(crypto, step.messageKey);
    chain.push({ iteration: i, chainKey: toHex(ck), messageKey: toHex(step.messageKey), aesKey: toHex(m.key), aesNonce: toHex(m.nonce) });
    ck = step.chainKey;
  }
  let own = sk.record;
  const messages = ['first group message', 'second group message'].map((text, iteration) => {
    const out = g.senderKeyEncrypt({ crypto, random: skRandom }, own, enc(text));
    own = out.record;
    return { iteration, plaintext: text, message: toHex(out.message) };
  });

  // Membership log: a genesis by the creator with one member, then the creator adds a third account.
  const mRandom = seeded('sigilo-vectors-group-log');
  const mctx = { crypto, random: mRandom };
  const creator = g.generateIdentityKeyPair(mctx);
  const member = g.generateIdentityKeyPair(mctx);
  const added = g.generateIdentityKeyPair(mctx);
  const creatorAccount = mRandom(16), memberAccount = mRandom(16), addedAccount = mRandom(16);
  const before = mRandom.draws.length;
  const created = g.createGroup(mctx, { accountId: creatorAccount, identity: creator }, 'Vectors', [{ accountId: memberAccount, identityKey: member.publicKey }], 1_767_225_600_000);
  const groupDraws = mRandom.draws.slice(before);
  const change = g.signGroupChange(mctx, created.log.state, { accountId: creatorAccount, identity: creator }, { type: 'add', members: [{ accountId: addedAccount, identityKey: added.publicKey }] }, 1_767_225_660_000);
  created.log.add(change);
  const entryParts = (e: Uint8Array) => {
    const outer = decodeProto(GroupLogEntrySchema, e, 'entry');
    return { entry: toHex(e), body: toHex(outer.body), signedBytes: toHex(g.groupEntrySignedBytes(outer.body)), signature: toHex(outer.signature), hash: toHex(g.groupEntryHash(mctx, e)) };
  };
  const state = created.log.state;
  // groups.md §4.2: the group id is SHA-256 of this input (the label, then the genesis body with its group id empty).
  const genesisBody = decodeProto(GroupLogEntry_BodySchema, decodeProto(GroupLogEntrySchema, created.entry, 'entry').body, 'body');
  const groupIdInput = new Uint8Array([...new TextEncoder().encode('Sigilo-GroupId-v1'), ...encodeProto(GroupLogEntry_BodySchema, { ...genesisBody, groupId: new Uint8Array(0) })]);

  // Multi-recipient sealed sender: two recipients.
  const sRandom = seeded('sigilo-vectors-multi-recipient');
  const sctx = { crypto, random: sRandom };
  const serverSeed = sRandom(32);
  const sender = g.generateIdentityKeyPair(sctx);
  const recipients = [g.generateIdentityKeyPair(sctx), g.generateIdentityKeyPair(sctx)];
  const senderAccount = sRandom(16);
  const certificate = issueSenderCertificate(crypto, { keyId: 1, privateKey: serverSeed }, { accountId: senderAccount, deviceId: 2, identityKey: sender.publicKey, expires: 1_767_229_200_000 });
  const sealBefore = sRandom.draws.length;
  const content = fromHex(messages[0]!.message);
  const sealed = g.sealMultiRecipient(sctx, { senderCertificate: certificate, contentType: 3, content, recipientIdentityKeys: recipients.map((r) => r.publicKey) });
  const sealDraws = sRandom.draws.slice(sealBefore);

  write('groups.json', {
    description: 'Groups (groups.md): sender-key chain, distribution and messages (§3); a membership log genesis and an add with their hashes and signatures (§4); '
      + 'a multi-recipient sealed payload with its headers (§5). `draws` are the random values in the order the functions drew them.',
    senderKey: {
      draws: skDraws,
      distributionId: toHex(sk.distributionId), chainKey: skDraws[1], signingSeed: skDraws[2],
      signingPublic: toHex(crypto.ed25519PublicKey(fromHex(skDraws[2]!))),
      chain,
      distribution: toHex(sk.distribution),
      messages,
    },
    membership: {
      creator: { accountId: toHex(creatorAccount), ...identityOf(creator) },
      member: { accountId: toHex(memberAccount), ...identityOf(member) },
      added: { accountId: toHex(addedAccount), ...identityOf(added) },
      name: 'Vectors',
      draws: groupDraws,
      genesis: { timestamp: 1_767_225_600_000, nonce: groupDraws[0], groupIdInput: toHex(groupIdInput), ...entryParts(created.entry) },
      add: { timestamp: 1_767_225_660_000, ...entryParts(change) },
      state: {
        groupId: toHex(state.groupId), name: state.name, revision: state.revision, head: toHex(state.head),
        members: state.members.map((x) => ({ accountId: toHex(x.accountId), identityKey: toHex(x.identityKey), role: x.role })),
      },
    },
    multiRecipient: {
      now: 1_767_225_600_000,
      serverKey: { keyId: 1, seed: toHex(serverSeed), publicKey: toHex(crypto.ed25519PublicKey(serverSeed)) },
      sender: { accountId: toHex(senderAccount), deviceId: 2, ...identityOf(sender) },
      recipients: recipients.map(identityOf),
      certificate: toHex(certificate),
      expires: 1_767_229_200_000,
      contentType: 3,
      content: toHex(content),
      draws: sealDraws,
      ephemeralPublic: toHex(crypto.x25519PublicKey(fromHex(sealDraws[0]!))),
      shared: toHex(sealed.shared),
      headers: sealed.headers.map(toHex),
    },
  });
}

// --- Attachments (spec/attachments.md) ---------------------------------------------------
// Its own imports, so this section stays separate from the vectors above.
{
  const a = await import('../src/attachment/index.js');
  const { deriveCobblestoneKeys } = await import('../src/attachment/cobblestone.js');
  const random = seeded('sigilo-vectors-attachments');
  /** The plaintext of the larger cases: byte i is i mod 251 (no chunk repeats another). */
  const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
  const FULL_HEX_UP_TO = 2048;
  const caseOf = (name: string, plaintext: Uint8Array, plaintextSpec: Record<string, unknown>) => {
    const key = random(32);
    const salt = a.attachmentSalt(crypto, key);
    const keys = deriveCobblestoneKeys(crypto, key, salt, enc('Sigilo_Attachment_v1'));
    const ciphertext = a.encryptAttachment(crypto, key, plaintext);
    const chunks = a.plaintextChunkCount(plaintext.length);
    return {
      name,
      key: toHex(key),
      ...plaintextSpec,
      plaintextSize: plaintext.length,
      salt: toHex(salt),
      aeadKey: toHex(keys.aeadKey),
      baseNonce: toHex(keys.baseNonce),
      commitment: toHex(keys.commitment),
      chunks,
      finalChunkOffset: a.chunkCiphertextOffset(chunks - 1),
      ciphertextSize: ciphertext.length,
      ciphertextSha256: toHex(sha256(ciphertext)),
      ...(ciphertext.length <= FULL_HEX_UP_TO ? { ciphertext: toHex(ciphertext) } : {}),
    };
  };
  const C = a.ATTACHMENT_CHUNK_SIZE;
  const note = enc('Sigilo attachment vector: a short file padded to its bucket.');
  const cases = [
    caseOf('empty file', new Uint8Array(0), { plaintext: '' }),
    caseOf('short file', enc('hello, attachment'), { plaintext: toHex(enc('hello, attachment')) }),
    caseOf('short file padded to its bucket (1024 bytes)', a.padAttachment(note), { plaintext: toHex(note), paddedTo: a.paddedSize(note.length) }),
    caseOf('exactly one chunk (16384 bytes: a full chunk and an empty final chunk)', pattern(C), { plaintextPattern: 'i mod 251' }),
    caseOf('one byte more than a chunk', pattern(C + 1), { plaintextPattern: 'i mod 251' }),
    caseOf('a few chunks (3 full chunks and 1000 bytes)', pattern(3 * C + 1000), { plaintextPattern: 'i mod 251' }),
  ];
  const paddingSizes = [0, 1, 1000, 1024, 1025, 2000, 2049, 4097, 16_384, 16_385, 65_537, 100_000, 1_000_000, 5_000_000, 10_000_000,
    100_000_000, 1_073_741_824, 1_073_741_825, 4_000_000_000];
  write('attachments.json', {
    description: 'Attachment cipher and padding (attachments.md). Cobblestone-256 with salt = HKDF-Expand-SHA512(key, "Sigilo_AttachmentSalt_v1", 24) '
      + 'and context "Sigilo_Attachment_v1". Each case gives the key, the plaintext (hex, or plaintextPattern: byte i = i mod 251 for plaintextSize bytes; '
      + 'for the padded case the content is `plaintext` followed by zeros up to paddedTo), the derived values, and the ciphertext '
      + '(SHA-256 always, full hex when at most 2048 bytes). padding: paddedSize for sample sizes.',
    chunkSize: C,
    headerLength: a.ATTACHMENT_HEADER_LENGTH,
    tagLength: a.ATTACHMENT_TAG_LENGTH,
    saltInfo: 'Sigilo_AttachmentSalt_v1',
    context: 'Sigilo_Attachment_v1',
    cases,
    padding: paddingSizes.map((size) => ({ size, padded: a.paddedSize(size) })),
  });
}

// --- Ratchet states (protocol.md §5.4, §7): skipped keys in a record, failed attempts -----
// Added after version 1's other files were frozen; its own seeds, so it changes none of them.
{
  const { runStates, STATES_EVENTS } = await import('../test/support/ratchet-states.js');
  const { decodeSessionRecord } = await import('../src/index.js');
  const aliceRandom = seeded('sigilo-vectors-states-alice');
  const bobRandom = seeded('sigilo-vectors-states-bob');
  const a = { crypto, random: aliceRandom };
  const b = { crypto, random: bobRandom };
  const now = 1_767_225_600_000;
  const alice = generateIdentityKeyPair(a);
  const bob = generateIdentityKeyPair(b);
  const spk = generateSignedPreKey(b, bob, 5, now);
  const lastResort = generatePqPreKey(b, bob, 6, true, now);
  const setupDraws = { alice: aliceRandom.draws.length, bob: bobRandom.draws.length };
  const bundle = makePreKeyBundle(bob, 1, spk, lastResort); // no one-time EC prekey; the last-resort PQ key
  const result = runStates({
    alice: { ctx: a, identity: alice },
    bob: { ctx: b, identity: bob, keys: { signedPreKey: spk, pqPreKey: lastResort } },
    bundle,
  }, STATES_EVENTS);
  const describeRecord = (hex: string) => {
    const s = decodeSessionRecord(fromHex(hex)).current!;
    return {
      record: hex,
      receivingChains: s.receivingChains.map((c) => ({ ratchetKey: toHex(c.ratchetKey), chainKey: toHex(c.chainKey), counter: c.counter })),
      skippedKeys: s.skippedKeys.map((k) => ({ ratchetKey: toHex(k.ratchetKey), counter: k.counter, messageKey: toHex(k.messageKey) })),
    };
  };
  write('ratchet-states.json', {
    description: 'Session records holding skipped message keys, and failed decryption attempts (protocol.md §5.4, §7). '
      + 'Same conventions as session.json: events ran in order, draws are every random value each party drew, the first setupDraws made the keys below. '
      + 'snapshots: Bob\'s encoded record after the events before them, with its receiving chains (newest first; chainKey empty on older chains) '
      + 'and skipped keys (oldest first; messageKey is the 32-byte KDF_CK output mk, before expansion). '
      + 'failures: each failed attempt, the bytes Bob was given, the error, Bob\'s draws counted from the first event, before and after the attempt (a tampered message that starts a new chain '
      + 'consumes one 32-byte draw, which is discarded with the attempt), and that his record is unchanged.',
    now,
    setupDraws,
    alice: { identitySigningSeed: toHex(alice.signing.privateKey), identityAgreementPrivate: toHex(alice.agreement.privateKey), identityPublic: toHex(alice.publicKey), draws: aliceRandom.draws },
    bob: {
      identitySigningSeed: toHex(bob.signing.privateKey), identityAgreementPrivate: toHex(bob.agreement.privateKey), identityPublic: toHex(bob.publicKey),
      signedPreKey: { id: 5, privateKey: toHex(spk.keyPair.privateKey), signature: toHex(spk.signature) },
      pqPreKey: { id: 6, lastResort: true, seed: bobRandom.draws[setupDraws.bob - 1], publicKey: toHex(lastResort.keyPair.publicKey), signature: toHex(lastResort.signature) },
      draws: bobRandom.draws,
    },
    bundle: toHex(encodePreKeyBundle(bundle)),
    events: STATES_EVENTS,
    messages: result.messages.map((m) => ({ from: m.from, plaintext: m.text, message: toHex(m.message) })),
    snapshots: Object.fromEntries(Object.entries(result.snapshots).map(([k, v]) => [k, describeRecord(v)])),
    failures: result.failures,
    finalRecords: { alice: toHex(encodeSessionRecord(result.alice)), bob: toHex(encodeSessionRecord(result.bob)) },
  });
}

// --- SMP (spec/smp.md) and signed read receipts (spec/receipts.md) --------------------
{
  const t = await import('../src/index.js');
  const idRandom = seeded('sigilo-vectors-smp-identities');
  const alice = t.generateIdentityKeyPair({ crypto, random: idRandom });
  const bob = t.generateIdentityKeyPair({ crypto, random: idRandom });
  const baseKey = idRandom(32);
  // The session binding as both sides derive it: the session's AD = IK_A ‖ IK_B ‖ EK_A (protocol.md §4).
  const binding = new Uint8Array([...alice.publicKey, ...bob.publicKey, ...baseKey]);
  const identityOf = (id: ReturnType<typeof t.generateIdentityKeyPair>) => ({
    identitySigningSeed: toHex(id.signing.privateKey), identityAgreementPrivate: toHex(id.agreement.privateKey), identityPublic: toHex(id.publicKey),
  });
  const run = (name: string, answerA: string, answerB: string) => {
    const ra = seeded(`sigilo-vectors-smp-${name}-initiator`), rb = seeded(`sigilo-vectors-smp-${name}-responder`);
    const a = t.SmpExchange.idle(), b = t.SmpExchange.idle();
    const question = 'Where did we first meet?';
    const pa = { ourIdentityKey: alice.publicKey, theirIdentityKey: bob.publicKey, sessionBinding: binding };
    const pb = { ourIdentityKey: bob.publicKey, theirIdentityKey: alice.publicKey, sessionBinding: binding };
    const smp1 = a.start({ crypto, random: ra }, pa, question, answerA);
    b.receive({ crypto, random: rb }, smp1);
    const smp2 = b.answer({ crypto, random: rb }, pb, answerB);
    const e3 = a.receive({ crypto, random: ra }, smp2);
    if (e3.type !== 'continue') throw new Error('smp vector: expected SMP3');
    const e4 = b.receive({ crypto, random: rb }, e3.message);
    if (e4.type !== 'result' || !e4.message) throw new Error('smp vector: expected SMP4');
    const e5 = a.receive({ crypto, random: ra }, e4.message);
    if (e5.type !== 'result') throw new Error('smp vector: expected a result');
    return {
      name, question, initiatorAnswer: answerA, responderAnswer: answerB,
      initiatorSecret: toHex(scalarLE(t.smpSecret(crypto, pa, question, answerA))),
      responderSecret: toHex(scalarLE(t.smpSecret(crypto, pb, question, answerB))),
      initiatorDraws: ra.draws, responderDraws: rb.draws,
      messages: { smp1: toHex(smp1), smp2: toHex(smp2), smp3: toHex(e3.message), smp4: toHex(e4.message) },
      responderResult: e4.result, initiatorResult: e5.result,
    };
  };
  write('smp.json', {
    description: 'SMP over ristretto255 (smp.md). The initiator (alice) asks, the responder (bob) answers. Secrets are 32-byte little-endian scalars; '
      + 'draws are every random value each side took, in order (16 bytes: the exchange id; 64 bytes: a scalar, reduced mod l). '
      + 'Messages are SmpMessage encodings (spec/sigilo/client/v1/smp.proto).',
    initiator: identityOf(alice),
    responder: identityOf(bob),
    sessionBinding: toHex(binding),
    runs: [run('match', 'The  LIBRARY ', 'the library'), run('mismatch', 'the library', 'the station')],
  });

  // Read receipts: bob reads alice's message and signs; the export file of the message with the receipt.
  const rr = seeded('sigilo-vectors-receipts');
  const aliceAccount = rr(16), bobAccount = rr(16), messageId = rr(16), attachmentDigest = rr(32);
  const conversation = { kind: 'direct' as const, id: t.directConversationId(crypto, aliceAccount, bobAccount) };
  const message = {
    messageId, timestamp: 1_767_225_600_000, senderAccountId: aliceAccount, senderIdentityKey: alice.publicKey,
    text: 'Contract signed — please confirm you read this.', attachmentDigests: [attachmentDigest],
  };
  const receipt = t.createSignedReadReceipt(crypto, { accountId: bobAccount, identity: bob }, conversation, message, 1_767_225_660_000);
  write('receipts.json', {
    description: 'Signed read receipt (receipts.md): message digest, signing payload, Ed25519 signature by the reader identity, the wire '
      + 'encoding (SignedReadReceipt) and the export file. Ed25519 is deterministic: no draws.',
    reader: { accountId: toHex(bobAccount), ...identityOf(bob) },
    sender: { accountId: toHex(aliceAccount), ...identityOf(alice) },
    conversation: { kind: conversation.kind, id: toHex(conversation.id) },
    message: { id: toHex(messageId), timestamp: message.timestamp, text: message.text, attachmentDigests: [toHex(attachmentDigest)] },
    digest: toHex(receipt.messageDigest),
    readAt: receipt.readAt,
    payload: toHex(t.readReceiptPayload(receipt)),
    signature: toHex(receipt.signature),
    encoded: toHex(t.encodeSignedReadReceipt(receipt)),
    exportFile: t.exportMessageReceipts(crypto, conversation, message, [receipt]),
  });
}

function scalarLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) { out[i] = Number(n & 0xffn); n >>= 8n; }
  return out;
}
