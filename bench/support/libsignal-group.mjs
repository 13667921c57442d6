// The peer of bench/groups.mjs: @signalapp/libsignal-client doing a group sender's work, in
// memory stores.
//   send     groupEncrypt with the sender key + sealedSenderMultiRecipientEncrypt to every member
//   removal  a new sender key (SenderKeyDistributionMessage.create) + one 1:1 encrypt + seal
//            (sealedSenderEncryptMessage) of its distribution to each remaining member
//   fan-out  the message sent 1:1 to each member instead (encrypt + seal each), the situation of
//            Signal-Android issue 10644
// Member addresses are ACI UUID strings, which the multi-recipient format requires.
import { randomUUID } from 'node:crypto';
import * as L from '@signalapp/libsignal-client';
// Not re-exported from the package index (it is what Signal's server uses to split the upload).
import SealedSenderMultiRecipientMessage from '@signalapp/libsignal-client/dist/SealedSenderMultiRecipientMessage.js';

const {
  IdentityKeyPair, PrivateKey, PublicKey, KEMKeyPair, KEMPublicKey, ProtocolAddress, PreKeyBundle, PreKeyRecord,
  SignedPreKeyRecord, KyberPreKeyRecord, SessionRecord, SenderKeyRecord, PreKeySignalMessage, SignalMessage,
  CiphertextMessageType, IdentityChange, ContentHint, SenderCertificate, ServerCertificate, SenderKeyDistributionMessage,
  UnidentifiedSenderMessageContent,
  SessionStore, IdentityKeyStore, PreKeyStore, SignedPreKeyStore, KyberPreKeyStore, SenderKeyStore,
  processPreKeyBundle, signalEncrypt, signalDecrypt, signalDecryptPreKey, groupEncrypt, groupDecrypt,
  processSenderKeyDistributionMessage, sealedSenderMultiRecipientEncrypt, sealedSenderEncryptMessage, sealedSenderDecryptToUsmc,
} = L;

const equal = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

// Stores keep live record objects (no serialization per call), as a client's in-memory cache
// does: the peer's best case, and the same as the Sigilo side, whose records stay decoded too.
class Sessions extends SessionStore {
  map = new Map();
  async saveSession(address, record) { this.map.set(address.toString(), record); }
  async getSession(address) { return this.map.get(address.toString()) ?? null; }
  async getExistingSessions(addresses) {
    return addresses.map((a) => {
      const record = this.map.get(a.toString());
      if (!record) throw new Error(`libsignal: no session for ${a.toString()}`);
      return record;
    });
  }
}

class Identities extends IdentityKeyStore {
  known = new Map();
  constructor(identity, registrationId) { super(); this.identity = identity; this.registrationId = registrationId; }
  async getIdentityKey() { return this.identity.privateKey; }
  async getIdentityKeyPair() { return this.identity; }
  async getLocalRegistrationId() { return this.registrationId; }
  async saveIdentity(address, key) {
    const old = this.known.get(address.toString());
    this.known.set(address.toString(), key);
    return old && !old.equals(key) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(address, key) {
    const old = this.known.get(address.toString());
    return !old || old.equals(key);
  }
  async getIdentity(address) { return this.known.get(address.toString()) ?? null; }
}

class PreKeys extends PreKeyStore {
  map = new Map();
  async savePreKey(id, record) { this.map.set(id, record.serialize()); }
  async getPreKey(id) { return PreKeyRecord.deserialize(this.map.get(id)); }
  async removePreKey(id) { this.map.delete(id); }
}

class SignedPreKeys extends SignedPreKeyStore {
  map = new Map();
  async saveSignedPreKey(id, record) { this.map.set(id, record.serialize()); }
  async getSignedPreKey(id) { return SignedPreKeyRecord.deserialize(this.map.get(id)); }
}

class KyberPreKeys extends KyberPreKeyStore {
  map = new Map();
  async saveKyberPreKey(id, record) { this.map.set(id, record.serialize()); }
  async getKyberPreKey(id) { return KyberPreKeyRecord.deserialize(this.map.get(id)); }
  async markKyberPreKeyUsed(id) { this.map.delete(id); }
}

class SenderKeys extends SenderKeyStore {
  map = new Map();
  async saveSenderKey(sender, distributionId, record) { this.map.set(`${sender.toString()}/${distributionId}`, record); }
  async getSenderKey(sender, distributionId) { return this.map.get(`${sender.toString()}/${distributionId}`) ?? null; }
}

class Party {
  constructor(registrationId) {
    this.uuid = randomUUID();
    this.address = ProtocolAddress.new(this.uuid, 1);
    this.identity = IdentityKeyPair.generate();
    this.registrationId = registrationId;
    this.sessions = new Sessions();
    this.identities = new Identities(this.identity, registrationId);
    this.preKeys = new PreKeys();
    this.signedPreKeys = new SignedPreKeys();
    this.kyberPreKeys = new KyberPreKeys();
    this.senderKeys = new SenderKeys();
  }

  /** One-time EC + one-time Kyber prekey and a signed prekey, as a directory would serve them. */
  bundle() {
    const ec = PrivateKey.generate();
    this.preKeys.map.set(1, PreKeyRecord.new(1, ec.getPublicKey(), ec).serialize());
    const spk = PrivateKey.generate();
    const spkSig = this.identity.privateKey.sign(spk.getPublicKey().serialize());
    this.signedPreKeys.map.set(1, SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig).serialize());
    const kem = KEMKeyPair.generate();
    const kyber = KyberPreKeyRecord.new(1, Date.now(), kem, this.identity.privateKey.sign(kem.getPublicKey().serialize()));
    this.kyberPreKeys.map.set(1, kyber.serialize());
    return PreKeyBundle.new(this.registrationId, 1, 1, ec.getPublicKey(), 1, spk.getPublicKey(), spkSig,
      this.identity.publicKey, 1, KEMPublicKey.deserialize(kem.getPublicKey().serialize()), kyber.signature());
  }

