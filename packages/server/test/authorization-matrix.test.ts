/**
 * The authorisation matrix (spec/assurance.md §2): for every server operation
 * — each ClientFrame body case and each HTTP endpoint — who may do it, and one
 * test per cell. Real server over TLS and WebSocket, SQLite.
 *
 * Principals, all relative to device 1 of account A (the operation's target):
 *   self          device A1 itself, on its authenticated connection
 *   sibling       device A2, another device of the same account
 *   otherAccount  device B1 of account B
 *   anonymous     a fresh, unauthenticated connection
 *   revokedDevice device A3, revoked by the administrator: its connection was
 *                 closed; on a new connection it sends Authenticate and, without
 *                 waiting, the operation
 *   removedAccount device C1 of account C, removed by the administrator: likewise
 *
 * The table is the test: a ClientFrame body case without a row fails the first
 * test, so a new frame cannot be added without deciding who may send it. Add a
 * row (its `build` and the four expectations; the two removed principals are
 * checked the same way for every row) when you add a frame.
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { certificationRequestPayload, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey, usernameHash } from '@sigilo/protocol';
import { ClientFrameSchema, ErrorCode, type ServerFrame } from '@sigilo/protocol/gen/sigilo/server/v1/frames_pb';
import { createECDH, randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPayload } from '../src/auth.js';
import { IdentityCaDirectory } from '../src/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { TestClient, ctx, messageId, newDevice, type Device } from './support/test-client.js';
import { nodeCrypto } from '@sigilo/protocol/node';

type Body = MessageInitShape<typeof ClientFrameSchema>['body'];
type Case = NonNullable<ServerFrame['body']['case']>;
type Code = keyof typeof ErrorCode;

const LIVE = ['self', 'sibling', 'otherAccount', 'anonymous'] as const;
type Live = (typeof LIVE)[number];
const REMOVED = ['revokedDevice', 'removedAccount'] as const;
type Principal = Live | (typeof REMOVED)[number];

/** What a cell expects: a reply of this case, or an Error with this code. */
type Expect = { reply: Case } | { error: Code };
const reply = (c: Case): Expect => ({ reply: c });
const error = (c: Code): Expect => ({ error: c });

interface Actor {
  readonly principal: Principal;
  readonly client: TestClient;
  readonly device: Device;
}

interface World {
  readonly t: TestServer;
  readonly a1: Actor;
  readonly a2: Actor;
  readonly b1: Actor;
  readonly accountA: Uint8Array;
  readonly accessKeyA: Uint8Array;
  /** Device ids of account A now. */
  devicesOfA(): Promise<number[]>;
}

interface Row {
  /** The ClientFrame body case this row covers (several rows may cover one case). */
  readonly op: NonNullable<NonNullable<Body>['case']>;
  readonly what: string;
  /** The frame the actor sends (may prepare state first: a queued message, a listener). */
  build(w: World, actor: Actor): Promise<Body> | Body;
  readonly expect: Readonly<Record<Live, Expect>>;
  /** Checks after the reply, e.g. that what another principal did left A1's data alone. */
  verify?(w: World, actor: Actor, frame: ServerFrame): Promise<void>;
}

const NOT_AUTH = error('NOT_AUTHENTICATED');
const ALREADY = error('ALREADY_AUTHENTICATED');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function preKeyUpload(device: Device): Body {
  const now = Date.now();
  const spk = generateSignedPreKey(ctx, device.identity, 7, now);
  const lr = generatePqPreKey(ctx, device.identity, 1_000_007, true, now);
  return {
    case: 'uploadPreKeys',
    value: {
      signedPreKey: { id: spk.id, publicKey: spk.keyPair.publicKey, signature: spk.signature },
      oneTimePreKeys: generateOneTimePreKeys(ctx, 500, 3).map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })),
      pqPreKeys: [],
      lastResortPqPreKey: { id: lr.id, publicKey: lr.keyPair.publicKey, signature: lr.signature, lastResort: true },
    },
  };
}

async function preKeyCount(c: TestClient): Promise<number> {
  const f = await c.expectOk({ case: 'getPreKeyCount', value: {} }, 'preKeyCount');
  return f.oneTimePreKeys;
}

/** A device linked to account A on a connection of its own (then authenticated there). */
async function linkToA(w: World): Promise<Actor> {
  const c = await w.t.connect();
  const d = newDevice(w.a1.device.identity);
  const f = await c.link(d, w.accountA);
  if (f.body.case !== 'registered') throw new Error(`link failed: ${f.body.case}`);
  return { principal: 'self', client: c, device: d };
}

