// Group messaging, sender side: Sigilo vs @signalapp/libsignal-client in one process and one run.
//
//   npm run bench:groups              (from the repository root: builds, installs bench/, runs this)
//   BENCH_SIZES=1000 BENCH_SIDES=sigilo node --cpu-prof --cpu-prof-dir=PROF bench/groups.mjs   (profile)
//
// For each size N (default 100 and 1,000) a sender writes to a group of N other members, one
// device each; everything is built in process with real keys, and the N accounts are also
// registered for real on a spawned Sigilo server (its own process, TLS, SQLite) so the upload
// is the real thing.
//   S  sender CPU time per group message (process.cpuUsage of this process, averaged): build the
//      DataMessage Content, pad it as the client pads, sender-key encrypt it, seal it for the N
//      members at once (sealMultiRecipient) and encode the MultiSealedSend ClientFrame (N
//      recipients, device ids, 16-byte access keys). Checked untimed: 3 random members and the
//      last one unseal and decrypt every message.
//      Peer: groupEncrypt with a sender key + sealedSenderMultiRecipientEncrypt to the same N.
//   B  the bytes of that ClientFrame, uploaded over the WebSocket to the real server from an
//      unauthenticated connection (sealed sends do not say who sends); the server must answer
//      SendResult and four online members must receive their Deliver and decrypt it. Printed next
//      to the target 2 x (ciphertext + N x 64), ciphertext = the sender-key message.
//   R  wall time for the sender to apply a removal, as the client does it (groups.md §6.2, §6.3):
//      sign the change, apply it to its group log, create a new sender key, and send ONE pairwise
//      message per member over the 1:1 Double Ratchet sessions: to each remaining member a
//      SenderKeyDistribution carrying the new entry and the new key (members hold the log, so
//      the entry alone), to the removed member a GroupUpdate with the entry; each encrypted,
//      sealed and encoded as the SealedSend frame that carries it. Sealing uses the sender's
//      cache of static agreements (SealedSenderCache), as the client does: R is timed with it
//      emptied first (a client that just started, as each `sigilo` command is), and again with it
//      warm (a long-running client that has written to the members before). Median of
//      BENCH_REMOVALS runs of each; each run removes one more member. Checked untimed: a remaining
//      member applies the entry and reads the new key and a new message, the removed member reads
//      its removal and cannot read the new message.
//      Peer: SenderKeyDistributionMessage.create + N-1 x sealedSenderEncryptMessage of it
//      (Signal's membership lives on its groups server, so there is no pairwise update to send).
//   For contrast, the pairwise fan-out (the Signal-Android issue 10644 situation): the same
//   message encrypted and sealed 1:1 for each of the N members, on both sides (Sigilo's figure
//   includes encoding the N SealedSend frames).
//
// Both sides keep their records as live objects in memory during the timed work (no
// serialization per message; libsignal's stores hand back cached objects, the peer's best case).
// Slices alternate (Sigilo, libsignal, libsignal, Sigilo, ...) so machine noise hits both alike.
//
// Env: BENCH_SIZES (comma list, default 100,1000), BENCH_MESSAGES (group messages timed per side;
//      default 200 for N < 1000, else 50), BENCH_REMOVALS (default 5), BENCH_FANOUTS (default 3),
//      BENCH_SIDES (sigilo,libsignal), BENCH_TMP (temp directory).
// Last line: `group 1000 members: send S ms upload B bytes removal R ms`
// Figures never fail the run; a wrong decryption or a refused upload does.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { createRequire } from 'node:module';
import { randomBytes, randomInt } from 'node:crypto';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';

import { spawnServer } from './support/spawn-server.mjs';
import { listEnv, numberEnv } from './support/env.mjs';
import { FrameConn, authenticate, describeError, getJson, pool, registerAccount } from './support/group-net.mjs';

const SIZES = listEnv('BENCH_SIZES', ['100', '1000']).map(Number);
const SIDES = listEnv('BENCH_SIDES', ['sigilo', 'libsignal']);
const REMOVALS = Math.max(1, Math.round(numberEnv('BENCH_REMOVALS', 5)));
const FANOUTS = Math.max(1, Math.round(numberEnv('BENCH_FANOUTS', 3)));
const SLICES = 5;
const TEXT = 'Convoy 7 leaves the north depot at 06:40; bring the signed manifests and the spare radio. — ops';
const ONLINE_CHECKERS = 4;

