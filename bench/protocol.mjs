// Sigilo protocol engine vs @signalapp/libsignal-client, in one process and one run.
//
//   npm run bench:protocol            (from the repository root: builds, installs bench/, runs this)
//   BENCH_SECONDS=4 node bench/protocol.mjs
//   BENCH_SIDES=sigilo BENCH_CASES=one-way node --cpu-prof --cpu-prof-dir=/tmp/prof bench/protocol.mjs   (profile)
//
// Cases (100-byte messages; one op = encrypt + decrypt of one message unless noted):
//   one-way      A -> B only, symmetric ratchet steps
//   alternating  direction flips every message, so every message carries a DH ratchet step
//   setup        fetch a bundle (one-time EC prekey + one-time PQ prekey), initiate a session,
//                encrypt the first (prekey) message and decrypt it on the responder
//
// Fairness: both sides keep their session records as bytes in an in-memory store and restore
// them before, and serialize them after, every encrypt/decrypt. libsignal goes through its own
// async store interfaces (that is how it is used); Sigilo decodes/encodes its record around each
// synchronous call. Each case runs BENCH_SECONDS per side, split into BENCH_ROUNDS slices whose
// order alternates (S L L S ...), after a warm-up, with a forced GC between slices.
//
// Env: BENCH_SECONDS (default 2), BENCH_ROUNDS (default 10), BENCH_WARMUP seconds (default 1),
//      BENCH_CASES (comma list of one-way,alternating,setup; default all),
//      BENCH_SIDES (comma list of sigilo,libsignal; default both).
// The last line is always: protocol vs libsignal: one-way R1x alternating R2x setup R3x

import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';

import * as SignalClient from '@signalapp/libsignal-client';

import { listEnv, numberEnv } from './support/env.mjs';

const SECONDS = numberEnv('BENCH_SECONDS', 2);
const ROUNDS = Math.max(1, Math.round(numberEnv('BENCH_ROUNDS', 10)));
// No forced GC between slices: a full collection forced every 0.2 s shrinks V8's heap and makes the
// JS side pay for it in every following slice, which no real client does; both sides run as deployed.
const WARMUP = numberEnv('BENCH_WARMUP', 1);
const CASES = listEnv('BENCH_CASES', ['one-way', 'alternating', 'setup']);
const SIDES = listEnv('BENCH_SIDES', ['sigilo', 'libsignal']);
const MESSAGE_BYTES = 100;
const SETUP_BATCH_MIN = 4;
const SETUP_BATCH_MAX = 256;


// ---------------------------------------------------------------------------------------------
// shared helpers

/** A fresh 100-byte plaintext whose first bytes carry a counter, so no two messages are equal. */
function makePlaintext(counter) {
  const pt = new Uint8Array(MESSAGE_BYTES);
  randomFillSync(pt);
  new DataView(pt.buffer).setUint32(0, counter >>> 0);
  return pt;
}

function assertSame(expected, actual, what) {
  if (!(actual instanceof Uint8Array) || actual.length !== expected.length) {
    throw new Error(`${what}: decrypted plaintext has the wrong length (${actual?.length} != ${expected.length})`);
  }
  for (let i = 0; i < expected.length; i++) {
    if (expected[i] !== actual[i]) throw new Error(`${what}: decrypted plaintext differs at byte ${i}`);
  }
}

/** A small pool of plaintexts reused round-robin (with the counter rewritten) to keep allocation out of the loop. */
class Plaintexts {
  constructor() {
    this.pool = Array.from({ length: 64 }, (_, i) => makePlaintext(i));
    this.n = 0;
  }
  next() {
    const pt = this.pool[this.n & 63];
    new DataView(pt.buffer).setUint32(0, this.n++ >>> 0);
    return pt;
  }
}

// ---------------------------------------------------------------------------------------------
// libsignal side

const {
  IdentityKeyPair, PrivateKey, PublicKey, KEMKeyPair, KEMPublicKey, ProtocolAddress, PreKeyBundle,
  PreKeyRecord, SignedPreKeyRecord, KyberPreKeyRecord, SessionRecord, PreKeySignalMessage, SignalMessage,
  CiphertextMessageType, IdentityChange, Direction,
  SessionStore, IdentityKeyStore, PreKeyStore, SignedPreKeyStore, KyberPreKeyStore,
  processPreKeyBundle, signalEncrypt, signalDecrypt, signalDecryptPreKey,
} = SignalClient;