/** Queues a message for A1 and returns its server id (read from A1's queue in storage). */
async function queueForA1(w: World): Promise<bigint> {
  const ids = await w.devicesOfA();
  const before = new Set((await w.t.server.storage.fetchQueue(w.accountA, 1, 0, 1000)).map((m) => m.serverId));
  const f = await w.b1.client.sendTo(w.accountA, ids, () => randomBytes(40));
  expect(f.body.case).toBe('sendResult');
  const after = await w.t.server.storage.fetchQueue(w.accountA, 1, 0, 1000);
  const added = after.find((m) => !before.has(m.serverId));
  if (!added) throw new Error('the message for A1 was not queued');
  return BigInt(added.serverId);
}

const rows: readonly Row[] = [
  {
    op: 'register', what: 'register a new account (with a valid invite)',
    async build(w, actor) {
      const { code } = await w.t.server.admin.createInvite();
      const d = newDevice();
      const sign = nodeCrypto.ed25519Sign;
      const { registerDevicePayload, registerIdentityPayload } = await import('../src/auth.js');
      return {
        case: 'register',
        value: {
          inviteCode: code, identityKey: d.identity.publicKey, deviceKey: d.deviceKey.publicKey,
          identitySignature: sign(d.identity.signing.privateKey, registerIdentityPayload(actor.client.nonce, d.deviceKey.publicKey)),
          deviceSignature: sign(d.deviceKey.privateKey, registerDevicePayload(actor.client.nonce, d.identity.publicKey)),
        },
      };
    },
    expect: { self: ALREADY, sibling: ALREADY, otherAccount: ALREADY, anonymous: reply('registered') },
  },
  {
    op: 'linkDevice', what: "link a device to account A, signed with the actor's own identity key",
    async build(w, actor) {
      const d = newDevice(actor.device.identity);
      const { linkDevicePayload, linkIdentityPayload } = await import('../src/auth.js');
      const sign = nodeCrypto.ed25519Sign;
      return {
        case: 'linkDevice',
        value: {
          accountId: w.accountA, deviceKey: d.deviceKey.publicKey,
          identitySignature: sign(d.identity.signing.privateKey, linkIdentityPayload(actor.client.nonce, w.accountA, d.deviceKey.publicKey)),
          deviceSignature: sign(d.deviceKey.privateKey, linkDevicePayload(actor.client.nonce, w.accountA)),
        },
      };
    },
    // The anonymous actor holds no key of A (a fresh identity): refused.
    expect: { self: ALREADY, sibling: ALREADY, otherAccount: ALREADY, anonymous: error('AUTH_FAILED') },
  },
  {
    op: 'authenticate', what: "authenticate as A1, signed with the actor's own device key",
    build(w, actor) {
      return {
        case: 'authenticate',
        value: { accountId: w.accountA, deviceId: 1, signature: nodeCrypto.ed25519Sign(actor.device.deviceKey.privateKey, authPayload(actor.client.nonce, w.accountA, 1)) },
      };
    },
    expect: { self: ALREADY, sibling: ALREADY, otherAccount: ALREADY, anonymous: error('AUTH_FAILED') },
  },
  {
    op: 'uploadPreKeys', what: "upload prekeys (always for the sender's own device)",
    async build(w, actor) {
      countBefore = await preKeyCount(w.a1.client);
      return preKeyUpload(actor.device);
    },
    expect: { self: reply('preKeyCount'), sibling: reply('preKeyCount'), otherAccount: reply('preKeyCount'), anonymous: NOT_AUTH },
    async verify(w, actor) {
      // Another device's upload never lands on A1: A1's count moves only when A1 uploads.
      const n = await preKeyCount(w.a1.client);
      if (actor.principal === 'self') expect(n).toBeGreaterThan(countBefore);
      else expect(n).toBe(countBefore);
    },
  },
  {
    op: 'getPreKeyCount', what: "read the sender's own prekey count",
    build: () => ({ case: 'getPreKeyCount', value: {} }),
    expect: { self: reply('preKeyCount'), sibling: reply('preKeyCount'), otherAccount: reply('preKeyCount'), anonymous: NOT_AUTH },
  },
  {
    op: 'fetchBundles', what: "fetch account A's prekey bundles",
    build: (w) => ({ case: 'fetchBundles', value: { accountId: w.accountA, deviceIds: [1] } }),
    expect: { self: reply('bundles'), sibling: reply('bundles'), otherAccount: reply('bundles'), anonymous: NOT_AUTH },
  },
  {
    op: 'send', what: "identified send to every device of account A (but the sender's own)",
    async build(w, actor) {
      const own = actor.device.accountId && hex(actor.device.accountId) === hex(w.accountA) ? actor.device.deviceId : undefined;
      const ids = (await w.devicesOfA()).filter((id) => id !== own);
      return { case: 'send', value: { recipientAccountId: w.accountA, messageId: messageId(), messages: ids.map((deviceId) => ({ deviceId, content: randomBytes(40) })) } };
    },
    expect: { self: reply('sendResult'), sibling: reply('sendResult'), otherAccount: reply('sendResult'), anonymous: NOT_AUTH },
  },
  {
    op: 'sealedSend', what: "sealed send to account A with A's access key",
    async build(w) {
      const ids = await w.devicesOfA();
      return { case: 'sealedSend', value: { recipientAccountId: w.accountA, messageId: messageId(), accessKey: w.accessKeyA, messages: ids.map((deviceId) => ({ deviceId, content: randomBytes(60) })) } };
    },
    expect: { self: reply('sendResult'), sibling: reply('sendResult'), otherAccount: reply('sendResult'), anonymous: reply('sendResult') },
  },
  {
    op: 'sealedSend', what: 'sealed send to account A with a wrong access key',
    async build(w) {
      const ids = await w.devicesOfA();
      return { case: 'sealedSend', value: { recipientAccountId: w.accountA, messageId: messageId(), accessKey: randomBytes(16), messages: ids.map((deviceId) => ({ deviceId, content: randomBytes(60) })) } };
    },
    expect: { self: error('UNAUTHORIZED'), sibling: error('UNAUTHORIZED'), otherAccount: error('UNAUTHORIZED'), anonymous: error('UNAUTHORIZED') },
  },
  {
    op: 'multiSealedSend', what: "multi-recipient sealed send to account A with A's access key",
    async build(w) {
      const ids = await w.devicesOfA();
      return {
        case: 'multiSealedSend',
        value: { messageId: messageId(), sharedPayload: randomBytes(120), recipients: [{ accountId: w.accountA, deviceIds: ids, header: randomBytes(32), accessKey: w.accessKeyA }] },
      };
    },
    expect: { self: reply('sendResult'), sibling: reply('sendResult'), otherAccount: reply('sendResult'), anonymous: reply('sendResult') },
  },
  {
    op: 'multiSealedSend', what: 'multi-recipient sealed send to account A with a wrong access key',
    async build(w) {
      const ids = await w.devicesOfA();
      return {
        case: 'multiSealedSend',
        value: { messageId: messageId(), sharedPayload: randomBytes(120), recipients: [{ accountId: w.accountA, deviceIds: ids, header: randomBytes(32), accessKey: randomBytes(16) }] },
      };
    },
    expect: { self: error('UNAUTHORIZED'), sibling: error('UNAUTHORIZED'), otherAccount: error('UNAUTHORIZED'), anonymous: error('UNAUTHORIZED') },
  },
  {
    op: 'ack', what: "acknowledge (delete) a message queued for A1",
    async build(w) {
      const id = await queueForA1(w);
      lastQueued = id;
      return { case: 'ack', value: { serverIds: [id] } };
    },
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w, actor) {
      // Only A1's own ack deletes A1's message; an ack by anyone else names ids of its own queue.
      const still = (await w.t.server.storage.fetchQueue(w.accountA, 1, 0, 1000)).some((m) => BigInt(m.serverId) === lastQueued);
      expect(still).toBe(actor.principal !== 'self');
    },
  },
  {
    op: 'getSenderCertificate', what: "get a sender certificate (for the sender's own identity)",
    build: () => ({ case: 'getSenderCertificate', value: {} }),
    expect: { self: reply('senderCertificate'), sibling: reply('senderCertificate'), otherAccount: reply('senderCertificate'), anonymous: NOT_AUTH },
  },
  {
    op: 'setAccessKey', what: "set the sender's own account's access key (A's devices set A's current key again)",
    build: (w, actor) => ({ case: 'setAccessKey', value: { accessKey: actor.principal === 'otherAccount' ? randomBytes(16) : w.accessKeyA } }),
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w) {
      // A's key is still the one A set: a sealed send with it is accepted, one with another key is not.
      const ids = await w.devicesOfA();
      const send = (accessKey: Uint8Array) => w.b1.client.request({
        case: 'sealedSend', value: { recipientAccountId: w.accountA, messageId: messageId(), accessKey, messages: ids.map((deviceId) => ({ deviceId, content: randomBytes(60) })) },
      });
      expect((await send(w.accessKeyA)).body.case).toBe('sendResult');
      const wrong = await send(randomBytes(16));
      expect(wrong.body.case === 'error' && wrong.body.value.code).toBe(ErrorCode.UNAUTHORIZED);
    },
  },
  {
    op: 'listDevices', what: "list the sender's own account's devices",
    build: () => ({ case: 'listDevices', value: {} }),
    expect: { self: reply('devices'), sibling: reply('devices'), otherAccount: reply('devices'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'devices') return;
      const ids = f.body.value.devices.map((d) => d.deviceId).sort((a, b) => a - b);
      expect(ids).toEqual(actor.principal === 'otherAccount' ? [1] : await w.devicesOfA());
    },
  },
  {
    op: 'ping', what: 'ping',
    build: () => ({ case: 'ping', value: {} }),
    expect: { self: reply('pong'), sibling: reply('pong'), otherAccount: reply('pong'), anonymous: reply('pong') },
  },
  {
    op: 'allocateAttachment', what: 'reserve an attachment upload slot',
    build: () => ({ case: 'allocateAttachment', value: { size: 1000n } }),
    expect: { self: reply('attachmentSlot'), sibling: reply('attachmentSlot'), otherAccount: reply('attachmentSlot'), anonymous: NOT_AUTH },
  },
  {
    op: 'provisionListen', what: 'listen for a provisioning message (a new device)',
    build: () => ({ case: 'provisionListen', value: {} }),
    expect: { self: ALREADY, sibling: ALREADY, otherAccount: ALREADY, anonymous: reply('provisionAddress') },
  },
  {
    op: 'provisionSend', what: 'send a provisioning message to a listening new device',
    async build(w) {
      const listener = await w.t.connect();
      const a = await listener.expectOk({ case: 'provisionListen', value: {} }, 'provisionAddress');
      return { case: 'provisionSend', value: { address: a.address, body: randomBytes(100) } };
    },
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
  },
  {
    op: 'removeDevice', what: 'remove a device of account A (only its primary device may)',
    async build(w) {
      victim = await linkToA(w);
      return { case: 'removeDevice', value: { deviceId: victim.device.deviceId! } };
    },
    expect: { self: reply('ok'), sibling: error('UNAUTHORIZED'), otherAccount: error('NOT_FOUND'), anonymous: NOT_AUTH },
    async verify(w, actor) {
      const present = (await w.devicesOfA()).includes(victim!.device.deviceId!);
      expect(present).toBe(actor.principal !== 'self');
      if (present) await w.t.server.admin.revokeDevice(hex(w.accountA), victim!.device.deviceId!);
      victim!.client.ws.terminate();
    },
  },
  {
    op: 'setDeviceName', what: "name device A2 (any device of the sender's own account)",
    build: (w) => ({ case: 'setDeviceName', value: { deviceId: w.a2.device.deviceId!, encryptedName: randomBytes(24) } }),
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: error('NOT_FOUND'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      // B1 named nothing of A's: A2's name is what A last set.
      const list = await w.a1.client.expectOk({ case: 'listDevices', value: {} }, 'devices');
      const name = list.devices.find((d) => d.deviceId === w.a2.device.deviceId)!.encryptedName;
      if (actor.principal === 'self' || actor.principal === 'sibling') {
        expect(f.body.case).toBe('ok');
        lastName = name;
      } else {
        expect(hex(name)).toBe(hex(lastName));
      }
    },
  },
  // Usernames, profiles and the member directory (server.md §3.1): each acts on the sender's own
  // account only; reads (lookup, profile, search) are open to every member, never to anonymous sockets.
  {
    op: 'setUsername', what: "claim a username for the sender's own account",
    build: (_w, actor) => ({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, nextUsername(actor)) } }),
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'ok') return;
      // The claim went to the sender's own account, never to another one.
      const holder = await w.t.server.storage.accountByUsernameHash(usernameHash(nodeCrypto, lastUsername));
      expect(hex(holder!)).toBe(hex(actor.principal === 'otherAccount' ? w.b1.device.accountId! : w.accountA));
    },
  },
  {
    op: 'lookupUsername', what: "look up account A's username",
    async build(w) {
      await w.a1.client.expectOk({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, 'matrix.a') } }, 'ok');
      return { case: 'lookupUsername', value: { usernameHash: usernameHash(nodeCrypto, 'matrix.a') } };
    },
    expect: { self: reply('usernameAccount'), sibling: reply('usernameAccount'), otherAccount: reply('usernameAccount'), anonymous: NOT_AUTH },
  },
  {
    op: 'directoryPublish', what: "list the sender's own claimed username in the directory",
    async build(w, actor) {
      const name = nextUsername(actor);
      if (actor.principal !== 'anonymous') await actor.client.expectOk({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, name) } }, 'ok');
      return { case: 'directoryPublish', value: { username: name, name: 'Matrix' } };
    },
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
  },
  {
    op: 'directoryPublish', what: "list a username another account holds (A's) in the directory",
    build: () => ({ case: 'directoryPublish', value: { username: 'matrix.a', name: 'Not A' } }),
    expect: { self: error('INVALID_ARGUMENT'), sibling: error('INVALID_ARGUMENT'), otherAccount: error('INVALID_ARGUMENT'), anonymous: NOT_AUTH },
    async verify(w) {
      // Whoever asked, A's own username is not listed under another account.
      const entries = await w.t.server.storage.searchDirectory('matrix.a', '', 10);
      expect(entries.filter((e) => e.username === 'matrix.a' && hex(e.accountId) !== hex(w.accountA))).toEqual([]);
    },
  },
  {
    op: 'directorySearch', what: 'search the member directory',
    build: () => ({ case: 'directorySearch', value: { query: 'matrix' } }),
    expect: { self: reply('directoryEntries'), sibling: reply('directoryEntries'), otherAccount: reply('directoryEntries'), anonymous: NOT_AUTH },
  },
  {
    op: 'directoryLeave', what: "remove the sender's own directory entry",
    build: () => ({ case: 'directoryLeave', value: {} }),
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
  },
  {
    op: 'deleteUsername', what: "release the sender's own username",
    async build(w, actor) {
      if (actor.principal === 'otherAccount') {
        await w.a1.client.expectOk({ case: 'setUsername', value: { usernameHash: usernameHash(nodeCrypto, 'matrix.kept') } }, 'ok');
      }
      return { case: 'deleteUsername', value: {} };
    },
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w, actor) {
      // B releasing its username leaves A's alone.
      if (actor.principal === 'otherAccount') expect(hex((await w.t.server.storage.usernameHashOf(w.accountA))!)).toBe(hex(usernameHash(nodeCrypto, 'matrix.kept')));
    },
  },
  {
    op: 'setProfile', what: "store the sender's own encrypted profile",
    build: () => ({ case: 'setProfile', value: { profile: randomBytes(300) } }),
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'ok') return;
      if (actor.principal === 'otherAccount') expect(hex((await w.t.server.storage.getProfile(w.accountA))?.profile ?? new Uint8Array(0))).toBe(hex(lastProfileA));
      else lastProfileA = (await w.t.server.storage.getProfile(w.accountA))!.profile;
    },
  },
  {
    op: 'getProfile', what: "read account A's encrypted profile",
    build: (w) => ({ case: 'getProfile', value: { accountId: w.accountA } }),
    expect: { self: reply('profile'), sibling: reply('profile'), otherAccount: reply('profile'), anonymous: NOT_AUTH },
  },
  // Push (server.md §Push): a device registers its own subscription only.
  {
    op: 'setPushSubscription', what: "register the sending device's own push subscription",
    build: (_w, actor) => {
      const ecdh = createECDH('prime256v1');
      return { case: 'setPushSubscription', value: { endpoint: `https://push.invalid/${actor.principal}`, p256dh: new Uint8Array(ecdh.generateKeys()), auth: randomBytes(16) } };
    },
    expect: { self: reply('ok'), sibling: reply('ok'), otherAccount: reply('ok'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'ok') return;
      const own = await w.t.server.storage.getPushSubscription(actor.device.accountId!, actor.device.deviceId!);
      expect(own?.endpoint).toBe(`https://push.invalid/${actor.principal}`);
      // B's registration never lands on A's devices.
      const ofA1 = await w.t.server.storage.getPushSubscription(w.accountA, w.a1.device.deviceId!);
      expect(ofA1?.endpoint).not.toBe('https://push.invalid/otherAccount');
    },
  },
  // Key transparency (transparency.md §5): proofs of the public log for members; an account's own bindings only.
  {
    op: 'ktGetConsistency', what: 'a consistency proof between two sizes of the public log',
    build: () => ({ case: 'ktGetConsistency', value: { oldSize: 1n, newSize: 0n } }),
    expect: { self: reply('ktConsistency'), sibling: reply('ktConsistency'), otherAccount: reply('ktConsistency'), anonymous: NOT_AUTH },
  },
  {
    op: 'ktGetAccount', what: "the log's bindings of the sender's own account",
    build: () => ({ case: 'ktGetAccount', value: {} }),
    expect: { self: reply('ktAccountBindings'), sibling: reply('ktAccountBindings'), otherAccount: reply('ktAccountBindings'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'ktAccountBindings') return;
      // Each account gets its own bindings: B's answer names no device of A's account, and the other way round.
      const own = actor.principal === 'otherAccount' ? w.b1.device.accountId! : w.accountA;
      expect(f.body.value.leaves.length).toBeGreaterThan(0);
      for (const l of f.body.value.leaves) expect(Buffer.from(l.leaf).includes(Buffer.from(own))).toBe(true);
    },
  },
  // The organisation's identity CA (spec/trust.md §5): public to members, like the key directory; nothing without authentication.
  {
    op: 'getOrgTrust', what: "the organisation's identity CA certificate and CRL",
    build: () => ({ case: 'getOrgTrust', value: {} }),
    expect: { self: reply('orgTrust'), sibling: reply('orgTrust'), otherAccount: reply('orgTrust'), anonymous: NOT_AUTH },
  },
  {
    op: 'getCertificates', what: "an account's identity certificate (any member's, as its keys are)",
    build: (w) => ({ case: 'getCertificates', value: { accountIds: [w.accountA] } }),
    expect: { self: reply('certificates'), sibling: reply('certificates'), otherAccount: reply('certificates'), anonymous: NOT_AUTH },
  },
  // A device asks for certification of its own account's key (spec/trust.md §4.1): the account and device are
  // the session's, so another account's device can only ever queue a request for itself.
  {
    op: 'requestCertification', what: "a request that the organisation certify the account's identity key",
    async build(w, actor) {
      const ca = new IdentityCaDirectory(w.t.dataDir);
      if (!ca.exists()) await ca.init('Matrix Org', { kind: 'file' }, new Date());
      const d = actor.device;
      const createdAt = Date.now();
      const payload = certificationRequestPayload(d.accountId ?? new Uint8Array(16), d.deviceId ?? 1, d.identity.publicKey, createdAt, 'Matrix Person');
      return { case: 'requestCertification', value: { name: 'Matrix Person', createdAt: BigInt(createdAt), signature: nodeCrypto.ed25519Sign(d.identity.signing.privateKey, payload) } };
    },
    expect: { self: reply('certificationRequested'), sibling: reply('certificationRequested'), otherAccount: reply('certificationRequested'), anonymous: NOT_AUTH },
    async verify(w, actor, f) {
      if (f.body.case !== 'certificationRequested') return;
      const queued = await w.t.server.storage.getCertificationRequest(Number(f.body.value.requestId));
      const own = actor.principal === 'otherAccount' ? w.b1.device.accountId! : w.accountA;
      expect(hex(queued!.accountId)).toBe(hex(own));
      expect(queued!.deviceId).toBe(actor.device.deviceId);
    },
  },
];