const log = (line) => process.stderr.write(`${line}\n`);

/**
 * How fast this machine does X25519 right now (node:crypto, keys imported beforehand: the floor
 * of one agreement per recipient), so S can be read against the machine: agreements per second.
 */
async function x25519Rate() {
  const { generateKeyPairSync, diffieHellman } = await import('node:crypto');
  const ours = generateKeyPairSync('x25519').privateKey;
  const peers = Array.from({ length: 500 }, () => generateKeyPairSync('x25519').publicKey);
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    for (const publicKey of peers) diffieHellman({ privateKey: ours, publicKey });
    best = Math.max(best, peers.length / (cpuMs(c0) / 1000));
  }
  return best;
}
const cpuMs = (since) => { const c = process.cpuUsage(since); return (c.user + c.system) / 1000; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

// ------------------------------------------------------------------------------------ loading

const P = await import('../packages/protocol/dist/index.js');
const { nodeCrypto, systemRandom } = await import('../packages/protocol/dist/crypto/node.js');
const { ClientFrameSchema } = await import('../packages/protocol/dist/gen/sigilo/server/v1/frames_pb.js');
const { ContentSchema } = await import('../packages/protocol/dist/gen/sigilo/client/v1/content_pb.js');
const { pad, unpad } = await import('../packages/client/dist/padding.js');
const ctx = { crypto: nodeCrypto, random: systemRandom };

const GROUP_API = ['createSenderKey', 'processSenderKeyDistribution', 'senderKeyEncrypt', 'senderKeyDecrypt', 'createGroup', 'signGroupChange',
  'GroupLog', 'sealMultiRecipient', 'unsealMultiRecipient', 'SEALED_CONTENT_SENDER_KEY'];
const missing = GROUP_API.filter((name) => P[name] === undefined);
if (SIDES.includes('sigilo') && missing.length) {
  throw new Error(`@sigilo/protocol (packages/protocol/dist) lacks the group API (${missing.join(', ')}): run \`npm run build\` on a tree that has packages/protocol/src/group`);
}

let L;
if (SIDES.includes('libsignal')) L = await import('./support/libsignal-group.mjs');

// ------------------------------------------------------------------------------------ Sigilo side

/** A member: identity, registered account, and the state a member device keeps for the group. */
function sigiloMember(identity, account) {
  return { identity, account, session: undefined, senderKey: undefined, online: undefined, onDeliver: undefined };
}

/**
 * Sets up, untimed: a 1:1 session between the sender and every member (PQXDH bundle, prekey
 * message, one reply, so the sender's sessions are established ratchets), the group with the N
 * members, and the sender's sender key, whose distribution every member processes.
 */
function sigiloGroup(sender, members, certificate, trusted) {
  const now = Date.now();
  // The client keeps its identity's private keys prepared in the provider (client.ts #retain).
  nodeCrypto.retainPrivateKey(sender.identity.agreement.privateKey, 'x25519');
  nodeCrypto.retainPrivateKey(sender.identity.signing.privateKey, 'ed25519');
  const sessions = new Array(members.length);
  const hello = new Uint8Array(64).fill(7);
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const signed = P.generateSignedPreKey(ctx, m.identity, 1, now);
    const [oneTime] = P.generateOneTimePreKeys(ctx, 1, 1);
    const pq = P.generatePqPreKey(ctx, m.identity, 1, false, now);
    const record = P.initiateSession(ctx, sender.identity, P.makePreKeyBundle(m.identity, 1, signed, pq, oneTime));
    const first = P.encryptMessage(ctx, record, hello);
    const got = P.decryptPreKeyMessage(ctx, undefined, m.identity, { signedPreKey: signed, oneTimePreKey: oneTime, pqPreKey: pq }, first.message);
    if (!equal(got.plaintext, hello)) throw new Error('sigilo: session setup failed');
    const reply = P.encryptMessage(ctx, got.record, hello);
    m.session = reply.record;
    const back = P.decryptMessage(ctx, first.record, reply.message);
    if (!equal(back.plaintext, hello)) throw new Error('sigilo: session reply failed');
    sessions[i] = back.record;
  }
  const author = { accountId: sender.account.accountId, identity: sender.identity };
  const { log: groupLog } = P.createGroup(ctx, author, 'bench group', members.map((m) => ({ accountId: m.account.accountId, identityKey: m.identity.publicKey })), now);
  const group = {
    sender, members, sessions, certificate, trusted, log: groupLog, author,
    groupId: groupLog.state.groupId,
    senderKey: undefined, requestId: 1n,
    // The client's SealedSenderCache (its static agreements are what sealSender reuses).
    sealCache: { staticSecrets: new Map(), certificates: new Map() },
  };
  newSigiloSenderKey(group, members);
  return group;
}

