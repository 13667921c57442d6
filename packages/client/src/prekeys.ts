/** The prekeys this device publishes and replenishes (client.md §10.5). */
import {
  encodeOneTimePreKeyRecord, encodePqPreKeyRecord, encodeSignedPreKeyRecord, generateOneTimePreKeys, generatePqPreKey, generateSignedPreKey,
  IdentityKeyUnavailableError, type PqPreKeyRecord, type SignedPreKeyRecord,
} from '@sigilo/protocol';
import { Connection } from './connection.js';
import { type Engine, META, readU32, u32 } from './engine.js';

/** One-time prekeys kept on the server; replenished below LOW_WATER (the server also tells us). */
export const PREKEY_BATCH = 100;
export const PQ_PREKEY_BATCH = 20;
const LOW_WATER = 20;

/**
 * Generates and uploads prekeys: one-time EC and PQ keys up to the batch size, and the signed and last-resort keys
 * when `full`. When the identity key is on a token that cannot sign now (trust.md §7.1), a routine top-up (not
 * `full`) postpones the signed keys, emits identity-key-unavailable and still publishes the unsigned one-time keys.
 */
export async function replenishPreKeys(engine: Engine, connection: Connection, full: boolean): Promise<void> {
  const count = await connection.request({ case: 'getPreKeyCount', value: {} });
  const c = count.body.case === 'preKeyCount' ? count.body.value : undefined;
  const needSigned = full || !c?.hasSignedPreKey;
  const needLastResort = full || !c?.hasLastResortPqPreKey;
  const oneTime = Math.max(0, PREKEY_BATCH - (c?.oneTimePreKeys ?? 0));
  const pq = Math.max(0, PQ_PREKEY_BATCH - (c?.pqPreKeys ?? 0));
  if (!needSigned && !needLastResort && oneTime < PREKEY_BATCH - LOW_WATER && pq < PQ_PREKEY_BATCH - LOW_WATER / 4) return;
  const identity = engine.identity;
  const now = engine.now();
  const start = engine.store.getMeta(META.nextPreKeyId);
  let next = start ? readU32(start) : 1;
  const take = () => { const id = next; next = (next + 1) >>> 0 || 1; return id; };
  let signed: SignedPreKeyRecord | undefined, lastResort: PqPreKeyRecord | undefined, pqKeys: PqPreKeyRecord[] = [];
  try {
    signed = needSigned ? generateSignedPreKey(engine.ctx, identity, take(), now) : undefined;
    lastResort = needLastResort ? generatePqPreKey(engine.ctx, identity, take(), true, now) : undefined;
    pqKeys = Array.from({ length: pq }, () => generatePqPreKey(engine.ctx, identity, take(), false, now));
  } catch (e) {
    if (full || !(e instanceof IdentityKeyUnavailableError)) throw e;
    signed = lastResort = undefined;
    pqKeys = [];
    engine.emit({ type: 'identity-key-unavailable', reason: e.reason, message: `${e.message} (signed prekeys postponed until the token is back)` });
  }
  const oneTimeKeys = oneTime > 0 ? generateOneTimePreKeys(engine.ctx, next, oneTime) : [];
  next = (next + oneTime) >>> 0;
  // Private halves are stored before the public halves are published: a bundle handed out is always usable.
  engine.store.transaction(() => {
    if (signed) engine.store.putPreKey('signed', signed.id, encodeSignedPreKeyRecord(signed));
    if (lastResort) engine.store.putPreKey('pq-last-resort', lastResort.id, encodePqPreKeyRecord(lastResort));
    for (const k of oneTimeKeys) engine.store.putPreKey('one-time', k.id, encodeOneTimePreKeyRecord(k));
    for (const k of pqKeys) engine.store.putPreKey('pq', k.id, encodePqPreKeyRecord(k));
    engine.store.setMeta(META.nextPreKeyId, u32(next));
  });
  await engine.durable();
  await connection.request({
    case: 'uploadPreKeys',
    value: {
      signedPreKey: signed ? { id: signed.id, publicKey: signed.keyPair.publicKey, signature: signed.signature } : undefined,
      oneTimePreKeys: oneTimeKeys.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey })),
      pqPreKeys: pqKeys.map((k) => ({ id: k.id, publicKey: k.keyPair.publicKey, signature: k.signature, lastResort: false })),
      lastResortPqPreKey: lastResort ? { id: lastResort.id, publicKey: lastResort.keyPair.publicKey, signature: lastResort.signature, lastResort: true } : undefined,
    },
  });
}