// Per-row state between build and verify (the cells run one at a time).
let lastQueued = 0n;
let countBefore = 0;
let victim: Actor | undefined;
let lastName: Uint8Array = new Uint8Array(0);
let usernames = 0;
let lastUsername = '';
let lastProfileA: Uint8Array = new Uint8Array(0);
/** A fresh username for one cell (each claim replaces the sender account's previous one). */
function nextUsername(actor: Actor): string {
  lastUsername = `matrix.${actor.principal.toLowerCase()}.${++usernames}`;
  return lastUsername;
}

function outcome(f: ServerFrame): string {
  return f.body.case === 'error' ? `error:${ErrorCode[f.body.value.code]}` : `reply:${f.body.case}`;
}
const expected = (e: Expect) => ('reply' in e ? `reply:${e.reply}` : `error:${e.error}`);

describe('authorisation matrix', () => {
  let t: TestServer;
  let w: World;
  let revoked: { device: Device; closed: Promise<{ code: number }> };
  let removed: { device: Device; closed: Promise<{ code: number }> };
  const anonymousActors: TestClient[] = [];

  beforeAll(async () => {
    t = await startTestServer({ 'limits.maxDevicesPerAccount': 100, 'directory.mode': 'members', 'directory.lookupsPerHour': 100_000, 'push.allowedHosts': 'push.invalid' });
    const a = await t.account({ preKeys: true });
    const accountA = a.device.accountId!;
    const a1: Actor = { principal: 'self', client: a.client, device: a.device };
    const linked = await linkToA({ t, a1, accountA } as unknown as World);
    const a2: Actor = { principal: 'sibling', client: linked.client, device: linked.device };
    await a2.client.uploadPreKeys(a2.device);
    const b = await t.account({ preKeys: true });
    const b1: Actor = { principal: 'otherAccount', client: b.client, device: b.device };
    const accessKeyA = new Uint8Array(randomBytes(16));
    await a1.client.expectOk({ case: 'setAccessKey', value: { accessKey: accessKeyA } }, 'ok');
    await b1.client.expectOk({ case: 'setAccessKey', value: { accessKey: randomBytes(16) } }, 'ok');
    w = {
      t, a1, a2, b1, accountA, accessKeyA,
      async devicesOfA() {
        const f = await a1.client.expectOk({ case: 'listDevices', value: {} }, 'devices');
        return f.devices.map((d) => d.deviceId).sort((x, y) => x - y);
      },
    };
    // A3: linked, then revoked by the administrator while connected.
    const a3 = await linkToA(w);
    revoked = { device: a3.device, closed: a3.client.closed };
    expect((await t.server.admin.revokeDevice(hex(accountA), a3.device.deviceId!)).revoked).toBe(true);
    // C1: an account removed by the administrator while connected.
    const c = await t.account();
    removed = { device: c.device, closed: c.client.closed };
    expect((await t.server.admin.removeAccount(hex(c.device.accountId!))).removed).toBe(true);
  }, 120_000);

  afterAll(async () => {
    for (const c of anonymousActors) c.ws.terminate();
    await t?.stop();
  });

  it('has a row for every ClientFrame body case (add one when you add a frame)', () => {
    const body = ClientFrameSchema.oneofs.find((o) => o.name === 'body')!;
    const cases = body.fields.map((f) => f.localName).sort();
    const covered = new Set(rows.map((r) => r.op));
    expect(cases.filter((c) => !covered.has(c as Row['op']))).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(19);
  });

  it('the revoked device and the removed account lost their connections when they were removed', async () => {
    expect((await revoked.closed).code).toBe(4003);
    expect((await removed.closed).code).toBeGreaterThanOrEqual(4000);
  });

  describe.each(rows.map((row) => ({ row, name: `${row.op}: ${row.what}` })))('$name', ({ row }) => {
    for (const principal of LIVE) {
      it(`${principal}: ${expected(row.expect[principal])}`, async () => {
        let actor: Actor;
        if (principal === 'anonymous') {
          const client = await t.connect();
          anonymousActors.push(client);
          actor = { principal, client, device: newDevice() };
        } else {
          actor = { self: w.a1, sibling: w.a2, otherAccount: w.b1 }[principal];
        }
        const body = await row.build(w, actor);
        const f = await actor.client.request(body, 20_000);
        expect(outcome(f)).toBe(expected(row.expect[principal]));
        await row.verify?.(w, actor, f);
      });
    }

    for (const principal of REMOVED) {
      it(`${principal}: refused (Authenticate answered ${principal === 'revokedDevice' ? 'DEVICE_REMOVED' : 'ACCOUNT_REMOVED'}, nothing done as that device)`, async () => {
        const device = principal === 'revokedDevice' ? revoked.device : removed.device;
        const client = await t.connect();
        anonymousActors.push(client);
        const actor: Actor = { principal, client, device };
        const body = await row.build(w, { ...actor, principal: 'anonymous' });
        const frames: ServerFrame[] = [];
        const auth = client.request({
          case: 'authenticate',
          value: { accountId: device.accountId!, deviceId: device.deviceId!, signature: nodeCrypto.ed25519Sign(device.deviceKey.privateKey, authPayload(client.nonce, device.accountId!, device.deviceId!)) },
        });
        // The operation right behind the Authenticate, before its answer.
        const op = client.request(body, 20_000).then((f) => { frames.push(f); }, () => { /* closed before an answer */ });
        const a = await auth;
        expect(outcome(a)).toBe(principal === 'revokedDevice' ? 'error:DEVICE_REMOVED' : 'error:ACCOUNT_REMOVED');
        expect((await client.closed).code).toBe(4001);
        await op;
        // At most what an anonymous connection may do; never an answer given to an authenticated device.
        for (const f of frames) {
          const o = outcome(f);
          if (o.startsWith('reply:')) expect(o).toBe(expected(row.expect.anonymous));
        }
      });
    }
  });

  // ------------------------------------------------------------------ replays

  it('refuses a replayed authentication: the signature of one challenge does not open another connection', async () => {
    const first = await t.connect();
    anonymousActors.push(first);
    const d = w.a2.device;
    const signature = nodeCrypto.ed25519Sign(d.deviceKey.privateKey, authPayload(first.nonce, d.accountId!, d.deviceId!));
    const second = await t.connect();
    anonymousActors.push(second);
    expect(Buffer.compare(first.nonce, second.nonce)).not.toBe(0);
    const f = await second.request({ case: 'authenticate', value: { accountId: d.accountId!, deviceId: d.deviceId!, signature } });
    expect(outcome(f)).toBe('error:AUTH_FAILED');
    // The same signature on its own connection works once, and that connection is then authenticated.
    expect(outcome(await first.request({ case: 'authenticate', value: { accountId: d.accountId!, deviceId: d.deviceId!, signature } }))).toBe('reply:authenticated');
    expect(outcome(await first.request({ case: 'authenticate', value: { accountId: d.accountId!, deviceId: d.deviceId!, signature } }))).toBe('error:ALREADY_AUTHENTICATED');
  });

  it('refuses a replayed registration: an invite is used once', async () => {
    const { code } = await t.server.admin.createInvite();
    const one = await t.connect();
    anonymousActors.push(one);
    expect((await one.register(newDevice(), code)).body.case).toBe('registered');
    const two = await t.connect();
    anonymousActors.push(two);
    const f = await two.register(newDevice(), code);
    expect(f.body.case).toBe('error');
  });

  it('refuses a replayed provisioning message: the address dies with the new device\'s connection', async () => {
    const listener = await t.connect();
    const a = await listener.expectOk({ case: 'provisionListen', value: {} }, 'provisionAddress');
    const send = { case: 'provisionSend' as const, value: { address: a.address, body: randomBytes(100) } };
    expect(outcome(await w.a1.client.request(send))).toBe('reply:ok');
    await listener.waitForPush('provisionDeliver');
    await listener.close();
    // The server forgets the address when it sees the close (a moment after the client does).
    let again = '';
    for (let i = 0; i < 200 && again !== 'error:NOT_FOUND'; i++) {
      again = outcome(await w.a1.client.request(send));
      if (again !== 'error:NOT_FOUND') await new Promise((r) => setTimeout(r, 25));
    }
    expect(again).toBe('error:NOT_FOUND');
    // A new listener gets a new address: the old message cannot be redirected to it.
    const next = await t.connect();
    anonymousActors.push(next);
    const b = await next.expectOk({ case: 'provisionListen', value: {} }, 'provisionAddress');
    expect(hex(b.address)).not.toBe(hex(a.address));
  });

  it('refuses a replayed sealed send: the same message id is stored and delivered once', async () => {
    const target = await t.account();
    const key = new Uint8Array(randomBytes(16));
    await target.client.expectOk({ case: 'setAccessKey', value: { accessKey: key } }, 'ok');
    const frame = {
      case: 'sealedSend' as const,
      value: { recipientAccountId: target.device.accountId!, messageId: messageId(), accessKey: key, messages: [{ deviceId: 1, content: randomBytes(60) }] },
    };
    const anon = await t.connect();
    anonymousActors.push(anon);
    const first = await anon.request(frame);
    expect(first.body.case === 'sendResult' && first.body.value.duplicate).toBe(false);
    const again = await anon.request(frame);
    expect(again.body.case === 'sendResult' && again.body.value.duplicate).toBe(true);
    // Replayed raw, on another connection: still one copy.
    const other = await t.connect();
    anonymousActors.push(other);
    other.sendRaw(toBinary(ClientFrameSchema, create(ClientFrameSchema, { requestId: 99n, body: frame })));
    expect(outcome(await other.request({ case: 'ping', value: {} }))).toBe('reply:pong');
    const queued = await t.server.storage.fetchQueue(target.device.accountId!, 1, 0, 100);
    expect(queued.length).toBe(1);
  });

  // ------------------------------------------------------------------ HTTP endpoints

  function http(method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(`${t.server.httpsUrl}${path}`, { method, headers, ca: t.server.tls.cert, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  describe('HTTP', () => {
    it.each(['/health', '/v1/server-info'])('GET %s: anyone (no credentials)', async (path) => {
      expect(await http('GET', path)).toBe(200);
    });

    it('GET /metrics: nobody on the client port (metrics live on their own loopback listener, server.md §10)', async () => {
      expect(await http('GET', '/metrics')).toBe(404);
    });

    it('attachment upload: only with the slot\'s token; another device\'s token, no token, and a revoked device\'s token are refused', async () => {
      const slotA = await w.a1.client.expectOk({ case: 'allocateAttachment', value: { size: 100n } }, 'attachmentSlot');
      const slotB = await w.b1.client.expectOk({ case: 'allocateAttachment', value: { size: 100n } }, 'attachmentSlot');
      const data = randomBytes(100);
      const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'upload-offset': '0' });
      // anonymous: no token
      expect(await http('PATCH', slotA.uploadPath, { 'upload-offset': '0' }, data)).toBe(401);
      // another account's token on A1's slot
      expect(await http('PATCH', slotA.uploadPath, bearer(slotB.uploadToken), data)).toBe(401);
      // the slot's own token
      expect(await http('PATCH', slotA.uploadPath, bearer(slotA.uploadToken), data)).toBe(201);
      // download: anyone holding the id (the content is encrypted to the key in the message)
      expect(await http('GET', slotA.uploadPath)).toBe(200);
      // a revoked device's token
      const gone = await linkToA(w);
      const slotGone = await gone.client.expectOk({ case: 'allocateAttachment', value: { size: 100n } }, 'attachmentSlot');
      await t.server.admin.revokeDevice(hex(w.accountA), gone.device.deviceId!);
      expect(await http('PATCH', slotGone.uploadPath, bearer(slotGone.uploadToken), data)).toBe(403);
    });
  });
});