/** A new sender key for the sender; `members` process its distribution (untimed). */
function newSigiloSenderKey(group, members) {
  const key = P.createSenderKey(ctx);
  group.senderKey = key.record;
  for (const m of members) m.senderKey = P.processSenderKeyDistribution(ctx, key.distribution).record;
  return key;
}

/** Content of one group text, padded (the client's DataMessage for a group). */
function groupContent(group, text) {
  return pad(toBinary(ContentSchema, create(ContentSchema, {
    body: { case: 'data', value: { messageId: ctx.random(16), timestamp: BigInt(Date.now()), text, groupId: group.groupId } },
    senderAccessKey: group.sender.account.accessKey,
  })));
}

/** The timed work of one group message; returns the frame bytes and what the checks need. */
function sigiloSend(group, requestId) {
  const padded = groupContent(group, TEXT);
  const encrypted = P.senderKeyEncrypt(ctx, group.senderKey, padded);
  group.senderKey = encrypted.record;
  const { shared, headers } = P.sealMultiRecipient(ctx, {
    senderCertificate: group.certificate,
    contentType: P.SEALED_CONTENT_SENDER_KEY,
    content: encrypted.message,
    recipientIdentityKeys: group.members.map((m) => m.identity.publicKey),
  });
  const members = group.members;
  const recipients = new Array(members.length);
  for (let i = 0; i < members.length; i++) {
    const a = members[i].account;
    recipients[i] = { accountId: a.accountId, deviceIds: [a.deviceId], header: headers[i], accessKey: a.accessKey };
  }
  const messageId = ctx.random(16);
  const frame = toBinary(ClientFrameSchema, create(ClientFrameSchema, {
    requestId,
    body: { case: 'multiSealedSend', value: { messageId, sharedPayload: shared, recipients } },
  }));
  return { frame, messageId, padded, shared, headers, message: encrypted.message, ciphertext: encrypted.message.length };
}

/** Untimed: member `i` opens its copy (header + shared payload) and decrypts it with its sender key. */
function sigiloOpen(group, i, header, shared, now) {
  const m = group.members[i];
  const sealed = P.unsealMultiRecipient(ctx, m.identity, header, shared, group.trusted, now);
  if (!equal(sealed.sender.identityKey, group.sender.identity.publicKey)) throw new Error('sigilo: the sealed sender is not the sender');
  if (sealed.contentType !== P.SEALED_CONTENT_SENDER_KEY) throw new Error(`sigilo: sealed content type ${sealed.contentType}`);
  const out = P.senderKeyDecrypt(ctx, m.senderKey, sealed.content);
  m.senderKey = out.record;
  return out.plaintext;
}

function sigiloCheck(group, sent, indexes) {
  const now = Date.now();
  for (const i of indexes) {
    if (!equal(sigiloOpen(group, i, sent.headers[i], sent.shared, now), sent.padded)) throw new Error(`sigilo: member ${i} decrypted something else`);
  }
}

/** Encrypts and seals `padded` for member `i` over the 1:1 session; returns the SealedSend frame. */
function sealPairwise(group, i, padded) {
  const m = group.members[i];
  const out = P.encryptMessage(ctx, group.sessions[i], padded);
  group.sessions[i] = out.record;
  const type = P.messageType(out.message) === 'prekey' ? P.SEALED_CONTENT_PREKEY : P.SEALED_CONTENT_RATCHET;
  const envelope = P.sealSender(ctx, group.sender.identity, m.identity.publicKey, group.certificate, type, out.message, group.sealCache);
  return toBinary(ClientFrameSchema, create(ClientFrameSchema, {
    requestId: group.requestId++,
    body: { case: 'sealedSend', value: { recipientAccountId: m.account.accountId, messageId: ctx.random(16), messages: [{ deviceId: m.account.deviceId, content: envelope }], accessKey: m.account.accessKey } },
  }));
}