  async encrypt(to, plaintext) {
    return signalEncrypt(plaintext, to.address, this.address, this.sessions, this.identities);
  }

  async decrypt(from, ct) {
    if (ct.type() === CiphertextMessageType.PreKey) {
      return signalDecryptPreKey(PreKeySignalMessage.deserialize(ct.serialize()), from.address, this.address,
        this.sessions, this.identities, this.preKeys, this.signedPreKeys, this.kyberPreKeys);
    }
    return signalDecrypt(SignalMessage.deserialize(ct.serialize()), from.address, this.address, this.sessions, this.identities);
  }
}

/**
 * A sender and `n` members, each with an established 1:1 session with the sender (prekey message
 * and one reply), the sender's sender key processed by every member, and a sender certificate
 * chained to a trust root. `progress(done)` is called as sessions are set up.
 */
export async function libsignalGroup(n, groupId, progress = () => {}) {
  const sender = new Party(1);
  const members = Array.from({ length: n }, (_, i) => new Party(2 + i));
  const hello = new Uint8Array(64).fill(7);
  for (let i = 0; i < n; i++) {
    const m = members[i];
    await processPreKeyBundle(m.bundle(), m.address, sender.address, sender.sessions, sender.identities);
    if (!equal(hello, await m.decrypt(sender, await sender.encrypt(m, hello)))) throw new Error('libsignal: session setup failed');
    if (!equal(hello, await sender.decrypt(m, await m.encrypt(sender, hello)))) throw new Error('libsignal: session reply failed');
    if ((i + 1) % 250 === 0) progress(i + 1);
  }
  const trustRoot = PrivateKey.generate();
  const serverKey = PrivateKey.generate();
  const serverCertificate = ServerCertificate.new(1, serverKey.getPublicKey(), trustRoot);
  const certificate = SenderCertificate.new(sender.uuid, null, 1, sender.identity.publicKey, Date.now() + 86_400_000, serverCertificate, serverKey);
  const group = {
    n, sender, members, certificate, trustRoot: trustRoot.getPublicKey(), groupId, distributionId: undefined,
    addresses: members.map((m) => m.address),
  };
  group.distributionId = await newSenderKey(group, members);
  return group;
}

/** A new distribution id and sender key; every given member processes its distribution (untimed). */
async function newSenderKey(group, members) {
  const distributionId = randomUUID();
  const skdm = await SenderKeyDistributionMessage.create(group.sender.address, distributionId, group.sender.senderKeys);
  const bytes = skdm.serialize();
  for (const m of members) await processSenderKeyDistributionMessage(group.sender.address, SenderKeyDistributionMessage.deserialize(bytes), m.senderKeys);
  return distributionId;
}

/** The timed sender work of one group message: the multi-recipient blob Signal uploads. */
export async function libsignalSend(group, padded) {
  const ct = await groupEncrypt(group.sender.address, group.distributionId, group.sender.senderKeys, padded);
  const usmc = UnidentifiedSenderMessageContent.new(ct, group.certificate, ContentHint.Implicit, group.groupId);
  return sealedSenderMultiRecipientEncrypt({ content: usmc, recipients: group.addresses, identityStore: group.sender.identities, sessionStore: group.sender.sessions });
}

/** Untimed check: members `indexes` take their copy out of the blob (as Signal's server does), unseal and decrypt. */
export async function libsignalCheck(group, blob, padded, indexes) {
  const parsed = new SealedSenderMultiRecipientMessage(blob);
  const byId = parsed.recipientsByServiceIdString();
  for (const i of indexes) {
    const m = group.members[i];
    const usmc = await sealedSenderDecryptToUsmc(parsed.messageForRecipient(byId[m.uuid]), m.identities);
    if (!usmc.senderCertificate().validate(group.trustRoot, Date.now())) throw new Error('libsignal: sender certificate does not validate');
    const plaintext = await groupDecrypt(group.sender.address, m.senderKeys, usmc.contents());
    if (!equal(plaintext, padded)) throw new Error(`libsignal: member ${i} decrypted something else`);
  }
}

/** The timed fan-out: the same content encrypted and sealed 1:1 for each of `members`. */
export async function libsignalFanOut(group, padded, members = group.members) {
  const out = new Array(members.length);
  for (let i = 0; i < members.length; i++) {
    out[i] = await sealedSenderEncryptMessage(padded, members[i].address, group.certificate, group.sender.sessions, group.sender.identities);
  }
  return out;
}

/**
 * The timed removal of member `index`: a new sender key and its distribution (padded to
 * `paddedLength` as Signal pads its Content) encrypted and sealed 1:1 for each remaining member.
 * Returns the envelopes; call libsignalRemovalDone afterwards (untimed) to hand the new key on.
 */
export async function libsignalRemoval(group, index, padTo) {
  const removed = group.members[index];
  group.members.splice(index, 1);
  group.addresses.splice(index, 1);
  const distributionId = randomUUID();
  const skdm = await SenderKeyDistributionMessage.create(group.sender.address, distributionId, group.sender.senderKeys);
  const padded = padTo(skdm.serialize());
  const envelopes = await libsignalFanOut(group, padded);
  return { removed, distributionId, skdm: skdm.serialize(), envelopes };
}

/** Untimed: the remaining members process the new sender key; it becomes the group's. */
export async function libsignalRemovalDone(group, removal) {
  for (const m of group.members) await processSenderKeyDistributionMessage(group.sender.address, SenderKeyDistributionMessage.deserialize(removal.skdm), m.senderKeys);
  group.distributionId = removal.distributionId;
}