class MemSessionStore extends SessionStore {
  constructor() { super(); this.map = new Map(); }
  async saveSession(address, record) { this.map.set(address.toString(), record.serialize()); }
  async getSession(address) {
    const bytes = this.map.get(address.toString());
    return bytes ? SessionRecord.deserialize(bytes) : null;
  }
  async getExistingSessions(addresses) {
    return addresses.map((a) => {
      const bytes = this.map.get(a.toString());
      if (!bytes) throw new Error(`no session for ${a.toString()}`);
      return SessionRecord.deserialize(bytes);
    });
  }
}

class MemIdentityKeyStore extends IdentityKeyStore {
  constructor(identity, registrationId) {
    super();
    this.identity = identity;
    this.registrationId = registrationId;
    this.known = new Map();
  }
  async getIdentityKey() { return this.identity.privateKey; }
  async getIdentityKeyPair() { return this.identity; }
  async getLocalRegistrationId() { return this.registrationId; }
  async saveIdentity(address, key) {
    const name = address.toString();
    const bytes = key.serialize();
    const old = this.known.get(name);
    this.known.set(name, bytes);
    return old && !bytesEqual(old, bytes) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(address, key, _direction) {
    const old = this.known.get(address.toString());
    return !old || bytesEqual(old, key.serialize());
  }
  async getIdentity(address) {
    const bytes = this.known.get(address.toString());
    return bytes ? PublicKey.deserialize(bytes) : null;
  }
}

class MemPreKeyStore extends PreKeyStore {
  constructor() { super(); this.map = new Map(); }
  async savePreKey(id, record) { this.map.set(id, record.serialize()); }
  async getPreKey(id) {
    const bytes = this.map.get(id);
    if (!bytes) throw new Error(`no prekey ${id}`);
    return PreKeyRecord.deserialize(bytes);
  }
  async removePreKey(id) { this.map.delete(id); }
}

class MemSignedPreKeyStore extends SignedPreKeyStore {
  constructor() { super(); this.map = new Map(); }
  async saveSignedPreKey(id, record) { this.map.set(id, record.serialize()); }
  async getSignedPreKey(id) {
    const bytes = this.map.get(id);
    if (!bytes) throw new Error(`no signed prekey ${id}`);
    return SignedPreKeyRecord.deserialize(bytes);
  }
}

class MemKyberPreKeyStore extends KyberPreKeyStore {
  constructor() { super(); this.map = new Map(); this.lastResort = new Set(); }
  async saveKyberPreKey(id, record) { this.map.set(id, record.serialize()); }
  async getKyberPreKey(id) {
    const bytes = this.map.get(id);
    if (!bytes) throw new Error(`no kyber prekey ${id}`);
    return KyberPreKeyRecord.deserialize(bytes);
  }
  async markKyberPreKeyUsed(id, _signedPreKeyId, _baseKey) {
    if (!this.lastResort.has(id)) this.map.delete(id); // one-time PQ prekeys are consumed
  }
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class LibsignalParty {
  constructor(name, registrationId) {
    this.address = ProtocolAddress.new(name, 1);
    this.identity = IdentityKeyPair.generate();
    this.sessions = new MemSessionStore();
    this.identities = new MemIdentityKeyStore(this.identity, registrationId);
    this.preKeys = new MemPreKeyStore();
    this.signedPreKeys = new MemSignedPreKeyStore();
    this.kyberPreKeys = new MemKyberPreKeyStore();
    this.registrationId = registrationId;
    this.nextPreKeyId = 1;
    // One signed EC prekey for the device, as a real device has.
    const spk = PrivateKey.generate();
    const spkPub = spk.getPublicKey();
    this.signedPreKeyId = 1;
    const spkRecord = SignedPreKeyRecord.new(this.signedPreKeyId, Date.now(), spkPub, spk, this.identity.privateKey.sign(spkPub.serialize()));
    this.signedPreKeys.map.set(this.signedPreKeyId, spkRecord.serialize());
    this.published = { signedPreKey: spkPub.serialize(), signedPreKeySignature: spkRecord.signature() };
  }

  /**
   * Generates and stores a one-time EC prekey and a one-time Kyber prekey, and returns the public
   * bundle as the key directory would hold it (bytes). Untimed.
   */
  publishBundle() {
    const id = this.nextPreKeyId++;
    const ec = PrivateKey.generate();
    this.preKeys.map.set(id, PreKeyRecord.new(id, ec.getPublicKey(), ec).serialize());
    const kem = KEMKeyPair.generate();
    const kemPub = kem.getPublicKey().serialize();
    const kyberRecord = KyberPreKeyRecord.new(id, Date.now(), kem, this.identity.privateKey.sign(kemPub));
    this.kyberPreKeys.map.set(id, kyberRecord.serialize());
    return {
      registrationId: this.registrationId,
      deviceId: 1,
      preKeyId: id,
      preKey: ec.getPublicKey().serialize(),
      signedPreKeyId: this.signedPreKeyId,
      signedPreKey: this.published.signedPreKey,
      signedPreKeySignature: this.published.signedPreKeySignature,
      identityKey: this.identity.publicKey.serialize(),
      kyberPreKeyId: id,
      kyberPreKey: kemPub,
      kyberPreKeySignature: kyberRecord.signature(),
    };
  }

  async encrypt(to, plaintext) {
    const ct = await signalEncrypt(plaintext, to.address, this.address, this.sessions, this.identities);
    return { type: ct.type(), bytes: ct.serialize() };
  }

  async decrypt(from, { type, bytes }) {
    if (type === CiphertextMessageType.PreKey) {
      return signalDecryptPreKey(PreKeySignalMessage.deserialize(bytes), from.address, this.address,
        this.sessions, this.identities, this.preKeys, this.signedPreKeys, this.kyberPreKeys);
    }
    if (type !== CiphertextMessageType.Whisper) throw new Error(`unexpected libsignal message type ${type}`);
    return signalDecrypt(SignalMessage.deserialize(bytes), from.address, this.address, this.sessions, this.identities);
  }

  /** What a client does with a fetched bundle: rebuild the key objects from bytes, process it. */
  async processBundle(peer, b) {
    const bundle = PreKeyBundle.new(
      b.registrationId, b.deviceId, b.preKeyId, PublicKey.deserialize(b.preKey),
      b.signedPreKeyId, PublicKey.deserialize(b.signedPreKey), b.signedPreKeySignature,
      PublicKey.deserialize(b.identityKey), b.kyberPreKeyId, KEMPublicKey.deserialize(b.kyberPreKey), b.kyberPreKeySignature,
    );
    await processPreKeyBundle(bundle, peer.address, this.address, this.sessions, this.identities);
  }
}

const libsignalSide = {
  name: 'libsignal',
  async conversation(label) {
    const a = new LibsignalParty('alice', 1111);
    const b = new LibsignalParty('bob', 2222);
    const pts = new Plaintexts();
    // Establish: A initiates, sends a prekey message, B decrypts, B replies once, A decrypts.
    await a.processBundle(b, b.publishBundle());
    const first = pts.next();
    const m1 = await a.encrypt(b, first);
    if (m1.type !== CiphertextMessageType.PreKey) throw new Error('libsignal: first message is not a prekey message');
    assertSame(first, await b.decrypt(a, m1), `libsignal ${label} establish`);
    const reply = pts.next();
    const m2 = await b.encrypt(a, reply);
    assertSame(reply, await a.decrypt(b, m2), `libsignal ${label} establish reply`);
    const m3pt = pts.next();
    const m3 = await a.encrypt(b, m3pt);
    if (m3.type !== CiphertextMessageType.Whisper) throw new Error('libsignal: pending prekey state not cleared after reply');
    assertSame(m3pt, await b.decrypt(a, m3), `libsignal ${label} establish check`);
    let flip = false;
    return {
      async: true,
      recordBytes: () => a.sessions.map.get(b.address.toString()).length,
      oneWay: async () => {
        const pt = pts.next();
        assertSame(pt, await b.decrypt(a, await a.encrypt(b, pt)), 'libsignal one-way');
      },
      alternating: async () => {
        const pt = pts.next();
        const [from, to] = (flip = !flip) ? [b, a] : [a, b];
        assertSame(pt, await to.decrypt(from, await from.encrypt(to, pt)), 'libsignal alternating');
      },
    };
  },
  async setupFixture() {
    const a = new LibsignalParty('alice', 1111);
    const b = new LibsignalParty('bob', 2222);
    const pts = new Plaintexts();
    return {
      async: true,
      prepare(n) { return Array.from({ length: n }, () => b.publishBundle()); },
      run: async (bundle) => {
        // Each setup starts with no session on either side (a new conversation).
        a.sessions.map.clear();
        b.sessions.map.clear();
        await a.processBundle(b, bundle);
        const pt = pts.next();
        const m = await a.encrypt(b, pt);
        if (m.type !== CiphertextMessageType.PreKey) throw new Error('libsignal setup: not a prekey message');
        assertSame(pt, await b.decrypt(a, m), 'libsignal setup');
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Sigilo side

async function loadSigilo() {
  const protocol = await import('../packages/protocol/dist/index.js');
  const node = await import('../packages/protocol/dist/crypto/node.js');
  return makeSigiloSide(protocol, node);
}

function makeSigiloSide(P, N) {
  const ctx = { crypto: N.nodeCrypto, random: N.systemRandom };
  const now = () => Date.now();

  class SigiloParty {
    constructor(deviceId) {
      this.deviceId = deviceId;
      this.identity = P.generateIdentityKeyPair(ctx);
      // Every store holds encoded records and decodes on lookup, like the libsignal side's stores.
      this.signedPreKey = P.generateSignedPreKey(ctx, this.identity, 1, now());
      this.signedPreKeys = new Map([[this.signedPreKey.id, P.encodeSignedPreKeyRecord(this.signedPreKey)]]);
      this.sessions = new Map(); // peer -> encoded session record
      this.oneTimePreKeys = new Map(); // id -> encoded record
      this.pqPreKeys = new Map(); // id -> encoded record
      this.identities = new Map(); // peer -> identity public key
      this.nextPreKeyId = 1;
    }
    /** One-time EC + one-time PQ prekey, and the encoded public bundle as the directory serves it. Untimed. */
    publishBundle() {
      const id = this.nextPreKeyId++;
      const [oneTime] = P.generateOneTimePreKeys(ctx, id, 1);
      const pq = P.generatePqPreKey(ctx, this.identity, id, false, now());
      this.oneTimePreKeys.set(oneTime.id, P.encodeOneTimePreKeyRecord(oneTime));
      this.pqPreKeys.set(pq.id, P.encodePqPreKeyRecord(pq));
      return P.encodePreKeyBundle(P.makePreKeyBundle(this.identity, this.deviceId, this.signedPreKey, pq, oneTime));
    }
    initiate(peer, bundleBytes) {
      const bundle = P.decodePreKeyBundle(bundleBytes);
      this.trustIdentity(peer, bundle.identityKey);
      const record = P.initiateSession(ctx, this.identity, bundle);
      this.sessions.set(peer, P.encodeSessionRecord(record));
    }
    encrypt(peer, plaintext) {
      const record = P.decodeSessionRecord(this.sessions.get(peer));
      const out = P.encryptMessage(ctx, record, plaintext);
      this.sessions.set(peer, P.encodeSessionRecord(out.record));
      return out.message;
    }
    decrypt(peer, message) {
      const stored = this.sessions.get(peer);
      let out;
      if (P.messageType(message) === 'prekey') {
        const parsed = P.parsePreKeyMessage(message);
        const keys = this.lookupPreKeys(parsed);
        out = P.decryptPreKeyMessage(ctx, stored ? P.decodeSessionRecord(stored) : undefined, this.identity, keys, parsed);
        this.trustIdentity(peer, out.remoteIdentity);
        if (out.consumed) {
          if (out.consumed.oneTimePreKeyId !== undefined) this.oneTimePreKeys.delete(out.consumed.oneTimePreKeyId);
          if (keys.pqPreKey && !keys.pqPreKey.lastResort) this.pqPreKeys.delete(out.consumed.pqPreKeyId);
        }
      } else {
        out = P.decryptMessage(ctx, stored ? P.decodeSessionRecord(stored) : undefined, message);
      }
      this.sessions.set(peer, P.encodeSessionRecord(out.record));
      return out.plaintext;
    }
    /** The prekeys a prekey message names, from this device's prekey store (absent ones left out). */
    lookupPreKeys(msg) {
      const decode = (map, id, fn) => {
        const bytes = id === undefined ? undefined : map.get(id);
        return bytes ? fn(bytes) : undefined;
      };
      return {
        signedPreKey: decode(this.signedPreKeys, msg.signedPreKeyId, P.decodeSignedPreKeyRecord),
        oneTimePreKey: decode(this.oneTimePreKeys, msg.oneTimePreKeyId, P.decodeOneTimePreKeyRecord),
        pqPreKey: decode(this.pqPreKeys, msg.pqPreKeyId, P.decodePqPreKeyRecord),
      };
    }
    /** Trust on first use, as the libsignal side's IdentityKeyStore does. */
    trustIdentity(peer, identityKey) {
      const known = this.identities.get(peer);
      if (known && !bytesEqual(known, identityKey)) throw new Error(`sigilo: identity of ${peer} changed`);
      if (!known) this.identities.set(peer, identityKey.slice());
    }
  }

  return {
    name: 'sigilo',
    async conversation(label) {
      const a = new SigiloParty(1);
      const b = new SigiloParty(1);
      const pts = new Plaintexts();
      a.initiate('bob', b.publishBundle());
      const first = pts.next();
      const m1 = a.encrypt('bob', first);
      if (P.messageType(m1) !== 'prekey') throw new Error('sigilo: first message is not a prekey message');
      assertSame(first, b.decrypt('alice', m1), `sigilo ${label} establish`);
      const reply = pts.next();
      assertSame(reply, a.decrypt('bob', b.encrypt('alice', reply)), `sigilo ${label} establish reply`);
      const m3pt = pts.next();
      const m3 = a.encrypt('bob', m3pt);
      if (P.messageType(m3) !== 'ratchet') throw new Error('sigilo: pending prekey state not cleared after reply');
      assertSame(m3pt, b.decrypt('alice', m3), `sigilo ${label} establish check`);
      let flip = false;
      return {
        async: false,
        recordBytes: () => a.sessions.get('bob').length,
        oneWay: () => {
          const pt = pts.next();
          assertSame(pt, b.decrypt('alice', a.encrypt('bob', pt)), 'sigilo one-way');
        },
        alternating: () => {
          const pt = pts.next();
          if ((flip = !flip)) assertSame(pt, a.decrypt('bob', b.encrypt('alice', pt)), 'sigilo alternating');
          else assertSame(pt, b.decrypt('alice', a.encrypt('bob', pt)), 'sigilo alternating');
        },
      };
    },
    async setupFixture() {
      const a = new SigiloParty(1);
      const b = new SigiloParty(1);
      const pts = new Plaintexts();
      return {
        async: false,
        prepare(n) { return Array.from({ length: n }, () => b.publishBundle()); },
        run: (bundleBytes) => {
          a.sessions.clear();
          b.sessions.clear();
          a.initiate('bob', bundleBytes);
          const pt = pts.next();
          const m = a.encrypt('bob', pt);
          if (P.messageType(m) !== 'prekey') throw new Error('sigilo setup: not a prekey message');
          assertSame(pt, b.decrypt('alice', m), 'sigilo setup');
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// harness

/** Runs op until budgetMs has elapsed; returns { ops, ms }. */
async function runFor(op, isAsync, budgetMs) {
  let ops = 0;
  const start = performance.now();
  const end = start + budgetMs;
  let t = start;
  if (isAsync) {
    do { await op(); ops++; t = performance.now(); } while (t < end);
  } else {
    do { op(); ops++; t = performance.now(); } while (t < end);
  }
  return { ops, ms: t - start };
}

/**
 * Setup runs on fresh one-time prekeys generated (untimed) in batches; the batch size follows the
 * measured rate (about 1/20 of a slice per batch) so a slice does not overshoot its budget much.
 */
async function runSetupFor(fixture, budgetMs) {
  let ops = 0;
  let ms = 0;
  let batch = fixture.batch ?? SETUP_BATCH_MIN;
  while (ms < budgetMs) {
    const remaining = Math.ceil(((budgetMs - ms) * ops) / Math.max(ms, 1e-9));
    const n = ops === 0 ? batch : Math.max(SETUP_BATCH_MIN, Math.min(batch, remaining));
    const bundles = fixture.prepare(n);
    const start = performance.now();
    if (fixture.async) for (const b of bundles) await fixture.run(b);
    else for (const b of bundles) fixture.run(b);
    ms += performance.now() - start;
    ops += bundles.length;
    batch = Math.max(SETUP_BATCH_MIN, Math.min(SETUP_BATCH_MAX, Math.round((ops / ms) * (budgetMs / 20))));
  }
  fixture.batch = batch;
  return { ops, ms };
}

async function makeRunner(side, caseName) {
  if (caseName === 'setup') {
    const fixture = await side.setupFixture();
    return (budgetMs) => runSetupFor(fixture, budgetMs);
  }
  const conv = await side.conversation(caseName);
  const op = caseName === 'one-way' ? conv.oneWay : conv.alternating;
  const run = (budgetMs) => runFor(op, conv.async, budgetMs);
  run.recordBytes = conv.recordBytes;
  return run;
}

async function benchCase(sides, caseName) {
  const runners = [];
  for (const side of sides) runners.push({ side, run: await makeRunner(side, caseName), ops: 0, ms: 0, slices: [] });
  for (const r of runners) await r.run(WARMUP * 1000);
  const sliceMs = (SECONDS * 1000) / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? runners : [...runners].reverse();
    for (const r of order) {
      const { ops, ms } = await r.run(sliceMs);
      r.ops += ops;
      r.ms += ms;
      r.slices.push((ops * 1000) / ms);
    }
  }
  const result = { roundRatios: [] };
  const sig = runners.find((r) => r.side.name === 'sigilo');
  const lib = runners.find((r) => r.side.name === 'libsignal');
  if (sig && lib) result.roundRatios = sig.slices.map((v, i) => v / lib.slices[i]);
  for (const r of runners) {
    const rate = (r.ops * 1000) / r.ms;
    result[r.side.name] = rate;
    const lo = Math.min(...r.slices);
    const hi = Math.max(...r.slices);
    const record = r.run.recordBytes ? `; sender's record ${r.run.recordBytes()} B` : '';
    console.log(`  ${caseName.padEnd(11)} ${r.side.name.padEnd(9)} ${fmt(rate).padStart(9)} ops/s   (${r.ops} ops in ${(r.ms / 1000).toFixed(2)} s; slices ${fmt(lo)}..${fmt(hi)}${record})`);
  }
  return result;
}

function fmt(n) {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(1);
}

async function main() {
  const require = createRequire(import.meta.url);
  const libVersion = require('@signalapp/libsignal-client/package.json').version;
  const sides = [];
  if (SIDES.includes('sigilo')) sides.push(await loadSigilo());
  if (SIDES.includes('libsignal')) sides.push(libsignalSide);
  console.log(`protocol bench: node ${process.version}, @signalapp/libsignal-client ${libVersion}, ` +
    `${SECONDS} s per side per case in ${ROUNDS} interleaved slices, ${MESSAGE_BYTES}-byte messages`);
  const ratios = {};
  for (const caseName of ['one-way', 'alternating', 'setup']) {
    if (!CASES.includes(caseName)) continue;
    const r = await benchCase(sides, caseName);
    if (r.sigilo !== undefined && r.libsignal !== undefined) {
      ratios[caseName] = r.sigilo / r.libsignal;
      const lo = Math.min(...r.roundRatios).toFixed(2);
      const hi = Math.max(...r.roundRatios).toFixed(2);
      console.log(`  ${caseName.padEnd(11)} ratio     ${ratios[caseName].toFixed(2)}x   (per round ${lo}x..${hi}x)`);
    }
  }
  const show = (c) => (ratios[c] === undefined ? 'n/a' : `${ratios[c].toFixed(2)}x`);
  console.log(`protocol vs libsignal: one-way ${show('one-way')} alternating ${show('alternating')} setup ${show('setup')}`);
}

await main();