/** The pairwise fan-out: the group message sent 1:1 to every member instead. */
function sigiloFanOut(group) {
  const padded = groupContent(group, TEXT);
  let bytes = 0;
  for (let i = 0; i < group.members.length; i++) bytes += sealPairwise(group, i, padded).length;
  return bytes;
}

/**
 * The timed removal of member `index`, as the client does it (client/src/groups.ts #announce, sent
 * by client.ts #deliverContents): sign the change and apply it to the log; make the new sender key;
 * encode the two Contents once (the key with the new entry for the remaining members, the entry
 * alone for the removed one), then for each member pad, ratchet-encrypt, seal and encode its
 * SealedSend frame. The frames for `watch` and for the removed member are kept for the check.
 */
function sigiloRemoval(group, index, watch) {
  const removed = group.members[index];
  const entry = P.signGroupChange(ctx, group.log.state, group.author, { type: 'remove', accountIds: [removed.account.accountId] }, Date.now());
  if (group.log.add(entry) !== 'applied') throw new Error('sigilo: the removal was not applied to the log');
  const key = P.createSenderKey(ctx);
  group.senderKey = key.record;
  const senderAccessKey = group.sender.account.accessKey;
  const keyContent = toBinary(ContentSchema, create(ContentSchema, {
    body: { case: 'senderKey', value: { groupId: group.groupId, distribution: key.distribution, entries: [entry] } }, senderAccessKey,
  }));
  const updateContent = toBinary(ContentSchema, create(ContentSchema, { body: { case: 'groupUpdate', value: { groupId: group.groupId, entries: [entry] } }, senderAccessKey }));
  const watched = {};
  let bytes = 0;
  for (let i = 0; i < group.members.length; i++) {
    const frame = sealPairwise(group, i, pad(i === index ? updateContent : keyContent));
    bytes += frame.length;
    if (i === index) watched.removed = frame;
    else if (group.members[i] === watch) watched.member = frame;
  }
  group.members.splice(index, 1);
  group.sessions.splice(index, 1);
  return { removed, bytes, watched, padded: pad(keyContent).length, frames: group.members.length + 1 };
}

/** Untimed: a member opens one pairwise frame (unseal, check the sender, ratchet decrypt) and returns its Content. */
function openPairwise(group, m, frameBytes) {
  const frame = fromBinary(ClientFrameSchema, frameBytes);
  if (frame.body.case !== 'sealedSend' || !equal(frame.body.value.recipientAccountId, m.account.accountId)) throw new Error('sigilo: pairwise frame for someone else');
  const opened = P.unsealSender(ctx, m.identity, frame.body.value.messages[0].content, group.trusted, Date.now());
  const plain = P.decryptMessage(ctx, m.session, opened.content);
  P.assertSenderMatchesSession(opened.sender, plain.remoteIdentity);
  m.session = plain.record;
  return fromBinary(ContentSchema, unpad(plain.plaintext));
}

/**
 * Untimed, after a removal: the watched member gets one message, the new entry with the new key,
 * and the log it holds (`chainBefore`) plus the entry no longer lists the removed account; the
 * removed member gets the entry alone. Every remaining member takes the key (as they would); a new
 * group message decrypts for the watched member, and the removed member cannot open it.
 */
function sigiloRemovalCheck(group, removal, watch, chainBefore) {
  const keyFrame = openPairwise(group, watch, removal.watched.member);
  if (keyFrame.body.case !== 'senderKey' || keyFrame.body.value.entries.length !== 1) throw new Error('sigilo: the watched member did not get the entry with the key');
  const state = P.GroupLog.open(ctx, [...chainBefore, ...keyFrame.body.value.entries]).state;
  if (state.members.some((x) => equal(x.accountId, removal.removed.account.accountId)) || state.members.length !== group.members.length + 1) {
    throw new Error('sigilo: the entry does not remove the member');
  }
  const removedFrame = fromBinary(ClientFrameSchema, removal.watched.removed);
  const unsealed = P.unsealSender(ctx, removal.removed.identity, removedFrame.body.value.messages[0].content, group.trusted, Date.now());
  const plain = P.decryptMessage(ctx, removal.removed.session, unsealed.content);
  removal.removed.session = plain.record;
  const update = fromBinary(ContentSchema, unpad(plain.plaintext));
  if (update.body.case !== 'groupUpdate' || update.body.value.entries.length !== 1) throw new Error('sigilo: the removed member did not get the entry alone');
  const distribution = keyFrame.body.value.distribution;
  for (const m of group.members) m.senderKey = P.processSenderKeyDistribution(ctx, distribution).record;
  const sent = sigiloSend(group, 0n);
  sigiloCheck(group, sent, [group.members.indexOf(watch)]);
  let opened = false;
  try {
    P.unsealMultiRecipient(ctx, removal.removed.identity, sent.headers[0], sent.shared, group.trusted, Date.now());
    opened = true;
  } catch { /* expected: the removed member has no header of its own */ }
  if (opened) throw new Error('sigilo: the removed member opened a message sent after its removal');
  try {
    P.senderKeyDecrypt(ctx, removal.removed.senderKey, sent.message);
    opened = true;
  } catch { /* expected: its sender key is the old one */ }
  if (opened) throw new Error('sigilo: the removed member\'s old sender key decrypts the new key\'s messages');
}

// ------------------------------------------------------------------------------------ harness

/** Interleaved CPU-time slices of `total` group messages per side; returns ms per message per side. */
async function measureSends(sides, total) {
  const per = Math.max(1, Math.round(total / SLICES));
  for (const s of sides) { s.cpu = 0; s.wall = 0; s.count = 0; }
  for (const s of sides) await s.slice(Math.min(3, per)); // warm-up
  for (let r = 0; r < SLICES; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    const last = {};
    for (const s of order) {
      const { cpu, wall } = await s.slice(per);
      s.cpu += cpu; s.wall += wall; s.count += per;
      last[s.name] = cpu / per;
    }
    log(`    send slice ${r + 1}/${SLICES} (${per} messages each): ${sides.map((s) => `${s.name} ${f1(last[s.name])} ms`).join(', ')} CPU per message`);
  }
  return Object.fromEntries(sides.map((s) => [s.name, { cpu: s.cpu / s.count, wall: s.wall / s.count }]));
}

function checkIndexes(n) {
  const set = new Set([n - 1]);
  while (set.size < Math.min(4, n)) set.add(randomInt(n));
  return [...set];
}

async function benchSize(n, net) {
  log(`group of ${n} members + the sender:`);
  const out = { n };
  const members = net.members.slice(0, n);
  const groupIdBytes = new Uint8Array(randomBytes(32));
  const sides = [];
  let sig;
  let lib;
  if (SIDES.includes('sigilo')) {
    const t0 = performance.now();
    sig = sigiloGroup(net.sender, members, net.certificate, net.trusted);
    log(`  sigilo: ${n} sessions, group and sender key set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    sides.push({
      name: 'sigilo',
      async slice(k) {
        const sent = new Array(k);
        const c0 = process.cpuUsage();
        const t = performance.now();
        for (let i = 0; i < k; i++) sent[i] = sigiloSend(sig, sig.requestId++);
        const cpu = cpuMs(c0);
        const wall = performance.now() - t;
        for (const s of sent) sigiloCheck(sig, s, checkIndexes(n));
        return { cpu, wall };
      },
    });
  }
  if (SIDES.includes('libsignal')) {
    const t0 = performance.now();
    lib = await L.libsignalGroup(n, groupIdBytes, (done) => log(`  libsignal: ${done}/${n} sessions`));
    log(`  libsignal: ${n} sessions and sender key set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const padded = sig ? groupContent(sig, TEXT) : pad(new TextEncoder().encode(TEXT));
    sides.push({
      name: 'libsignal',
      async slice(k) {
        const blobs = new Array(k);
        const c0 = process.cpuUsage();
        const t = performance.now();
        for (let i = 0; i < k; i++) blobs[i] = await L.libsignalSend(lib, padded);
        const cpu = cpuMs(c0);
        const wall = performance.now() - t;
        for (const b of blobs) await L.libsignalCheck(lib, b, padded, checkIndexes(n));
        out.libsignalBlob = blobs[k - 1].length;
        return { cpu, wall };
      },
    });
  }

  const messages = Math.round(numberEnv('BENCH_MESSAGES', n >= 1000 ? 50 : 200));
  log(`  send: ${messages} messages per side in ${SLICES} interleaved slices (CPU time)`);
  out.send = await measureSends(sides, messages);

  if (sig) out.upload = await upload(sig, net);

  // Pairwise fan-out, for contrast (CPU time of one fan-out, median).
  const fan = { sigilo: [], libsignal: [] };
  const libPadded = sig ? groupContent(sig, TEXT) : pad(new TextEncoder().encode(TEXT));
  for (let r = 0; r < FANOUTS; r++) {
    if (sig) { const c0 = process.cpuUsage(); sigiloFanOut(sig); fan.sigilo.push(cpuMs(c0)); }
    if (lib) { const c0 = process.cpuUsage(); await L.libsignalFanOut(lib, libPadded); fan.libsignal.push(cpuMs(c0)); }
  }
  out.fanOut = { sigilo: sig ? median(fan.sigilo) : NaN, libsignal: lib ? median(fan.libsignal) : NaN };
  log(`  pairwise fan-out: sigilo ${f1(out.fanOut.sigilo)} ms, libsignal ${f1(out.fanOut.libsignal)} ms (CPU, median of ${FANOUTS})`);

  // Removals (wall time, median), alternating sides; each removes a random remaining member.
  // Sigilo runs twice per round: with its static-agreement cache emptied first (cold) and warm.
  const rem = { cold: [], warm: [], libsignal: [] };
  const remCpu = { cold: [], warm: [], libsignal: [] };
  const runSigilo = (cold) => {
    const index = randomInt(sig.members.length);
    let w = randomInt(sig.members.length - 1);
    if (w >= index) w++;
    const watch = sig.members[w];
    const chainBefore = sig.log.chain();
    if (cold) sig.sealCache.staticSecrets.clear();
    const c0 = process.cpuUsage();
    const t = performance.now();
    const removal = sigiloRemoval(sig, index, watch);
    rem[cold ? 'cold' : 'warm'].push(performance.now() - t);
    remCpu[cold ? 'cold' : 'warm'].push(cpuMs(c0));
    sigiloRemovalCheck(sig, removal, watch, chainBefore);
    out.removalDetail = { frames: removal.frames, bytes: removal.bytes, padded: removal.padded };
  };
  for (let r = 0; r < REMOVALS; r++) {
    const order = r % 2 === 0 ? ['cold', 'libsignal', 'warm'] : ['warm', 'libsignal', 'cold'];
    for (const side of order) {
      if (side === 'cold' && sig) runSigilo(true);
      else if (side === 'warm' && sig) runSigilo(false);
      else if (side === 'libsignal' && lib) {
        const index = randomInt(lib.members.length);
        const c0 = process.cpuUsage();
        const t = performance.now();
        const removal = await L.libsignalRemoval(lib, index, pad);
        rem.libsignal.push(performance.now() - t);
        remCpu.libsignal.push(cpuMs(c0));
        await L.libsignalRemovalDone(lib, removal);
      }
    }
    log(`    removal ${r + 1}/${REMOVALS} (wall / CPU): sigilo ${f1(rem.cold[r])} / ${f1(remCpu.cold[r])} ms `
      + `(cache warm: ${f1(rem.warm[r])} / ${f1(remCpu.warm[r])} ms), libsignal ${f1(rem.libsignal[r])} / ${f1(remCpu.libsignal[r])} ms`);
  }
  const med = (xs, on) => (on ? median(xs) : NaN);
  out.removal = { sigilo: med(rem.cold, sig), warm: med(rem.warm, sig), libsignal: med(rem.libsignal, lib) };
  out.removalCpu = { sigilo: med(remCpu.cold, sig), warm: med(remCpu.warm, sig), libsignal: med(remCpu.libsignal, lib) };
  return out;
}

/**
 * B: one group message uploaded for real from an unauthenticated connection; the server must
 * answer SendResult and ONLINE_CHECKERS members (online before the send) must decrypt it.
 */
async function upload(group, net) {
  const n = group.members.length;
  const checkers = checkIndexes(n).slice(0, ONLINE_CHECKERS);
  const conn = await FrameConn.open(net.target);
  const requestId = conn.nextRequestId();
  const sent = sigiloSend(group, requestId);
  const arrived = [];
  for (const i of checkers) {
    const m = group.members[i];
    arrived.push(new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`member ${i} got no Deliver of the group message within 20 s`)), 20_000);
      m.onDeliver = (deliver) => {
        if (!equal(deliver.messageId, sent.messageId)) return;
        clearTimeout(timer);
        resolve({ i, deliver });
      };
    }));
    m.online ??= await authenticate(net.target, ctx, m.account, (frame) => {
      if (frame.body.case !== 'deliver') return;
      m.online?.post({ case: 'ack', value: { serverIds: [frame.body.value.serverId] } });
      m.onDeliver?.(frame.body.value);
    });
  }
  try {
    const before = conn.ws.socket.bytesWritten;
    const t0 = performance.now();
    const answer = await conn.sendEncoded(requestId, sent.frame);
    const ms = performance.now() - t0;
    const wire = conn.ws.socket.bytesWritten - before;
    if (answer.body.case === 'error') throw new Error(`the server refused the group message: ${describeError(answer.body.value)}`);
    if (answer.body.case !== 'sendResult') throw new Error(`unexpected answer to MultiSealedSend: ${answer.body.case}`);
    const deliveries = await Promise.all(arrived);
    const now = Date.now();
    for (const { i, deliver } of deliveries) {
      if (!equal(deliver.content, sent.shared)) throw new Error(`member ${i}: delivered payload differs from the uploaded one`);
      const plaintext = sigiloOpen(group, i, deliver.recipientHeader, deliver.content, Number(deliver.serverTimestamp) || now);
      const content = fromBinary(ContentSchema, unpad(plaintext));
      if (content.body.case !== 'data' || content.body.value.text !== TEXT) throw new Error(`member ${i}: decrypted content is not the text sent`);
      net.received += 1;
    }
    log(`  upload: ${sent.frame.length} B frame (${wire} B written to the TLS socket with the WebSocket framing), SendResult in ${f1(ms)} ms, `
      + `${deliveries.length} online members received and decrypted it`);
    return { frame: sent.frame.length, wire, ciphertext: sent.ciphertext, shared: sent.shared.length };
  } finally {
    conn.close();
  }
}

// ------------------------------------------------------------------------------------ main

async function main() {
  const require = createRequire(import.meta.url);
  const libVersion = SIDES.includes('libsignal') ? require('@signalapp/libsignal-client/package.json').version : 'not run';
  console.log(`groups bench: node ${process.version}, @signalapp/libsignal-client ${libVersion}, sizes ${SIZES.join(', ')} (members besides the sender, one device each), `
    + `a ${TEXT.length}-character text`);
  const maxN = Math.max(...SIZES);
  const root = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'sigilo-groups-'));
  const server = await spawnServer(join(root, 'server'));
  const net = { received: 0 };
  try {
    const cert = readFileSync(join(root, 'server', 'tls', 'self-signed.crt'));
    net.target = { port: Number(new URL(server.url).port), cert, secureContext: createSecureContext({ ca: cert }) };
    const info = await getJson(net.target, '/v1/server-info');
    net.trusted = info.certificateKeys.map((k) => ({ keyId: k.keyId, publicKey: new Uint8Array(Buffer.from(k.publicKey, 'base64')) }));

    // Setup: maxN + 1 accounts registered for real, several connections at once.
    const identities = Array.from({ length: maxN + 1 }, () => P.generateIdentityKeyPair(ctx));
    const invites = [];
    for (let left = maxN + 1; left > 0; left -= 10_000) invites.push(...await server.invites(Math.min(left, 10_000)));
    const t0 = performance.now();
    let done = 0;
    const accounts = await pool(invites, 16, async (code, i) => {
      const account = await registerAccount(net.target, ctx, identities[i], code);
      if (++done % 250 === 0) log(`  registered ${done}/${maxN + 1} accounts`);
      return account;
    });
    const regSeconds = (performance.now() - t0) / 1000;
    console.log(`  setup: ${maxN + 1} accounts registered on the real server in ${regSeconds.toFixed(1)} s (16 connections at once)`);
    net.sender = sigiloMember(identities[0], accounts[0]);
    net.members = accounts.slice(1).map((a, i) => sigiloMember(identities[i + 1], a));
    const senderConn = await authenticate(net.target, ctx, net.sender.account);
    const certFrame = await senderConn.request({ case: 'getSenderCertificate', value: {} });
    senderConn.close();
    net.certificate = certFrame.body.value.certificate;

    const before = await x25519Rate();
    const results = [];
    for (const n of SIZES) {
      const r = await benchSize(n, net);
      results.push(r);
      for (const m of net.members.slice(0, n)) { m.online?.close(); m.online = undefined; }
      report(r);
    }
    const after = await x25519Rate();
    console.log(`  machine: node:crypto X25519 ${Math.round(before)}/s before and ${Math.round(after)}/s after (CPU time, imported keys; one agreement per member is the floor of S)`);
    const last = results[results.length - 1];
    const ratio = last.send.libsignal && last.send.sigilo ? last.send.libsignal.cpu / last.send.sigilo.cpu : NaN;
    console.log(`vs libsignal ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}x`);
    console.log(summary(last));
  } finally {
    for (const m of net.members ?? []) m.online?.close();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function report(r) {
  const s = r.send.sigilo;
  const l = r.send.libsignal;
  console.log(`  N=${r.n} send (CPU per message): sigilo ${f1(s?.cpu)} ms (wall ${f1(s?.wall)}), libsignal ${f1(l?.cpu)} ms (wall ${f1(l?.wall)})`
    + (s && l ? `, ratio ${(l.cpu / s.cpu).toFixed(2)}x` : ''));
  if (r.upload) {
    const target = 2 * (r.upload.ciphertext + r.n * 64);
    console.log(`  N=${r.n} upload: ${r.upload.frame} B frame (shared payload ${r.upload.shared} B, sender-key ciphertext ${r.upload.ciphertext} B, `
      + `${f1((r.upload.frame - r.upload.shared) / r.n)} B per member); target 2 x (${r.upload.ciphertext} + ${r.n} x 64) = ${target} B`
      + `${r.libsignalBlob ? `; libsignal's multi-recipient blob ${r.libsignalBlob} B` : ''}`);
  }
  console.log(`  N=${r.n} pairwise fan-out instead (${r.n} x 1:1 encrypt + seal): sigilo ${f1(r.fanOut.sigilo)} ms, libsignal ${f1(r.fanOut.libsignal)} ms (CPU)`);
  console.log(`  N=${r.n} removal (wall, median of ${REMOVALS}, sealing cache emptied first): sigilo ${f1(r.removal.sigilo)} ms, libsignal ${f1(r.removal.libsignal)} ms`
    + (Number.isFinite(r.removal.sigilo) && Number.isFinite(r.removal.libsignal) ? `, ratio ${(r.removal.libsignal / r.removal.sigilo).toFixed(2)}x` : '')
    + `; CPU: sigilo ${f1(r.removalCpu.sigilo)} ms, libsignal ${f1(r.removalCpu.libsignal)} ms`);
  if (r.removalDetail) {
    const d = r.removalDetail;
    console.log(`  N=${r.n} removal detail: ${d.frames} pairwise frames (one per member), ${(d.bytes / 1e6).toFixed(2)} MB to upload; the entry with the key is ${d.padded} B padded; `
      + `with the static-agreement cache warm: ${f1(r.removal.warm)} ms (CPU ${f1(r.removalCpu.warm)} ms)`);
  }
  if (r !== undefined && SIZES[SIZES.length - 1] !== r.n) console.log(summary(r));
}

function summary(r) {
  return `group ${r.n} members: send ${f1(r.send.sigilo?.cpu)} ms upload ${r.upload ? r.upload.frame : 'n/a'} bytes removal ${f1(r.removal.sigilo)} ms`;
}

await main();
